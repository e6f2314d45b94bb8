/**
 * The plugin SDK: what a plugin's `mod.ts` imports. A plugin is a plain value made by
 * {@linkcode definePlugin}: a name, a version, the event types it subscribes to, a `queue` handler for
 * batches of events, a `fetch` handler for its HTTP routes, and optional dashboard panels.
 *
 * ```ts
 * import { definePlugin } from "@runtime/sdk";
 * export default definePlugin({ name: "hello", version: "1.0.0", subscribes: ["page_view"],
 *   async queue(batch, env) { await env.db.sql`insert into views select count(*) from unnest(${batch.map((e) => e.event_id)}::text[])`; } });
 * ```
 * @module
 */
import type { ZodType } from "zod";
import type { Event } from "../core/event.ts";
import type { Logger } from "../observability/logger.ts";
import type { Row } from "../store/store.ts";
import type { RoutedApp } from "../http/openapi.ts";
import { pluginNameProblem } from "../plugin/names.ts";

export type { Event, EventItem, EventProperties } from "../core/event.ts";
export { answerHttpError, HttpError } from "../http/errors.ts";
export { parseBody } from "../http/body.ts";
export { intParam, timeParam } from "../http/query.ts";
export { type Interval, mergeSessions, type MovedSession, movedSessions, SESSION_GAP_MS } from "./sessions.ts";
export { atMs, fold, key } from "./fold.ts";
export { decimalSum } from "./decimal.ts";
export {
  BreakdownFields,
  compareValues,
  type Condition,
  conditionsSql,
  MAX_CONDITIONS,
  MAX_VALUE_LENGTH,
  type Operator,
  OPERATORS,
  parseCondition,
  parseProperty,
  PROPERTY,
  type Property,
  propertyText,
  valueText,
} from "./conditions.ts";
export { LOG_PARTITIONS, partitionOf } from "../core/partitions.ts";
export { describeRoute, queryTime, type RouteSpec } from "../http/openapi.ts";
export type { Level, Logger } from "../observability/logger.ts";
export type { Row } from "../store/store.ts";
export type { RoutedApp, ValidQuery } from "../http/openapi.ts";

/** SQL on the plugin's own schema, as the plugin's own role. In `queue`, inside the batch's transaction. */
export interface Db {
  /** Tagged template: interpolated values become parameters (`$1..$n`), never SQL text. */
  sql<T extends Row = Row>(strings: TemplateStringsArray, ...values: unknown[]): Promise<T[]>;
  /** One statement with `$1..$n` parameters. */
  query<T extends Row = Row>(text: string, params?: unknown[]): Promise<T[]>;
}

/** Plugin metrics, exported by the host on `/metrics` labelled with the plugin's name. */
export interface Metrics {
  /** Adds `by` (default 1) to the counter `name`. */
  increment(name: string, by?: number): void;
}

/** What a handler is given. `watermark` is "now" in event time: the latest event time committed. */
export interface Env<C = unknown> {
  /** SQL on the plugin's own schema, as its own role. */
  db: Db;
  /** The plugin's logger: its lines reach the host's log, named after the plugin. */
  log: Logger;
  /** The plugin's settings, as its `config` schema parsed them (`PLUGIN_<NAME>` in the host's environment). */
  config: C;
  /** The plugin's counters on `/metrics`. */
  metrics: Metrics;
  /**
   * Emits a notice on `channel` (`[a-z][a-z0-9_]{0,31}`) with `payload`, a JSON object of at most 16 KiB serialized;
   * at most 1,000 and 4 MiB per call. The host stores a call's notices together under the plugin's name: in `queue`
   * and `merge`, in the batch's transaction, so they exist exactly when the batch committed (a batch that fails and is
   * retried notifies once); in `scheduled`, when the run succeeds, in one transaction. Stored notices count against
   * the plugin's storage quota, and at most 4 MiB of them per minute: past either, the host refuses them (a batch
   * waits, a scheduled run fails). Committed notices go to `/api/stream` (event `notice`) and to the webhooks operators
   * subscribed to the plugin's channel; the plugin has no say in where. A bad notice throws here, and fails the call
   * even if caught. In `fetch` it throws: a request notifies nothing.
   */
  notify(channel: string, payload: Record<string, unknown>): void;
  /** The latest event time committed (UTC ISO-8601), null before any event. */
  watermark: string | null;
}

