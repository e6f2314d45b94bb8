/**
 * The durable event log: every accepted event, once, in commit order, with the host's merge entries among them
 * (`identity.ts`). Appends are group-committed: while
 * one transaction is in flight, the next requests gather and commit together. Each commit takes one lock,
 * so positions are dense and become visible in order, which lets readers checkpoint by position.
 *
 * Readers get events as JSON text, never parsed on the host: plugins parse them in their own processes.
 * The latest events stay in memory ({@linkcode RECENT_EVENTS}), so readers that keep up, and readers
 * catching up side by side, do not read them back from the database.
 * @module
 */
import { type Event, toStorable } from "./event.ts";
import { resolveIdentities } from "./identity.ts";
import { ALL_PARTITIONS, LOG_PARTITIONS, partitionOf } from "./partitions.ts";
import type { MetricsRegistry } from "../observability/metrics.ts";
import type { Sql, Store } from "../store/mod.ts";

/** An item refused at some stage, kept with its reason. */
export interface DeadLetter {
  stage: string;
  reason: string;
  payload: unknown;
}

/** One logged event with its position; the event itself stays JSON text. */
export interface LoggedEvent {
  position: number;
  type: string;
  /** The user it is logged under (its person): the key of its log partition (`partitions.ts`). */
  userId: string;
  /** Its log partition. */
  part: number;
  /** Event time, UTC ISO-8601 with milliseconds (as validated events carry it). */
  timestamp: string;
  /** The whole event as JSON text. */
  json: string;
}

/** What a reader of some partitions gets from the log: their entries in a range, and the time of all of it. */
export interface LogSlice {
  /** The entries of the partitions read, in log order. */
  entries: LoggedEvent[];
  /** For each entry, the latest event time of the entries before it in the range, in every partition (null: none). */
  before: (string | null)[];
  /** The last position looked at: the range's end, or where it started when there was nothing after it. */
  upTo: number;
  /** The latest event time of every entry in the range, in every partition (null: none). */
  latest: string | null;
}

/** The later of two event times (UTC ISO-8601 strings, which order as text); null is earlier than any. */
export function later(a: string | null, b: string | null): string | null {
  return a === null || (b !== null && b > a) ? b : a;
}

/** How many of the latest logged events are kept in memory for readers. */
export const RECENT_EVENTS = 50_000;

/**
 * Where appended events came from in a partitioned source (Kafka): the append commits only if the
 * partition's stored offset is still `from`, and moves it to `to`, in the same transaction.
 */
export interface SourceRange {
  topic: string;
  partition: number;
  /** The stored offset expected (-1 when none yet). */
  from: number;
  to: number;
}

/** The partition's stored offset was not where the appender expected: someone else moved it. */
export class SourceMoved extends Error {}

/** What one append did. */
export interface AppendResult {
  /** Events new to the log. */
  stored: number;
  /** Events whose event_id the log already held (or that repeated within the append). */
  duplicates: number;
}

const APPEND_LOCK = 727002;
const EVERY_PARTITION: ReadonlySet<number> = new Set(ALL_PARTITIONS);

/** A row of `host.events` as readers select it. */
type LogRow = {
  position: number;
  type: string;
  user_id: string;
  part: number | null;
  ts: Date | string;
  json: string | null;
};

/** The entries of a range that are in memory, and their positions (an `int8multirange`'s text; null: none). */
interface Held {
  entries: Map<number, LoggedEvent>;
  ranges: string | null;
}

/** Part of a {@linkcode LogSlice} read from the database, and how many of its entries' JSON came from there. */
type FromDatabase = LogSlice & { fromDatabase: number };

function entryOf(r: LogRow, json: string): LoggedEvent {
  return {
    position: r.position,
    type: r.type,
    userId: r.user_id,
    part: r.part ?? partitionOf(r.user_id), // logged before the log was partitioned
    timestamp: new Date(r.ts).toISOString(),
    json,
  };
}

interface Pending {
  events: Event[];
  deadLetters: DeadLetter[];
  source?: SourceRange;
  resolve: (r: AppendResult) => void;
  reject: (e: Error) => void;
}

/** The log over the host's `events` table, with dead letters written in the same transactions. */
export class EventLog {
  readonly #store: Store;
  readonly #metrics: MetricsRegistry;
  #queue: Pending[] = [];
  #flushing: Promise<void> | null = null;
  #listeners = new Set<() => void>();
  #head = 0;
  #watermark: string | null = null;
  /** Recently appended or read entries by position, the oldest inserted first. */
  readonly #recent = new Map<number, LoggedEvent>();

