import { type EventLog, later, type LoggedEvent } from "../core/event_log.ts";
import { insertDeadLetters } from "../core/event_log.ts";
import { MERGE_TYPE } from "../core/identity.ts";
import { parseResults, type TransformResult } from "../core/transform.ts";
import { HttpError } from "../http/errors.ts";
import { readTextBody } from "../http/body.ts";
import type { Logger } from "../observability/logger.ts";
import type { MetricsRegistry } from "../observability/metrics.ts";
import { NoticeBatch, type NoticeQuota, NoticesRefused, storeNotices } from "../notices/mod.ts";
import { isConnectionLost, type Sql, type Store } from "../store/mod.ts";
import type { PluginSource } from "./discover.ts";
import type { Manifest, WireResponse } from "./protocol.ts";
import { type Placement, provision } from "./provision.ts";
import { PluginError, type Sandbox, type SqlHandler } from "./sandbox.ts";
import { PluginScope, runAlone, ScopeStates } from "./scope.ts";
import { Supervisor } from "./supervisor.ts";
import { sleep } from "../core/nap.ts";
import { LOG_PARTITIONS, partitionOf } from "../core/partitions.ts";
import { ALONE, type Ownership } from "./members.ts";

/** The largest request body passed to a plugin's routes. */
const MAX_REQUEST_BYTES = 1024 * 1024;

/** The most event JSON sent to a plugin in one batch (characters): well under the wire's message limit. */
const MAX_BATCH_CHARS = 4 * 1024 * 1024;

/** Request headers never passed to a plugin: they carry the caller's credentials. */
const PRIVATE_HEADERS = new Set(["authorization", "cookie", "proxy-authorization"]);

const MIB = 1024 * 1024;

/** How often a plugin's storage is measured after its batches, at least (ms). */
const STORAGE_EVERY_MS = 5000;

/** The share of its quota past which a plugin's storage is measured after every batch. */
const STORAGE_CLOSE = 0.8;

/**
 * A plugin's storage: its schema (tables and materialized views with their indexes and TOAST, and its sequences), and
 * its stored notices (their total, kept in `host.notice_usage`: one row, however many notices).
 */
const STORAGE = `select coalesce(sum(pg_catalog.pg_total_relation_size(c.oid)), 0)::int8 as schema,
    coalesce((select u.bytes from host.notice_usage u where u.plugin = $2), 0)::int8 as notices
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where n.nspname = $1 and c.relkind in ('r', 'm', 'S')`;

/** How long a batch waits for another runner to pass the events a merge must come after (ms). */
const MERGE_WAIT_MS = 50;

/** SQLSTATEs of a statement that lost to a concurrent transaction: deadlock detected, serialization failure. */
const CONFLICTS = new Set(["40P01", "40001"]);

/** Conflicts in a row after which a batch counts as failing, not as unlucky. */
const MAX_CONFLICTS = 10;

/**
 * How long a runner gathers events for its next batch after it took one (ms), unless a full batch is there: under a
 * steady stream, each batch's fixed costs are shared by more events (`docs/performance.md`, "Gathering batches").
 */
export const DEFAULT_BATCH_WAIT_MS = 250;

/** A plugin's state, as `/api/plugins` shows it. */
export type Status = "starting" | "running" | "degraded" | "disabled" | "failed";

/** How failures are retried. */
export interface RetryPolicy {
  /** Tries of one batch before its events are tried one by one; of one event before it is dead-lettered. */
  attempts: number;
  /** First backoff (ms); doubles per consecutive failure up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Events dead-lettered in a row (no success between) after which the plugin is disabled. */
  disableAfter: number;
  /** How often an idle runner looks at the log without being woken (ms). */
  pollMs: number;
}

/** The default {@linkcode RetryPolicy}. */
export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 3,
  backoffMs: 200,
  maxBackoffMs: 10_000,
  disableAfter: 3,
  pollMs: 1000,
};

/** What the host gives a runner. */
export interface RunnerContext {
  store: Store;
  eventLog: EventLog;
  logger: Logger;
  metrics: MetricsRegistry;
  retry: RetryPolicy;
  settings: unknown;
  /** Check plugin SQL with the text guard before the database sees it (default true); see `scope.ts`. */
  sqlTripwire?: boolean;
  /** Called after notices of the plugin's were committed in this process (their readers look at once). */
  notified?: () => void;
  /** Which log partitions this process runs (default: all of them, alone on its database). */
  ownership?: Ownership;
  /**
   * How long a runner gathers events for its next batch after it took one (ms; default
   * {@linkcode DEFAULT_BATCH_WAIT_MS}; 0 takes what is there at once).
   */
  batchWaitMs?: number;
}

/**
 * Runs one plugin: its sandbox, its place in the database, and the loop that feeds it the log.
 * Each batch is one transaction holding the plugin's writes and its checkpoint, so a crash at any
 * instant replays exactly what was not committed.
 */