/**
 * Two ids became one person (an `identify` or `alias` linked them): whatever the plugin keeps under `from`, the
 * history before the link, now belongs to `into`. Events of `from` logged after the link already carry `into` as
 * their `user_id`. A batch's merges come to `merge` before its events go to `queue`, in the same transaction as them and
 * the checkpoint; the batch's events of a `from` come to `queue` under `into` already. `from` never comes back as a user,
 * and `into` is never merged away itself: only anonymous ids are, into a known user.
 */
export interface Merge {
  /** The id merged away. */
  from: string;
  /** The person it now is. */
  into: string;
  /** When the link was made (the linking event's time). */
  timestamp: string;
  /** The merge's place in the log. */
  position: number;
}

/**
 * What a transform is given: an {@linkcode Env} without `db`, `notify` or `watermark`. A transform maps what it is
 * given and nothing more, so the same item always makes the same events (a redelivered message, a replayed dead
 * letter).
 */
export type TransformEnv<C = unknown> = Omit<Env<C>, "db" | "notify" | "watermark">;

/** A dashboard panel: the dashboard reads `route` (under `/api/<plugin>`) and renders it as `kind`. */
export interface Panel {
  /** The panel's heading. */
  title: string;
  /** The route it reads, under `/api/<plugin>` (`/top`). */
  route: string;
  /** How it is drawn: tiles of numbers, a line over time, bars, or a table. */
  kind: "tiles" | "timeseries" | "bar" | "table";
}

/** Resource limits of a plugin's sandbox. */
export interface Limits {
  /** Longest a batch or a request may take before the sandbox is stopped (ms). */
  timeoutMs: number;
  /** Heap cap of the sandbox (MiB). */
  memoryMb: number;
  /** Most events handed to one `queue` call. */
  batchSize: number;
  /** Storage quota of the plugin's schema and its stored notices (MiB): past it, its writes and notices are refused. */
  storageMb: number;
}

/** The defaults for {@linkcode Limits}. */
export const DEFAULT_LIMITS: Limits = { timeoutMs: 10_000, memoryMb: 256, batchSize: 5000, storageMb: 1024 };

/** The range a plugin may choose its {@linkcode Limits} in; the host clamps to it. */
export const LIMIT_RANGE: Record<keyof Limits, [number, number]> = {
  timeoutMs: [100, 60_000],
  memoryMb: [32, 2048],
  batchSize: [1, 10_000],
  storageMb: [1, 65_536],
};

/** A plugin's limits: its own where given and sensible, clamped to {@linkcode LIMIT_RANGE}, else the defaults. */
export function clampLimits(requested: Partial<Limits>): Limits {
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(LIMIT_RANGE) as (keyof Limits)[]) {
    const v = requested[key];
    const [lo, hi] = LIMIT_RANGE[key];
    if (typeof v === "number" && Number.isFinite(v)) out[key] = Math.min(hi, Math.max(lo, Math.round(v)));
  }
  return out;
}

/** Work a plugin runs on a timer, such as retraining a model. */
export interface Scheduled<C = unknown> {
  /** How often (ms, 1000..2^31 − 1) the host runs it; the first run comes one period after the plugin loads. */
  everyMs: number;
  /** Runs outside any batch: each statement commits on its own, as in `fetch`; its notices together, if it succeeds. */
  run: (env: Env<C>) => Promise<void>;
}

/** Answers a request to one of a plugin's routes. */
/** A bare fetch function: a request (its path relative to `/api/<name>`) in, a response out. */
export type FetchHandler<C = unknown> = (request: Request, env: Env<C>) => Response | Promise<Response>;

