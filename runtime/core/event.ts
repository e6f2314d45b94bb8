/**
 * The canonical event: its schema, its limits, and validation of untrusted input into it.
 * @module
 */
import { z } from "zod";

/** Event types the runtime knows; other well-formed types are accepted as custom. */
export const KNOWN_TYPES = [
  "page_view",
  "product_view",
  "search",
  "add_to_cart",
  "remove_from_cart",
  "checkout",
  "purchase",
  "login",
  "logout",
  "signup",
  "video_play",
  "video_progress",
  "video_complete",
] as const;

/** The largest event accepted, serialized as JSON. */
export const MAX_EVENT_BYTES = 32 * 1024;

const ISO_WITH_OFFSET =
  /^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)$/;

/** Whether the calendar date of an ISO string exists (V8 rolls 2026-02-30 over to March). */
function isRealDate(iso: string): boolean {
  const day = iso.slice(0, 10);
  const d = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === day;
}

/**
 * The years event times and time parameters may fall in. Postgres and JavaScript write the same ISO-8601 only for
 * the years 1 to 9999, and plugins compute windows around these times (a day later, 30 days earlier), so the
 * accepted range keeps a wide margin inside that.
 */
export const MIN_YEAR = 1000;
export const MAX_YEAR = 8999;

/** Whether the instant (ISO-8601 or ms) falls in the years {@linkcode MIN_YEAR}..{@linkcode MAX_YEAR} UTC. */
export function inYearRange(time: string | number): boolean {
  const year = new Date(time).getUTCFullYear(); // NaN for an invalid time: out of range
  return year >= MIN_YEAR && year <= MAX_YEAR;
}

/** The deepest nesting of arrays and objects accepted in an item. */
export const MAX_DEPTH = 32;

/** Whether `value` nests arrays and objects deeper than `max` (checked without recursion). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth >= max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Messages that tell a missing field from a mistyped one. */
const required = (expected: string) => ({
  error: (issue: { input?: unknown }) => issue.input === undefined ? "is required" : expected,
});

/**
 * Caps on the numbers plugins compute with, so that any sum or product of them they make stays finite (a price of
 * 1e308 times a quantity of 2 is out of range for Postgres' double precision, and Infinity for JavaScript).
 */
export const MAX_MONEY = 1e12;
export const MAX_QUANTITY = 1e6;
export const MAX_SECONDS = 1e9;

const money = z.number({ error: "must be a number" }).finite().min(0, "must be ≥ 0").max(MAX_MONEY, "must be ≤ 1e12");
const quantity = z.number({ error: "must be an integer ≥ 1" }).int("must be an integer ≥ 1").min(1, "must be ≥ 1")
  .max(MAX_QUANTITY, "must be ≤ 1e6");
const seconds = z.number().finite().min(0, "must be ≥ 0").max(MAX_SECONDS, "must be ≤ 1e9");

const Item = z.object({
  product_id: z.string().min(1).max(128).optional(),
  price: money,
  quantity,
}).passthrough();

const Properties = z.object({
  product_id: z.string().min(1).max(128).optional(),
  category: z.string().max(128).optional(),
  price: money.optional(),
  quantity: quantity.optional(),
  amount: money.optional(),
  currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code like 'EUR'").optional(),
  country: z.string().regex(/^[A-Z]{2}$/, "must be an ISO 3166 alpha-2 code like 'DE'").optional(),
  device: z.string().max(64).optional(),
  page: z.string().max(2048).optional(),
  query: z.string().max(1024).optional(),
  video_id: z.string().max(128).optional(),
  position_s: seconds.optional(),
  duration_s: seconds.optional(),
  items: z.array(Item).max(1000).optional(),
  anonymous_id: z.string().min(1).max(128, "must be ≤ 128 chars").optional(),
  previous_id: z.string().min(1).max(128, "must be ≤ 128 chars").optional(),
  original_user_id: z.string().max(128).optional(), // the host's: whatever is sent is replaced (identity.ts)
}, { error: "must be an object" }).passthrough();