export class PluginRunner {
  readonly name: string;
  status: Status = "starting";
  processed = 0;
  failed = 0;
  lastError: string | null = null;
  /**
   * The size of the plugin's schema and its stored notices, last measured (after each batch, and each call that ran
   * SQL or notified).
   */
  storageBytes = 0;
  readonly #source: PluginSource;
  readonly #ctx: RunnerContext;
  readonly #logger: Logger;
  readonly #supervisor: Supervisor;
  #placement: Placement | null = null;
  /** The size of the plugin's schema alone, last measured. */
  #schemaBytes = 0;
  /** When its storage was last measured (`performance.now()`). */
  #measuredAt = -Infinity;
  #overQuota = false;
  #consecutiveFailures = 0;
  #deadLettersInRow = 0;
  #watermark: string | null = null;
  readonly #stopping = new AbortController();
  #wake: (() => void) | null = null;
  /** When the last batch was taken (`performance.now()`). */
  #takenAt = -Infinity;
  #loop: Promise<void> | null = null;
  #unsubscribe: (() => void) | null = null;
  readonly #replays: Replay[] = [];
  /** Per log partition, the last position whose events the plugin committed (owned ones exact, others as last read). */
  readonly #checkpoints = new Map<number, number>();
  /** The partitions this process runs, as of membership `#generation`. */
  #owned: readonly number[] = [];
  #generation = -1;
  /** When the checkpoints of the partitions other processes run were last read (`performance.now()`). */
  #othersReadAt = -Infinity;
  readonly #ownership: Ownership;
  /** The session's state in the plugin's scope, learned on the first entry (see `scope.ts`). */
  readonly #states = new ScopeStates();