  constructor(store: Store, metrics: MetricsRegistry) {
    this.#store = store;
    this.#metrics = metrics;
  }

  /** Reads the current head; call once before use. */
  async open(): Promise<void> {
    const [row] = await this.#store.query<{ head: number; wm: Date | string | null }>(
      "select coalesce(max(position), 0) as head, max(ts) as wm from host.events",
    );
    this.#head = row.head;
    this.#watermark = row.wm === null ? null : new Date(row.wm).toISOString();
  }

  /** Catches up with appends made by other processes on the same database. */
  async refresh(): Promise<void> {
    const [row] = await this.#store.query<{ head: number | null; wm: Date | string | null }>(
      "select max(position) as head, max(ts) as wm from host.events where position > $1",
      [this.#head],
    );
    if (row.head === null) return;
    this.#head = Math.max(this.#head, row.head);
    const wm = row.wm === null ? null : new Date(row.wm).toISOString();
    if (wm !== null && (this.#watermark === null || wm > this.#watermark)) this.#watermark = wm;
    for (const fn of this.#listeners) fn();
  }

  /** The stored offset of a source partition: the last one whose events are in the log (-1 when none). */
  async sourceOffset(topic: string, partition: number): Promise<number> {
    const [row] = await this.#store.query<{ offset: number }>(
      `select "offset" from host.source_offsets where topic = $1 and partition = $2`,
      [topic, partition],
    );
    return row?.offset ?? -1;
  }

  /** The highest committed position known to this process. */
  get head(): number {
    return this.#head;
  }

  /** The latest event time committed: the runtime's "now" in event time. */
  get watermark(): string | null {
    return this.#watermark;
  }

  /** Calls `fn` after each commit that stored events. Returns an unsubscribe function. */
  onAppend(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * Durably appends `events` (de-duplicated by event_id) and `deadLetters`, and moves `source`'s offset,
   * all in one transaction; resolves after commit. Rejects with {@linkcode SourceMoved} when `source`'s
   * offset was not at `from`.
   */
  append(events: Event[], deadLetters: DeadLetter[] = [], source?: SourceRange): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ events, deadLetters, source, resolve, reject });
      this.#flushing ??= this.#flush();
    });
  }

  /**
   * Reads the entries of partitions `parts` (all by default) after position `after`, in order, looking at up to `limit`
   * positions: from memory as far as they are there, then from the database, which sends only those partitions' rows
   * (without the JSON of those in memory) and, for each, the latest event time before it. A process that runs a share
   * of the partitions reads no more than its share, however many processes append.
   */
  async read(after: number, limit: number, parts: ReadonlySet<number> = EVERY_PARTITION): Promise<LogSlice> {
    const end = Math.min(after + limit, this.#head);
    const slice: LogSlice = { entries: [], before: [], upTo: after, latest: null };
    for (let p = after + 1; p <= end; p++) {
      const e = this.#recent.get(p);
      if (e === undefined) break;
      if (parts.has(e.part)) {
        slice.entries.push(e);
        slice.before.push(slice.latest);
      }
      slice.latest = later(slice.latest, e.timestamp);
      slice.upTo = p;
    }
    if (slice.upTo === end) {
      this.#counted("memory", slice.entries.length);
      return slice;
    }
    const held = this.#held(slice.upTo, end);
    const rest = parts.size === LOG_PARTITIONS
      ? await this.#readEvery(slice.upTo, end, held)
      : await this.#readSome(slice.upTo, end, parts, held);
    rest.entries.forEach((e, i) => {
      slice.entries.push(e);
      slice.before.push(later(slice.latest, rest.before[i]));
    });
    this.#counted("memory", slice.entries.length - rest.fromDatabase);
    this.#counted("database", rest.fromDatabase);
    slice.upTo = rest.upTo;
    slice.latest = later(slice.latest, rest.latest);
    return slice;
  }

  #counted(from: "memory" | "database", entries: number): void {
    if (entries === 0) return;
    this.#metrics.inc("log_entries_read_total", "Log entries handed to plugin runners, by where their JSON was read", {
      from,
    }, entries);
  }

  /**
   * The entries in (`after`, `end`] that are in memory, and their positions as a multirange for the database, which
   * leaves out their JSON: with several processes appending, a range interleaves this one's appends with the others'.
   */
  #held(after: number, end: number): Held {
    const entries = new Map<number, LoggedEvent>();
    const ranges: string[] = [];
    let start = -1;
    for (let p = after + 1; p <= end + 1; p++) {
      const e = p <= end ? this.#recent.get(p) : undefined;
      if (e !== undefined) {
        entries.set(p, e);
        if (start < 0) start = p;
      } else if (start >= 0) {
        ranges.push(`[${start},${p})`);
        start = -1;
      }
    }
    return { entries, ranges: ranges.length === 0 ? null : `{${ranges.join(",")}}` };
  }

  /** Every entry in (`after`, `end`], kept in memory for the next readers. */
  async #readEvery(after: number, end: number, held: Held): Promise<FromDatabase> {
    const rows = await this.#store.query<LogRow>(
      `select position, type, user_id, part, ts,
         case when not coalesce($3::int8multirange @> position, false) then body::text end as json
       from host.events where position > $1 and position <= $2 order by position`,
      [after, end, held.ranges],
    );
    const slice: FromDatabase = { entries: [], before: [], upTo: after, latest: null, fromDatabase: 0 };
    for (const r of rows) {
      if (r.json !== null) slice.fromDatabase++;
      const e = held.entries.get(r.position) ?? entryOf(r, r.json!);
      slice.entries.push(e);
      slice.before.push(slice.latest);
      slice.latest = later(slice.latest, e.timestamp);
      slice.upTo = e.position;
    }
    this.#remember(slice.entries);
    return slice;
  }

  /**
   * The entries of `parts` in (`after`, `end`]. The database computes the event times over every partition's rows and
   * sends only these partitions' (and the last row's, for the latest time): reading another process's appends costs
   * what reading one's own share costs. Not kept in memory: they are not every entry of a range.
   */
  async #readSome(after: number, end: number, parts: ReadonlySet<number>, held: Held): Promise<FromDatabase> {
    const rows = await this.#store.query<LogRow & { before: Date | string | null }>(
      `select w.position, e.type, e.user_id, w.part, w.ts, w.before,
         case when (w.part is null or w.part = any($3::int2[])) and not coalesce($4::int8multirange @> w.position, false)
           then e.body::text end as json
       from (select position, part, ts,
               max(ts) over (order by position rows between unbounded preceding and 1 preceding) as before
             from host.events where position > $1 and position <= $2) w
       join host.events e on e.position = w.position and e.position > $1 and e.position <= $2
       where w.part is null or w.part = any($3::int2[]) or w.position = $2
       order by w.position`,
      [after, end, [...parts], held.ranges],
    );
    const slice: FromDatabase = { entries: [], before: [], upTo: after, latest: null, fromDatabase: 0 };
    for (const r of rows) {
      const before = r.before === null ? null : new Date(r.before).toISOString();
      const e = held.entries.get(r.position) ?? entryOf(r, r.json ?? "");
      // A row logged before the log was partitioned is sent whatever its partition: computed now.
      if ((r.json !== null || held.entries.has(r.position)) && parts.has(e.part)) {
        if (r.json !== null) slice.fromDatabase++;
        slice.entries.push(e);
        slice.before.push(before);
      }
      slice.latest = later(before, e.timestamp);
      slice.upTo = e.position;
    }
    return slice;
  }

  /**
   * Keeps `events` in memory for the next readers, forgetting the oldest kept beyond {@linkcode RECENT_EVENTS}.
   */
  #remember(events: LoggedEvent[]): void {
    for (const e of events) this.#recent.set(e.position, e);
    let excess = this.#recent.size - RECENT_EVENTS;
    for (const position of this.#recent.keys()) {
      if (excess-- <= 0) break;
      this.#recent.delete(position);
    }
  }

  /** The latest event time at or before `position` (for a reader's watermark when it resumes). */
  async watermarkAt(position: number): Promise<string | null> {
    const [row] = await this.#store.query<{ wm: Date | string | null }>(
      "select max(ts) as wm from host.events where position <= $1",
      [position],
    );
    return row.wm === null ? null : new Date(row.wm).toISOString();
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const group = this.#queue;
      this.#queue = [];
      try {
        await this.#commitGroup(group);
      } catch (e) {
        if (group.length === 1) group[0].reject(e as Error);
        else {
          // One request's failure must not fail the others it was grouped with: retry each alone.
          for (const p of group) await this.#commitGroup([p]).catch((e) => p.reject(e as Error));
        }
      }
    }
    this.#flushing = null;
  }

  async #commitGroup(group: Pending[]): Promise<void> {
    const started = performance.now();
    const { results, head, fresh, entries, merges, json, parts } = await this.#store.transaction((tx) =>
      this.#commit(tx, group)
    );
    const m = this.#metrics;
    m.observe(
      "db_commit_seconds",
      "Latency of durable commits to the event log",
      { op: "append" },
      (performance.now() - started) / 1000,
    );
    m.inc("events_accepted_total", "Events new to the log", {}, fresh);
    if (merges > 0) m.inc("identity_merges_total", "Ids linked to a person (merge entries logged)", {}, merges);
    m.inc(
      "events_duplicate_total",
      "Valid events whose event_id was already logged",
      {},
      results.reduce((n, r) => n + r.duplicates, 0),
    );
    const letters = group.reduce((n, p) => n + p.deadLetters.length, 0);
    if (letters > 0) m.inc("dead_letters_total", "Items sent to the dead letters", { stage: "ingest" }, letters);
    this.#head = Math.max(this.#head, head + entries.length);
    for (const e of entries) {
      if (this.#watermark === null || e.timestamp > this.#watermark) this.#watermark = e.timestamp;
    }
    this.#remember(
      entries.map((e, i) => ({
        position: head + 1 + i,
        type: e.type,
        userId: e.user_id,
        part: parts[i],
        timestamp: e.timestamp,
        json: json[i],
      })),
    );
    group.forEach((p, i) => p.resolve(results[i]));
    if (entries.length > 0) { for (const fn of this.#listeners) fn(); }
  }

  async #commit(
    tx: Sql,
    group: Pending[],
  ): Promise<{
    results: AppendResult[];
    head: number;
    fresh: number;
    entries: Event[];
    merges: number;
    json: string[];
    parts: number[];
  }> {
    await tx.query(`select pg_advisory_xact_lock(${APPEND_LOCK})`);
    const ids = group.flatMap((p) => p.events.map((e) => e.event_id));
    const known = new Set(
      ids.length === 0 ? [] : (await tx.query<{ event_id: string }>(
        "select event_id from host.events where event_id = any($1::text[])",
        [ids],
      )).map((r) => r.event_id),
    );
    const [{ head }] = await tx.query<{ head: number }>(
      "select coalesce(max(position), 0) as head from host.events",
    );
    const fresh: Event[] = [];
    const results = group.map((p) => {
      let stored = 0;
      for (const e of p.events) {
        if (known.has(e.event_id)) continue;
        known.add(e.event_id);
        fresh.push(e);
        stored++;
      }
      return { stored, duplicates: p.events.length - stored };
    });
    // Each event under its person, and a merge entry after each event that linked a new id (identity.ts).
    const { entries, merges } = fresh.length > 0
      ? await resolveIdentities(tx, fresh, head)
      : { entries: [], merges: 0 };
    const json = entries.map((e) => JSON.stringify(e));
    const parts = entries.map((e) => partitionOf(e.user_id));
    if (entries.length > 0) {
      // One JSON array rather than a text[] of JSON: Postgres parses it faster than an array literal.
      await tx.query(
        `insert into host.events (position, event_id, type, user_id, part, ts, body)
         select $1::bigint + n, e->>'event_id', e->>'type', e->>'user_id', ($3::int2[])[n],
           (e->>'timestamp')::timestamptz, e
         from jsonb_array_elements($2::jsonb) with ordinality as x(e, n)`,
        [head, `[${json.join(",")}]`, parts],
      );
    }
    const letters = group.flatMap((p) => p.deadLetters);
    if (letters.length > 0) await insertDeadLetters(tx, letters);
    for (const { source } of group) if (source) await moveOffset(tx, source);
    return { results, head, fresh: fresh.length, entries, merges, json, parts };
  }
}