/** An event as it arrives on `/v1/events`. */
export const EventSchema = z.strictObject({
  event_id: z.string(required("must be a string")).min(1, "must not be empty").max(128, "must be ≤ 128 chars")
    .refine((id) => !id.startsWith("$"), "must not start with '$' (the host's own entries do)"),
  type: z.string(required("must be a string")).regex(/^[a-z][a-z0-9_.]{0,63}$/, "must match [a-z][a-z0-9_.]{0,63}"),
  user_id: z.string(required("must be a string")).min(1, "must not be empty").max(128, "must be ≤ 128 chars"),
  session_id: z.string({ error: "must be a string" }).min(1).max(128, "must be ≤ 128 chars").optional(),
  timestamp: z.string(required("must be an ISO-8601 string")).regex(
    ISO_WITH_OFFSET,
    "must be ISO-8601 with a UTC offset, like 2026-01-31T12:00:00Z",
  ).refine(isRealDate, "is not a valid date").refine(
    inYearRange,
    `must be within the years ${MIN_YEAR} to ${MAX_YEAR} UTC`,
  ),
  properties: Properties.default({}),
}, {
  error: (issue) => issue.code === "unrecognized_keys" ? "unknown field (custom data goes in properties)" : undefined,
});

/** An item of a purchase or a cart: a product at a price, so many times. */
export interface EventItem {
  /** The product, 1..128 characters. */
  product_id?: string;
  /** The unit price, a number 0..1e12. */
  price: number;
  /** How many, an integer 1..1e6. */
  quantity: number;
  /** Anything else the sender put on the item, kept as sent. */
  [key: string]: unknown;
}

/** Properties of an event: the known ones typed and bounded, any others kept as sent. */
export interface EventProperties {
  /** The product viewed, carted or bought, 1..128 characters. */
  product_id?: string;
  /** The product's category, at most 128 characters. */
  category?: string;
  /** A unit price, a number 0..1e12. */
  price?: number;
  /** How many, an integer 1..1e6. */
  quantity?: number;
  /** A purchase's total, a number 0..1e12. */
  amount?: number;
  /** An ISO 4217 currency code, such as `EUR`. */
  currency?: string;
  /** An ISO 3166 alpha-2 country code, such as `DE`. */
  country?: string;
  /** The device, such as `mobile`, at most 64 characters. */
  device?: string;
  /** The page's path or URL, at most 2048 characters. */
  page?: string;
  /** A search's text, at most 1024 characters. */
  query?: string;
  /** The video played, at most 128 characters. */
  video_id?: string;
  /** How far into the video, in seconds (0..1e9). */
  position_s?: number;
  /** The video's length, in seconds (0..1e9). */
  duration_s?: number;
  /** A purchase's or a cart's items, at most 1000. */
  items?: EventItem[];
  /** The id the user had before they were known (a device's, 1..128 characters): the event links it to `user_id`. */
  anonymous_id?: string;
  /** An `alias` event's earlier id of the user (1..128 characters), linked to `user_id`. */
  previous_id?: string;
  /**
   * The `user_id` the event was sent with, when the host resolved it to another person (an id linked before): set
   * by the host only.
   */
  original_user_id?: string;
  /** Anything else the sender put in `properties`, kept as sent. */
  [key: string]: unknown;
}

// The schema and the interfaces above say the same: each is assignable to the other.
type Parsed = z.infer<typeof Properties>;
const _schemaFitsType = (p: Parsed): EventProperties => p;
const _typeFitsSchema = (p: EventProperties): Parsed => p;

/** A validated, canonical event. `timestamp` is normalized to UTC ISO-8601 with milliseconds. */
export interface Event {
  /** Unique per event, 1..128 characters: a duplicate counts once. */
  event_id: string;
  /** `[a-z][a-z0-9_.]{0,63}`: one of {@linkcode KNOWN_TYPES}, or a custom type. */
  type: string;
  /**
   * The person, 1..128 characters: as sent, or the person the sent id was linked to before (see `identify` and
   * `alias` in the plugin contract), the sent id then kept in `properties.original_user_id`.
   */
  user_id: string;
  /** The session the sender assigned, if any; else sessions are inferred from gaps. */
  session_id?: string;
  /** Event time, UTC ISO-8601 with milliseconds. */
  timestamp: string;
  /** What happened, in detail. */
  properties: EventProperties;
  /**
   * The event's place in the log, set on every event a plugin is handed: it increases with arrival, so events of
   * equal `timestamp` are put in the order they came in by it (a handler that sends several in the same millisecond).
   */
  position?: number;
}

/** The outcome of validating one untrusted item. */
export type Validated = { ok: true; event: Event } | { ok: false; error: string };