  constructor(source: PluginSource, ctx: RunnerContext) {
    this.name = source.name;
    this.#source = source;
    this.#ctx = ctx;
    this.#logger = ctx.logger.with({ plugin: source.name });
    this.#ownership = ctx.ownership ?? ALONE;
    this.#supervisor = new Supervisor({
      name: source.name,
      modPath: source.modPath,
      settings: ctx.settings,
      logger: this.#logger,
      metrics: ctx.metrics,
      backoff: (n) => this.#backoff(n),
    });
  }

  /** The plugin's manifest, once its sandbox answered `init`. */
  get manifest(): Manifest | null {
    return this.#supervisor.manifest;
  }

  /** The plugin's storage quota (bytes), for its schema and its stored notices: past it, its writes are refused. */
  get storageLimitBytes(): number {
    return this.#supervisor.limits.storageMb * MIB;
  }

  /**
   * The last log position up to which the plugin committed every partition: the lowest partition checkpoint (those
   * other processes run, as this one last read them).
   */
  get checkpoint(): number {
    return this.#checkpoints.size === 0 ? 0 : Math.min(...this.#checkpoints.values());
  }

  /** The log partitions this process runs of the plugin. */
  get partitions(): readonly number[] {
    return this.#owned;
  }

  /** Events in the log past {@linkcode checkpoint}: not yet committed by the plugin, at most. */
  get lag(): number {
    return Math.max(0, this.#ctx.eventLog.head - this.checkpoint);
  }

  /** Loads the plugin (sandbox, schema, role, migrations, checkpoint) and starts feeding it. */
  async start(): Promise<void> {
    try {
      await this.#supervisor.sandbox();
      this.#placement = await provision(this.#ctx.store, this.#source, this.manifest!.version, {
        timeoutMs: this.#supervisor.limits.timeoutMs,
        tripwire: this.#ctx.sqlTripwire,
      });
      await this.#loadCheckpoints();
      await this.#measureStorage();
    } catch (e) {
      this.status = "failed";
      this.lastError = (e as Error).message;
      this.#logger.error("plugin failed to load", { error: this.lastError });
      await this.#supervisor.kill("load failed");
      return;
    }
    if (!this.#overQuota) this.status = "running";
    const appended = this.#ctx.eventLog.onAppend(() => this.#wake?.());
    const rebalanced = this.#ownership.onChange(() => this.#wake?.());
    this.#unsubscribe = () => {
      appended();
      rebalanced();
    };
    const everyMs = this.manifest!.scheduleMs;
    const schedule = everyMs ? this.#schedule(everyMs) : Promise.resolve();
    this.#loop = Promise.all([this.#run(), schedule]).then(() => {});
  }

  /** Stops feeding the plugin and stops its sandbox. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#unsubscribe?.();
    this.#wake?.();
    await this.#loop;
    this.#dropReplays();
    await this.#supervisor.kill("host stopping");
  }

  /**
   * Runs a logged event (one dead-lettered earlier) through the plugin again, between its batches: `claim` first,
   * then the plugin's `queue` if `claim` answers true and the plugin subscribes to the event's type, all in one
   * transaction, so that the plugin's writes and what `claim` records commit together or not at all.
   */
  replay(row: LoggedEvent, claim: (tx: Sql) => Promise<boolean>): Promise<void> {
    if (this.status !== "running" && this.status !== "degraded") {
      return Promise.reject(new Error(`plugin ${this.name} is ${this.status}`));
    }
    if (this.#overQuota) return Promise.reject(new Error(this.lastError!));
    return new Promise((resolve, reject) => {
      this.#replays.push({ row, claim, resolve, reject });
      this.#wake?.();
    });
  }

  async #replayNext(): Promise<void> {
    const { row, claim, resolve, reject } = this.#replays.shift()!;
    try {
      const m = this.manifest!;
      const sandbox = (m.hasQueue || m.hasMerge) && this.#takes(row.type) ? await this.#supervisor.sandbox() : null;
      let ran = false;
      let notices = 0;
      await this.#ctx.store.transaction(async (tx) => {
        if (!await claim(tx) || !sandbox) return;
        notices = await this.#queueIn(tx, sandbox, [positioned(row)], this.#watermark);
        ran = true;
      });
      this.#noticed(notices);
      if (ran && row.type !== MERGE_TYPE) this.#counted(1);
      resolve();
    } catch (e) {
      reject(e as Error);
    }
  }

  #dropReplays(): void {
    for (const r of this.#replays.splice(0)) {
      r.reject(new Error(`plugin ${this.name} is ${this.status}, not replaying`));
    }
  }

  /**
   * Runs `items` through the plugin's `transform`, one result per item. A call the sandbox does not survive (a time
   * limit, a memory bomb, a crash) or answers with nonsense is split in halves and tried again, down to single items,
   * so only the items that cause it are refused. Throws an `HttpError` 503 while the plugin cannot serve.
   */
  async transform(items: unknown[]): Promise<TransformResult[]> {
    if (this.status !== "running" && this.status !== "degraded") {
      throw new HttpError(503, `plugin ${this.name} is ${this.status}${this.lastError ? `: ${this.lastError}` : ""}`);
    }
    if (!this.manifest?.hasTransform) throw new HttpError(404, `plugin ${this.name} has no transform`);
    const answer = await this.#transformOnce(items);
    if (typeof answer !== "string") return answer;
    this.#logger.warn("transform failed; trying its items in halves", { error: answer, items: items.length });
    return await this.#transformSplit(items, answer);
  }

  /** `items` failed with `error`: each half tried again, down to single items, refused alone. */
  async #transformSplit(items: unknown[], error: string): Promise<TransformResult[]> {
    if (items.length === 1) return [{ ok: false, error }];
    const halves = [items.slice(0, items.length >> 1), items.slice(items.length >> 1)];
    const results: TransformResult[] = [];
    for (const half of halves) {
      const answer = await this.#transformOnce(half);
      results.push(...(typeof answer === "string" ? await this.#transformSplit(half, answer) : answer));
    }
    return results;
  }

  /** One transform call: its checked results, or why it failed (a sandbox stopped for another call is tried again). */
  async #transformOnce(items: unknown[]): Promise<TransformResult[] | string> {
    for (let attempt = 1;; attempt++) {
      try {
        const sandbox = await this.#supervisor.sandbox();
        const { timeoutMs } = this.#supervisor.limits;
        const answer = await sandbox.call({ op: "transform", items }, { timeoutMs });
        const results = parseResults(answer, items.length);
        if (results) this.#supervisor.succeeded();
        return results ?? "it answered something that is not one result per item";
      } catch (e) {
        if (!(e instanceof PluginError)) throw e;
        if (e.collateral && attempt < 3) continue; // another call's fault, not these items'
        return e.message.replace(`plugin ${this.name}: `, ""); // the answer names the transform already
      }
    }
  }

  /** Serves a request to the plugin's routes; `path` is relative to `/api/<name>`. */
  async fetch(request: Request, path: string): Promise<Response> {
    if (this.status === "failed" || this.status === "disabled" || this.status === "starting") {
      return json(503, {
        error: `plugin ${this.name} is ${this.status}${this.lastError ? `: ${this.lastError}` : ""}`,
      });
    }
    if (!this.manifest?.hasFetch) return json(404, { error: `plugin ${this.name} has no routes` });
    const url = new URL(request.url);
    const body = request.method === "GET" || request.method === "HEAD"
      ? null
      : await readTextBody(request, MAX_REQUEST_BYTES);
    try {
      const sandbox = await this.#supervisor.sandbox();
      const { timeoutMs } = this.#supervisor.limits;
      const { onSql, wrote } = this.#sqlOnItsOwn(timeoutMs);
      const res = await sandbox.call({
        op: "fetch",
        request: {
          method: request.method,
          url: `http://${this.name}${path}${url.search}`,
          headers: [...request.headers].filter(([name]) => !PRIVATE_HEADERS.has(name)),
          body,
        },
        watermark: this.#ctx.eventLog.watermark,
      }, { timeoutMs, onSql }) as WireResponse;
      if (wrote()) await this.#measureStorage().catch(() => {});
      return toResponse(this.name, res);
    } catch (e) {
      if (!(e instanceof PluginError)) throw e;
      this.#logger.warn("plugin request failed", { error: e.message });
      return json(502, { error: e.message });
    }
  }

  /**
   * SQL outside a batch (requests, scheduled work): each statement in its own transaction, as the plugin, read-only
   * while it is over its storage quota; `wrote` tells whether any statement wrote, or failed (rows it wrote before
   * failing are rolled back, but their space stays taken until a vacuum).
   */
  #sqlOnItsOwn(timeoutMs: number): { onSql: SqlHandler; wrote: () => boolean } {
    const opts = { timeoutMs, readOnly: this.#overQuota, tripwire: this.#ctx.sqlTripwire, states: this.#states };
    let wrote = false;
    return {
      onSql: async (text, params) => {
        try {
          const result = await runAlone(this.#ctx.store, this.#placement!, opts, text, params);
          wrote ||= result.wrote;
          return result.rows;
        } catch (e) {
          wrote = true;
          throw e;
        }
      },
      wrote: () => wrote,
    };
  }

  /**
   * Measures the plugin's schema and stored notices against its quota. Past it, the plugin is degraded: its batches
   * wait, its own statements run read-only and its notices are refused, until it is back under (its tables were
   * trimmed, its old notices deleted, or its quota raised and it reloaded).
   */
  async #measureStorage(): Promise<void> {
    const [{ schema, notices }] = await this.#ctx.store.query<{ schema: number; notices: number }>(STORAGE, [
      this.#placement!.schema,
      this.name,
    ]);
    const bytes = schema + notices;
    this.#measuredAt = performance.now();
    this.#schemaBytes = schema;
    this.storageBytes = bytes;
    const over = bytes > this.storageLimitBytes;
    if (over) {
      const mib = (n: number) => (n / MIB).toFixed(1);
      this.lastError = `storage quota exceeded: ${mib(bytes)} MiB used of ${mib(this.storageLimitBytes)} MiB, ` +
        `${mib(notices)} MiB of it notices; its writes and notices are refused until it is under`;
      this.status = "degraded";
      if (!this.#overQuota) {
        this.#logger.error("plugin over its storage quota: writes and notices refused", { bytes, notices });
      }
    } else if (this.#overQuota) {
      this.status = "running";
      this.lastError = null;
      this.#logger.info("plugin back under its storage quota", { bytes });
    }
    this.#overQuota = over;
  }

  /**
   * Runs the plugin's scheduled work every period while it is loaded, on one process of those sharing the database; a
   * failed run is logged, not fatal. Its statements commit on their own; its notices are stored together when it
   * succeeds, in one transaction.
   */
  async #schedule(everyMs: number): Promise<void> {
    while (!this.#stopping.signal.aborted) {
      await sleep(everyMs, this.#stopping.signal);
      if (this.#stopping.signal.aborted || (this.status !== "running" && this.status !== "degraded")) continue;
      // With several processes on one database, one runs it: the one that runs the plugin's partition 0.
      if (!this.#ownership.owned(this.name, this.manifest!.partitioned).includes(0)) continue;
      const started = performance.now();
      try {
        const sandbox = await this.#supervisor.sandbox();
        const { timeoutMs } = this.#supervisor.limits;
        const { onSql, wrote } = this.#sqlOnItsOwn(timeoutMs);
        const notices = new NoticeBatch();
        const call = { op: "scheduled", watermark: this.#ctx.eventLog.watermark } as const;
        try {
          await sandbox.call(call, { timeoutMs, onSql, onNotice: (message) => notices.add(message) });
          if (notices.error !== null) throw new PluginError(this.name, notices.error);
          this.#noticed(
            await this.#ctx.store.transaction((tx) => storeNotices(tx, this.name, notices.notices, this.#quota())),
          );
        } finally {
          if (wrote() || notices.notices.length > 0) await this.#measureStorage().catch(() => {});
        }
        this.#ctx.metrics.observe(
          "plugin_scheduled_seconds",
          "Duration of plugins' scheduled work",
          { plugin: this.name },
          (performance.now() - started) / 1000,
        );
      } catch (e) {
        this.#ctx.metrics.inc("plugin_scheduled_failures_total", "Failed scheduled runs", { plugin: this.name });
        this.#logger.warn("scheduled work failed", { error: (e as Error).message });
      }
    }
  }

  async #run(): Promise<void> {
    const state: RetryState = { attempts: 0, isolateUntil: 0, failedAt: -1, conflicts: 0 };
    while (!this.#stopping.signal.aborted && this.status !== "disabled") {
      try {
        await this.#step(state);
      } catch (e) {
        if (this.#stopping.signal.aborted) return;
        if (e instanceof CheckpointMoved) {
          // Another runtime on the same database committed this range: take its checkpoints and go on.
          await this.#loadCheckpoints().catch((e) =>
            this.#logger.error("cannot reload checkpoint", { error: e.message })
          );
          continue;
        }
        this.#logger.error("plugin loop error; will retry", { error: (e as Error).message });
        await sleep(this.#backoff(1), this.#stopping.signal);
      }
    }
    this.#dropReplays();
  }

  /** Takes the next batch through the plugin (or a replay first), or waits when there is none. */
  async #step(state: RetryState): Promise<void> {
    if (this.#overQuota) {
      await this.#measureStorage();
      if (this.#overQuota) return await sleep(this.#ctx.retry.pollMs, this.#stopping.signal);
    }
    if (this.#replays.length > 0) return await this.#replayNext();
    if (this.#ownership.generation !== this.#generation) await this.#loadCheckpoints();
    else if (this.#owned.length < LOG_PARTITIONS && performance.now() - this.#othersReadAt >= this.#ctx.retry.pollMs) {
      await this.#readOthers();
    }
    if (this.#owned.length === 0) return await this.#idle();
    const from = this.#from();
    if (from >= this.#ctx.eventLog.head) return await this.#idle();
    const size = from < state.isolateUntil ? 1 : this.#supervisor.limits.batchSize;
    // A batch tried again after a failure does not wait: its retry has its own backoff.
    const gather = from === state.failedAt ? 0 : this.#gatherFor(from, size);
    if (gather > 0) return await this.#idle(gather, this.#owned.length < LOG_PARTITIONS);
    const batch = await this.#take(from, size);
    if (batch === "empty") return await this.#idle();
    if (typeof batch === "number") return await this.#awaitPartition(batch);
    this.#takenAt = performance.now();
    if (batch.from !== state.failedAt) state.attempts = state.conflicts = 0; // not where the last batch failed
    try {
      await this.#commit(batch);
      this.#supervisor.succeeded();
      state.attempts = state.conflicts = 0;
      this.#consecutiveFailures = 0;
      this.#deadLettersInRow = 0;
      this.status = "running";
    } catch (e) {
      return await this.#failed(e, batch, state);
    }
    if (this.#storageDue()) {
      await this.#measureStorage().catch((e) => this.#logger.warn("cannot measure storage", { error: e.message }));
    }
  }

  /**
   * Whether to measure the plugin's storage after a batch: every {@linkcode STORAGE_EVERY_MS}, and after every batch
   * once it was last found past {@linkcode STORAGE_CLOSE} of its quota. Measuring stats every file of its schema (about
   * 25 ms on embedded PGlite for 15 tables, on the one database thread), so after every batch it was the largest
   * cost of a small batch.
   */
  #storageDue(): boolean {
    return performance.now() - this.#measuredAt >= STORAGE_EVERY_MS ||
      this.storageBytes >= STORAGE_CLOSE * this.storageLimitBytes;
  }

  /**
   * The next batch after `from` (the lowest checkpoint of the partitions this process runs): up to `size` events of
   * those partitions that their checkpoints have not passed, in log order, and the range they cover, which ends
   * before a merge whose `from` another runner has not passed yet. "empty" when the log holds nothing after `from`;
   * when such a merge is next, the partition it waits for.
   */
  async #take(from: number, size: number): Promise<Batch | "empty" | number> {
    const owned = new Set(this.#owned);
    const spread = LOG_PARTITIONS / owned.size; // positions read per event taken, about
    const slice = await this.#ctx.eventLog.read(from, Math.ceil(size * spread), owned);
    if (slice.upTo === from) return "empty";
    const rows: LoggedEvent[] = [];
    let { upTo, latest } = slice;
    let chars = 0;
    let waitsFor = -1;
    for (const [i, row] of slice.entries.entries()) {
      if (row.position <= this.#checkpoints.get(row.part)!) continue; // committed already, by its partition's runner
      chars += row.json.length + 1;
      if (
        rows.length === size || (chars > MAX_BATCH_CHARS && rows.length > 0) ||
        (row.type === MERGE_TYPE && this.#takes(row.type) && (waitsFor = await this.#mergeWaitsFor(row, owned)) >= 0)
      ) {
        upTo = row.position - 1;
        latest = slice.before[i];
        break;
      }
      rows.push(row);
    }
    if (upTo === from) return waitsFor;
    const moving = this.#owned.filter((p) => this.#checkpoints.get(p)! < upTo);
    return {
      from,
      rows,
      upTo,
      watermark: later(this.#watermark, latest),
      moving,
      froms: moving.map((p) => this.#checkpoints.get(p)!),
    };
  }

  /**
   * Whether a merge entry must wait, and for which partition (-1: it may run now). It may run once every event of its
   * `from`, which came before it in the log, is committed. They are in the partition of `from`; when another process
   * runs that one, the merge waits for its checkpoint. A runner waiting at position x waits on one that has not
   * passed x − 1, which waits (if at all) at a lower position: no cycle.
   */
  async #mergeWaitsFor(row: LoggedEvent, owned: Set<number>): Promise<number> {
    const { properties } = JSON.parse(row.json) as { properties: { from: string } };
    const part = partitionOf(properties.from);
    if (owned.has(part) || this.#checkpoints.get(part)! >= row.position - 1) return -1;
    await this.#readCheckpoint(part);
    return this.#checkpoints.get(part)! >= row.position - 1 ? -1 : part;
  }

  /** Reads partition `part`'s checkpoint, which another process moves. */
  async #readCheckpoint(part: number): Promise<void> {
    const [cp] = await this.#ctx.store.query<{ committed: number }>(
      "select committed from host.checkpoints where plugin = $1 and source = 'log' and part = $2",
      [this.name, part],
    );
    this.#checkpoints.set(part, cp.committed);
  }

  /**
   * Waits while another process's partition `part` has not moved: a merge waits for it. Reads only its checkpoint
   * meanwhile, not the log; returns when it moved, this process's partitions changed, a replay came, or the runner stops.
   */
  async #awaitPartition(part: number): Promise<void> {
    const at = this.#checkpoints.get(part);
    while (
      !this.#stopping.signal.aborted && this.#ownership.generation === this.#generation && this.#replays.length === 0
    ) {
      await sleep(MERGE_WAIT_MS, this.#stopping.signal);
      await this.#readCheckpoint(part);
      if (this.#checkpoints.get(part) !== at) return;
    }
  }

  /** Reads the checkpoints of the partitions other processes run, for {@linkcode checkpoint} and `lag`. */
  async #readOthers(): Promise<void> {
    const owned = new Set(this.#owned);
    await this.#readCheckpoints((part) => !owned.has(part));
  }

  /** Reads every partition's checkpoint (and the watermark there), keeping in memory those of the partitions `keep`s. */
  async #readCheckpoints(
    keep: (part: number) => boolean,
  ): Promise<{ part: number; committed: number; watermark: Date | string | null }[]> {
    const rows = await this.#ctx.store.query<{ part: number; committed: number; watermark: Date | string | null }>(
      "select part, committed, watermark from host.checkpoints where plugin = $1 and source = 'log'",
      [this.name],
    );
    for (const r of rows) if (keep(r.part)) this.#checkpoints.set(r.part, r.committed);
    this.#othersReadAt = performance.now();
    return rows;
  }

  /** The lowest checkpoint of the partitions this process runs. */
  #from(): number {
    return Math.min(...this.#owned.map((p) => this.#checkpoints.get(p)!));
  }

  /** A batch failed: retried with backoff, then event by event, then dead-lettered; the plugin disabled at last. */
  async #failed(e: unknown, batch: Batch, state: RetryState): Promise<void> {
    if (this.#stopping.signal.aborted || e instanceof CheckpointMoved) throw e;
    const { rows } = batch;
    // The sandbox was stopped for another call (a request past its time limit): not this batch's fault.
    if (e instanceof PluginError && e.collateral) return;
    state.failedAt = batch.from;
    if (
      (e instanceof Conflict || CONFLICTS.has((e as { code?: string }).code!)) && ++state.conflicts <= MAX_CONFLICTS
    ) {
      // It lost a deadlock or serialization race to another runner of the plugin: not the batch's fault either.
      // (Past MAX_CONFLICTS in a row it is counted as failing: a plugin can raise these codes itself.)
      this.#ctx.metrics.inc("plugin_batch_conflicts_total", "Plugin batches rolled back by a conflict", {
        plugin: this.name,
      });
      return await sleep(MERGE_WAIT_MS * (1 + Math.random()), this.#stopping.signal);
    }
    const error = (e as Error).message;
    if (e instanceof NoticesRefused && e.retryInMs !== null) {
      // Over its quota or its notice budget: the batch waits (as over quota), it is not failing.
      if (this.lastError !== error) this.#logger.warn("batch waits: its notices are refused", { error });
      this.status = "degraded";
      this.lastError = error;
      await this.#measureStorage().catch((e) => this.#logger.warn("cannot measure storage", { error: e.message }));
      return await sleep(Math.max(e.retryInMs, this.#ctx.retry.pollMs), this.#stopping.signal);
    }
    if (isConnectionLost(e) || !await this.#storeHealthy()) {
      this.#logger.error("database unavailable; will retry", { error });
      return await sleep(this.#backoff(1), this.#stopping.signal);
    }
    state.attempts++;
    this.failed++;
    this.#consecutiveFailures++;
    this.lastError = error;
    this.status = "degraded";
    this.#ctx.metrics.inc("plugin_batch_failures_total", "Failed plugin batches", { plugin: this.name });
    this.#logger.warn("batch failed", { error, events: rows.length, attempt: state.attempts });
    if (state.attempts >= this.#ctx.retry.attempts && rows.length > 0) { // none: only checkpoints moved, retried
      state.attempts = 0;
      if (rows.length > 1) state.isolateUntil = rows[rows.length - 1].position;
      else {
        await this.#deadLetter(batch, error);
        this.#consecutiveFailures = 0;
        if (++this.#deadLettersInRow >= this.#ctx.retry.disableAfter) {
          // Failing every event, not a few bad ones: stop before the whole log lands in the dead letters.
          this.status = "disabled";
          this.#logger.error("plugin disabled: consecutive events all failed", {
            deadLetters: this.#deadLettersInRow,
          });
          await this.#supervisor.kill("disabled");
          return;
        }
      }
    }
    await sleep(this.#backoff(this.#consecutiveFailures), this.#stopping.signal);
  }

  /** Reads the plugin's checkpoints and which partitions this process runs; resumes after the lowest of these. */
  async #loadCheckpoints(): Promise<void> {
    const generation = this.#ownership.generation;
    const rows = await this.#readCheckpoints(() => true);
    this.#owned = this.#ownership.owned(this.name, this.manifest!.partitioned);
    this.#generation = generation;
    if (this.#owned.length === 0) return void (this.#watermark = null);
    // The watermark stored with the lowest checkpoint is the one to resume with; a checkpoint saved by an older
    // version has none, and the log tells (a scan up to it).
    const from = this.#from();
    const stored = rows.find((r) => r.committed === from && this.#owned.includes(r.part))?.watermark ?? null;
    this.#watermark = stored !== null
      ? new Date(stored).toISOString()
      : from === 0
      ? null
      : await this.#ctx.eventLog.watermarkAt(from);
  }

  async #commit(batch: Batch): Promise<void> {
    const started = performance.now();
    const taken = batch.rows.filter((r) => this.#takes(r.type));
    const events = taken.map(positioned);
    const needsPlugin = events.length > 0 && (this.manifest!.hasQueue || this.manifest!.hasMerge);
    // Started before the transaction: with PGlite, an open transaction holds the whole database.
    const sandbox = needsPlugin ? await this.#supervisor.sandbox() : null;
    let notices = 0;
    await this.#ctx.store.transaction(async (tx) => {
      // The checkpoints first: their deferred trigger fails any COMMIT the plugin sends (see store/schema.ts).
      await this.#saveCheckpoints(tx, batch);
      if (sandbox) notices = await this.#queueIn(tx, sandbox, events, batch.watermark);
    });
    this.#noticed(notices);
    this.#passed(batch);
    this.#counted(taken.filter((r) => r.type !== MERGE_TYPE).length);
    this.#ctx.metrics.observe(
      "plugin_batch_seconds",
      "Plugin batch latency, commit included",
      { plugin: this.name },
      (performance.now() - started) / 1000,
    );
  }

  /** `batch` committed: its partitions' checkpoints are at its end. */
  #passed(batch: Batch): void {
    for (const p of batch.moving) this.#checkpoints.set(p, batch.upTo);
    this.#watermark = batch.watermark;
  }

  /** Whether the plugin takes log entries of `type`: events it subscribes to, and merges when it handles them. */
  #takes(type: string): boolean {
    if (type === MERGE_TYPE) return this.manifest!.hasMerge;
    const subs = this.manifest!.subscribes;
    return subs === "*" || subs.includes(type);
  }

  /**
   * Runs the plugin's `queue` (and `merge`) on `events` (JSON text) inside `tx`, in its scope; `tx` is the host's
   * again after. Then stores the notices the call emitted, as the host, in `tx`: they commit with the batch or not at
   * all. A bad notice fails the call. Answers how many notices it stored.
   */
  async #queueIn(tx: Sql, sandbox: Sandbox, events: string[], watermark: string | null): Promise<number> {
    const { timeoutMs } = this.#supervisor.limits;
    const opts = { timeoutMs, tripwire: this.#ctx.sqlTripwire, states: this.#states };
    const scope = await PluginScope.enter(tx, this.#placement!, opts);
    const notices = new NoticeBatch();
    let conflict = null as Error | null;
    const onSql: SqlHandler = async (text, params) => {
      try {
        return await scope.run(text, params);
      } catch (e) {
        if (CONFLICTS.has((e as { code?: string }).code!)) conflict ??= e as Error;
        throw e;
      }
    };
    try {
      await sandbox.queue(events, watermark, { timeoutMs, onSql, onNotice: (message) => notices.add(message) });
      if (notices.error !== null) throw new PluginError(this.name, notices.error);
      await scope.close();
    } catch (e) {
      await scope.abandon();
      // However the plugin took its statement's failure (caught, it leaves the transaction aborted), the transaction
      // was lost to a concurrent one: try again.
      if (conflict !== null) throw new Conflict(`plugin ${this.name}: ${conflict.message}`);
      throw e;
    }
    return await storeNotices(tx, this.name, notices.notices, this.#quota());
  }

  /** The plugin's quota as its notices are charged against it. */
  #quota(): NoticeQuota {
    return { limitBytes: this.storageLimitBytes, schemaBytes: this.#schemaBytes };
  }

  /** `count` notices of the plugin's were committed. */
  #noticed(count: number): void {
    if (count === 0) return;
    this.#ctx.metrics.inc("notices_total", "Notices committed by each plugin", { plugin: this.name }, count);
    this.#ctx.notified?.();
  }

  #counted(events: number): void {
    this.processed += events;
    this.#ctx.metrics.inc(
      "plugin_events_processed_total",
      "Events committed by each plugin",
      { plugin: this.name },
      events,
    );
  }

  /** Dead-letters the one event of `batch` for this plugin, and moves its checkpoints past it. */
  async #deadLetter(batch: Batch, reason: string): Promise<void> {
    const event = JSON.parse(batch.rows[0].json) as { event_id: string };
    await this.#ctx.store.transaction(async (tx) => {
      await insertDeadLetters(tx, [{ stage: `plugin:${this.name}`, reason, payload: event }]);
      await this.#saveCheckpoints(tx, batch);
    });
    this.#passed(batch);
    this.#ctx.metrics.inc("dead_letters_total", "Items sent to the dead letters", { stage: `plugin:${this.name}` });
    this.#logger.warn("event dead-lettered", { event_id: event.event_id, reason });
  }

  /**
   * Moves the checkpoints of `batch.moving` from `batch.froms` to `batch.upTo`, or throws {@linkcode CheckpointMoved} if
   * any of them is no longer where this runner read it: another runner committed it meanwhile.
   */
  async #saveCheckpoints(tx: Pick<Store, "query">, batch: Batch): Promise<void> {
    const moved = await tx.query(
      `update host.checkpoints c set committed = $2, watermark = $5, updated_at = now()
       from unnest($3::int[], $4::int8[]) as e(part, committed)
       where c.plugin = $1 and c.source = 'log' and c.part = e.part and c.committed = e.committed
       returning c.part`,
      [this.name, batch.upTo, batch.moving, batch.froms, batch.watermark],
    );
    if (moved.length !== batch.moving.length) {
      throw new CheckpointMoved(`plugin ${this.name}: a checkpoint is no longer where it was read`);
    }
  }

  async #storeHealthy(): Promise<boolean> {
    try {
      await this.#ctx.store.query("select 1");
      return true;
    } catch {
      return false;
    }
  }

  /**
   * How long to gather events (ms) before taking a batch after `from`, so that a runner keeping up with a steady stream
   * takes fewer, larger batches, each with its transaction, statements and messages. A batch is taken at once when the
   * log may hold `size` events of this process's partitions past `from` (assuming the partitions fill evenly), or when
   * the last batch was taken at least the batch wait ago. So an event waits for the wait or the batch in flight,
   * whichever is longer, and the first after a quiet spell waits for neither.
   */
  #gatherFor(from: number, size: number): number {
    const waitMs = this.#ctx.batchWaitMs ?? DEFAULT_BATCH_WAIT_MS;
    if (waitMs === 0 || size === 1) return 0;
    const spread = LOG_PARTITIONS / this.#owned.length;
    if (this.#ctx.eventLog.head - from >= size * spread) return 0;
    return Math.max(0, this.#takenAt + waitMs - performance.now());
  }

  /**
   * Waits until woken, or `ms` passed; then, when `refresh`, reads the log's head: other runtimes on the database append
   * without waking this one.
   */
  #idle(ms = this.#ctx.retry.pollMs, refresh = true): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (!refresh) return done();
        this.#ctx.eventLog.refresh().catch(() => {}).finally(done);
      }, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        done();
      };
    });
  }

  #backoff(n: number): number {
    const { backoffMs, maxBackoffMs } = this.#ctx.retry;
    return Math.min(maxBackoffMs, backoffMs * 2 ** Math.max(0, n - 1));
  }
}