/** A plugin, as its `mod.ts` default-exports it. */
export interface PluginDefinition<C = unknown> {
  /** Lower-case identifier; also its schema, its route prefix `/api/<name>` and its folder name. */
  name: string;
  /** The plugin's version, shown in `/api/plugins` and the OpenAPI document. */
  version: string;
  /** Event types handed to `queue`, or "*" for all. */
  subscribes: readonly string[] | "*";
  /** Validates the plugin's settings (`PLUGIN_<NAME>` JSON in the host's environment). */
  config?: ZodType<C>;
  /** Handles a batch of events; its SQL commits in one transaction with the plugin's checkpoint. */
  queue?: (batch: Event[], env: Env<C>) => Promise<void>;
  /**
   * Moves what the plugin keeps of each {@linkcode Merge}'s `from` to its `into`, so that its answers for a person
   * include the history from before they were known. In the transaction of the batch it comes in. A plugin that
   * keeps nothing per user needs none.
   */
  merge?: (merges: Merge[], env: Env<C>) => Promise<void>;
  /**
   * Maps one item of a shape the runtime does not know to events: for `POST /v1/sources/<name>` and the Kafka topics
   * `KAFKA_TRANSFORMS` assigns to the plugin. Answers an event, several (at most 100), or none (null or `[]`: the item
   * is dropped); what it answers is then validated like any event. Throwing refuses the item: it is dead-lettered
   * (stage `transform:<name>`) with the error's message, and the other items go on.
   */
  transform?: (item: unknown, env: TransformEnv<C>) => unknown | Promise<unknown>;
  /**
   * Handles a request to `/api/<name>/*`, with the path relative to that prefix: a Hono app, whose routes (and
   * their {@linkcode describeRoute}d schemas) also make the plugin's part of `/api/openapi.json`, or a bare fetch
   * function, listed there as one undescribed catch-all route.
   */
  fetch?: FetchHandler<C> | { fetch: FetchHandler<C>; routes: RoutedApp["routes"] };
  /** Work run on a timer while the plugin is loaded. */
  scheduled?: Scheduled<C>;
  /** What the dashboard shows of the plugin. */
  panels?: readonly Panel[];
  /** The limits the plugin asks for; the host clamps each to {@linkcode LIMIT_RANGE}. */
  limits?: Partial<Limits>;
  /**
   * Whether its batches may run on several runners at once (default true). The log is split by user into partitions
   * (`LOG_PARTITIONS`), which the runtime processes on one database share: each of the plugin's batches holds events
   * of some partitions only, but every event of a user, in log order, and a merge only after every event of its
   * `from`. So state kept per user is exact as it is; state shared between users stays exact when it is written by
   * commutative upserts (`on conflict … set n = n + excluded.n`), best sorted by key, since another runner may update
   * the same rows at the same time. Set it to false when `queue` decides from state across users that other runners
   * are writing (fraud judges a purchase against the store's percentiles): one runner then takes the whole log.
   */
  partitioned?: boolean;
}

export { PLUGIN_NAME, pluginNameProblem } from "../plugin/names.ts";

/** Makes a plugin. Checks its shape so mistakes surface at load time, naming the plugin. */
export function definePlugin<C = unknown>(definition: PluginDefinition<C>): PluginDefinition<C> {
  const { name, version, subscribes } = definition;
  const problem = pluginNameProblem(name);
  if (problem) throw new TypeError(problem);
  if (typeof version !== "string" || version === "") {
    throw new TypeError(`plugin ${name}: version must be a non-empty string`);
  }
  if (subscribes !== "*" && !Array.isArray(subscribes)) {
    throw new TypeError(`plugin ${name}: subscribes must be an array of event types or "*"`);
  }
  if (definition.partitioned !== undefined && typeof definition.partitioned !== "boolean") {
    throw new TypeError(`plugin ${name}: partitioned must be true or false`);
  }
  const { scheduled } = definition;
  // Timers longer than 2^31 − 1 ms fire at once, so the period is bounded (about 24 days).
  if (
    scheduled && !(Number.isInteger(scheduled.everyMs) && scheduled.everyMs >= 1000 && scheduled.everyMs <= 2 ** 31 - 1)
  ) {
    throw new TypeError(`plugin ${name}: scheduled.everyMs must be 1000..${2 ** 31 - 1}, got ${scheduled.everyMs}`);
  }
  return Object.freeze({ ...definition });
}