/** Validates one untrusted item into a canonical {@linkcode Event}, or says why not. */
export function validateEvent(raw: unknown): Validated {
  if (nestsDeeperThan(raw, MAX_DEPTH)) return { ok: false, error: `event nests deeper than ${MAX_DEPTH} levels` };
  const size = jsonSize(raw);
  if (size > MAX_EVENT_BYTES) {
    return { ok: false, error: `event is ${size} bytes serialized, over the ${MAX_EVENT_BYTES} byte limit` };
  }
  if (!everyString(raw, isStorable)) {
    // U+FEFF is valid Unicode, but embedded PGlite drops it from the start of a text value it reads back, so an
    // event_id starting with one would escape de-duplication there (and keys would not round-trip).
    return storableStrings(raw)
      ? { ok: false, error: "strings must not contain U+FEFF (a byte order mark)" }
      : { ok: false, error: "strings must be well-formed Unicode without NUL characters" };
  }
  const parsed = EventSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, error: zodProblem(parsed.error) };
  const e = parsed.data;
  const properties = { ...e.properties };
  if (e.type === "purchase" && properties.amount === undefined) {
    if (!properties.items || properties.items.length === 0) {
      return { ok: false, error: "properties.amount: a purchase needs an amount (or items with price and quantity)" };
    }
    properties.amount = round2(properties.items.reduce((sum, i) => sum + i.price * i.quantity, 0));
    if (properties.amount > MAX_MONEY) {
      return { ok: false, error: "properties.items: the purchase's amount (Σ price × quantity) must be ≤ 1e12" };
    }
  }
  const event: Event = {
    event_id: e.event_id,
    type: e.type,
    user_id: e.user_id,
    timestamp: new Date(e.timestamp).toISOString(),
    properties,
  };
  if (e.session_id !== undefined) event.session_id = e.session_id;
  // Normalizing can add bytes (milliseconds, a computed amount): the stored form must fit too.
  const stored = jsonSize(event);
  if (stored > MAX_EVENT_BYTES) {
    return { ok: false, error: `event is ${stored} bytes once normalized, over the ${MAX_EVENT_BYTES} byte limit` };
  }
  return { ok: true, event };
}

/** Whether a string can be stored in Postgres text and jsonb, and read back the same on both backends. */
function isStorable(s: string): boolean {
  return s.isWellFormed() && !s.includes("\0") && !s.includes("\ufeff");
}

/** Whether every string (keys too) in `value` passes `ok` (checked without recursion). */
function everyString(value: unknown, ok: (s: string) => boolean): boolean {
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string" && !ok(v)) return false;
    if (v === null || typeof v !== "object") continue;
    for (const [k, x] of Object.entries(v)) {
      if (!ok(k)) return false;
      stack.push(x);
    }
  }
  return true;
}

/** Whether every string (keys too) in a JSON value is well-formed Unicode without NUL: what Postgres can store. */
export function storableStrings(value: unknown): boolean {
  return everyString(value, (s) => s.isWellFormed() && !s.includes("\0"));
}

/**
 * A copy of `value` that Postgres can store: lone surrogates and NUL become U+FFFD; anything nested
 * deeper than {@linkcode MAX_DEPTH} is replaced by a note saying so.
 */
export function toStorable(value: unknown, depth = 0): unknown {
  if (depth >= MAX_DEPTH && value !== null && typeof value === "object") {
    return `[nested deeper than ${MAX_DEPTH} levels]`;
  }
  if (typeof value === "string") return value.toWellFormed().replaceAll("\0", "\uFFFD");
  if (Array.isArray(value)) return value.map((v) => toStorable(v, depth + 1));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [toStorable(k), toStorable(v, depth + 1)]));
  }
  return value;
}

function zodProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue.code === "invalid_type" && issue.path.length === 0) return "event must be a JSON object";
  if (issue.code === "unrecognized_keys") return `${issue.keys.join(", ")}: ${issue.message}`;
  return `${issue.path.join(".")}: ${issue.message}`;
}

/** The UTF-8 size of `raw` as JSON; counted exactly only when it might be over the limit (a char is ≤ 3 bytes). */
function jsonSize(raw: unknown): number {
  const text = JSON.stringify(raw) ?? "";
  return text.length * 3 <= MAX_EVENT_BYTES ? text.length : new TextEncoder().encode(text).length;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