/** Response headers a plugin may not set: they would act on the dashboard's origin (its cookies, its policy). */
const HOST_ONLY_HEADERS = new Set(["set-cookie", "set-cookie2", "content-security-policy", "x-content-type-options"]);

/**
 * Served with every plugin answer: the browser runs no script of it and loads nothing for it, as if in a sandboxed
 * frame of another origin, so a plugin's HTML cannot act on the dashboard's origin, where the read token lives.
 */
const PLUGIN_ANSWER_HEADERS: [string, string][] = [
  ["content-security-policy", "sandbox; default-src 'none'; frame-ancestors 'none'"],
  ["x-content-type-options", "nosniff"],
];

/** A plugin's answer as a Response; statuses that carry no body get none, nonsense statuses a 502. */
function toResponse(plugin: string, res: WireResponse): Response {
  if (typeof res !== "object" || res === null || !Array.isArray(res.headers) || typeof res.body !== "string") {
    return json(502, { error: `plugin ${plugin} answered something that is not a response` });
  }
  if (!Number.isInteger(res.status) || res.status < 200 || res.status > 599) {
    return json(502, { error: `plugin ${plugin} answered status ${res.status}` });
  }
  const empty = res.status === 204 || res.status === 205 || res.status === 304;
  try {
    const headers = new Headers(res.headers.filter(([name]) => !HOST_ONLY_HEADERS.has(String(name).toLowerCase())));
    for (const [name, value] of PLUGIN_ANSWER_HEADERS) headers.set(name, value);
    return new Response(empty ? null : res.body, { status: res.status, headers });
  } catch (e) {
    return json(502, { error: `plugin ${plugin} answered an invalid response: ${(e as Error).message}` });
  }
}