/** Moves a partition's stored offset from `from` to `to`, or throws {@linkcode SourceMoved}. */
async function moveOffset(tx: Sql, s: SourceRange): Promise<void> {
  const moved = s.from === -1
    ? await tx.query(
      `insert into host.source_offsets (topic, partition, "offset") values ($1, $2, $3)
       on conflict (topic, partition) do nothing returning "offset"`,
      [s.topic, s.partition, s.to],
    )
    : await tx.query(
      `update host.source_offsets set "offset" = $4, updated_at = now()
       where topic = $1 and partition = $2 and "offset" = $3 returning "offset"`,
      [s.topic, s.partition, s.from, s.to],
    );
  if (moved.length === 0) throw new SourceMoved(`${s.topic}/${s.partition}: stored offset is no longer ${s.from}`);
}

/** Writes dead letters (in the caller's transaction). */
export async function insertDeadLetters(sql: Sql, letters: DeadLetter[]): Promise<void> {
  await sql.query(
    `insert into host.dead_letters (stage, reason, payload)
     select stage, reason, payload::jsonb from unnest($1::text[], $2::text[], $3::text[]) as x(stage, reason, payload)`,
    [
      letters.map((l) => toStorable(l.stage)),
      letters.map((l) => toStorable(l.reason)),
      letters.map((l) => JSON.stringify(toStorable(l.payload ?? null))),
    ],
  );
}
