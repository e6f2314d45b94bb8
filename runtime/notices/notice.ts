/**
 * What a notice is, and what the host takes of one: a plugin calls `env.notify(channel, payload)`; the sandbox checks
 * it for the plugin's sake (a clear error at the call), and the host checks again whatever arrives on the wire,
 * since the sandbox is the plugin's to forge.
 */
import { MAX_DEPTH, nestsDeeperThan, storableStrings } from "../core/event.ts";

/** A notice's channel: a lower-case letter, then up to 31 of a-z, 0-9 and `_`. */
export const NOTICE_CHANNEL = /^[a-z][a-z0-9_]{0,31}$/;

/** The largest payload, as UTF-8 JSON (bytes). */
export const MAX_NOTICE_BYTES = 16 * 1024;

/** The most notices one call (a batch, or one scheduled run) may emit. */
export const MAX_NOTICES_PER_CALL = 1000;

/**
 * The most payload bytes (UTF-8 JSON) a plugin's notices may take in one {@linkcode NOTICE_BUDGET_WINDOW_MS}, counted
 * by the host as it stores them (see `budget.ts`). One call may emit no more, as its notices are stored together.
 */
export const NOTICE_BUDGET_BYTES = 4 * 1024 * 1024;

/** The window of {@linkcode NOTICE_BUDGET_BYTES} (ms). */
export const NOTICE_BUDGET_WINDOW_MS = 60_000;

/** A notice as emitted: the plugin that emitted it is the host's to know, never the notice's to say. */
export interface Notice {
  /** What kind of notice it is, the plugin's to name: {@linkcode NOTICE_CHANNEL}. */
  channel: string;
  /** A JSON object, checked: at most {@linkcode MAX_NOTICE_BYTES} serialized, storable by Postgres. */
  payload: Record<string, unknown>;
}

/** A notice as committed to `host.notices`, and as `/api/stream` sends it. */
export interface StoredNotice extends Notice {
  id: number;
  plugin: string;
  /** When its batch's transaction started (UTC ISO-8601). */
  created_at: string;
}

/** Why `channel` and `payload` (a parsed JSON value) are not a notice, or null when they are. */
export function noticeProblem(channel: unknown, payload: unknown): string | null {
  const checked = checkNotice(channel, payload);
  return typeof checked === "string" ? checked : null;
}

/**
 * The payload's size (bytes of UTF-8 JSON) when `channel` and `payload` (a parsed JSON value) are a notice, else why
 * they are not.
 */
export function checkNotice(channel: unknown, payload: unknown): number | string {
  if (typeof channel !== "string" || !NOTICE_CHANNEL.test(channel)) {
    return `notify: the channel must match ${NOTICE_CHANNEL.source}, got ${shown(channel)}`;
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    return `notify: the payload must be a JSON object, got ${Array.isArray(payload) ? "an array" : shown(payload)}`;
  }
  if (nestsDeeperThan(payload, MAX_DEPTH)) return `notify: the payload nests deeper than ${MAX_DEPTH} levels`;
  const bytes = new TextEncoder().encode(JSON.stringify(payload)).length;
  if (bytes > MAX_NOTICE_BYTES) {
    return `notify: the payload is ${bytes} bytes serialized, over the ${MAX_NOTICE_BYTES} byte limit`;
  }
  if (!storableStrings(payload)) {
    return "notify: the payload's strings must be well-formed Unicode without NUL characters";
  }
  return bytes;
}

/** Why one call may not emit `count` notices of `bytes` in all (those emitted so far and the next), or null. */
export function callProblem(count: number, bytes: number): string | null {
  if (count > MAX_NOTICES_PER_CALL) return `notify: over ${MAX_NOTICES_PER_CALL} notices in one call`;
  if (bytes > NOTICE_BUDGET_BYTES) {
    return `notify: over ${NOTICE_BUDGET_BYTES} bytes of notices in one call, the plugin's notice budget per minute`;
  }
  return null;
}

/**
 * The notices of one call, as the host takes them from the wire: each checked, at most
 * {@linkcode MAX_NOTICES_PER_CALL} and {@linkcode NOTICE_BUDGET_BYTES} in all. The first problem is kept in `error`
 * and fails the call; nothing after it is kept (or even read: a flood costs the host no more than the budget's worth).
 */
export class NoticeBatch {
  /** The notices taken, in the order emitted. */
  readonly notices: Notice[] = [];
  /** Their payloads' bytes in all. */
  bytes = 0;
  /** The first problem, which fails the call. */
  error: string | null = null;

  /** Takes one `notice` message of the sandbox's (untrusted); answers the notice when taken. */
  add(message: unknown): Notice | null {
    if (this.error !== null) return null;
    const { channel, payload } = (message ?? {}) as Record<string, unknown>;
    const bytes = checkNotice(channel, payload);
    const problem = typeof bytes === "string" ? bytes : callProblem(this.notices.length + 1, this.bytes + bytes);
    if (problem !== null) {
      this.error = problem;
      return null;
    }
    this.bytes += bytes as number;
    const notice = { channel: channel as string, payload: payload as Record<string, unknown> };
    this.notices.push(notice);
    return notice;
  }
}

/** A value as an error message shows it: a string quoted and cut short, a number as it is, anything else by kind. */
function shown(value: unknown): string {
  if (typeof value === "string") return `'${value.length > 80 ? `${value.slice(0, 77)}...` : value}'`;
  if (value === null || value === undefined || typeof value === "number" || typeof value === "boolean") {
    return String(value);
  }
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