/**
 * A logged event's JSON as a plugin is handed it: with its `position` in the log first, which orders events of equal
 * time by arrival. (The logged JSON is a validated event object, which cannot hold a `position` of its own.)
 */
function positioned(row: LoggedEvent): string {
  return `{"position":${row.position},${row.json.slice(1)}`;
}

/** A replay waiting for its turn between batches. */
interface Replay {
  row: LoggedEvent;
  claim: (tx: Sql) => Promise<boolean>;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * A batch: the events of the partitions a runner takes after their checkpoints, up to `upTo`, and the checkpoints it
 * moves there (`moving`, from `froms`).
 */
interface Batch {
  /** The lowest checkpoint of the runner's partitions when it was taken. */
  from: number;
  rows: LoggedEvent[];
  upTo: number;
  /** The latest event time up to `upTo`, in every partition. */
  watermark: string | null;
  moving: number[];
  froms: number[];
}

/** Where the retries of failed batches stand. */
interface RetryState {
  /** Failed tries of the batch taken after `failedAt`. */
  attempts: number;
  /** While the checkpoints are below it, events go one at a time (a batch failed: find the event that fails). */
  isolateUntil: number;
  /** Where the last failed batch was taken from (its {@linkcode Batch.from}). */
  failedAt: number;
  /** Conflicts in a row of the batch taken after `failedAt`. */
  conflicts: number;
}

/** The checkpoint was moved by someone else (another runtime on the same database). */
class CheckpointMoved extends Error {}

/** A plugin's statement lost a deadlock or serialization race to another transaction: the batch is tried again. */
class Conflict extends Error {}

function json(status: number, body: unknown): Response {
  return Response.json(body, { status });
}
