/**
 * Which runtime process runs which share of a plugin's work. Processes on one database are its members: every
 * {@linkcode HEARTBEAT_MS} each writes a heartbeat row per plugin it runs (loaded, neither disabled nor failed) in
 * `host.members`, and those seen within {@linkcode MEMBER_TTL_MS} are live. Sorted by id, a plugin's live members split
 * the log's partitions round-robin: member `i` of `n` runs partition `p` when `p mod n = i`; an unpartitioned plugin
 * runs whole on one member, chosen by its name. A process that stops running a plugin leaves it at its next heartbeat,
 * and the others take its partitions; one that dies is dropped after the time to live.
 *
 * Two members may both believe they own a partition for a moment (a heartbeat late, a member just joined): the
 * compare-and-set on each partition's checkpoint (`runner.ts`) lets only one of them commit any range, so ownership
 * decides who works, never what is committed.
 * @module
 */
import { sleep } from "../core/nap.ts";
import { ALL_PARTITIONS, murmur2 } from "../core/partitions.ts";
import type { Logger } from "../observability/logger.ts";
import type { Store } from "../store/mod.ts";

/** How often a member writes its heartbeat and reads who is live (ms). */
export const HEARTBEAT_MS = 1000;

/** How long after its last heartbeat a member still counts as live (ms). */
export const MEMBER_TTL_MS = 5000;

/** What a plugin's runner asks of membership. */
export interface Ownership {
  /** The log partitions this process runs of a plugin, in order; every one when `partitioned` is false, or none. */
  owned(plugin: string, partitioned: boolean): readonly number[];
  /** Grows each time the live members change: owned partitions may have changed. */
  readonly generation: number;
  /** Calls `fn` each time the live members change. Returns an unsubscribe function. */
  onChange(fn: () => void): () => void;
}

/** A process alone on its database (embedded PGlite, or tests): it owns every partition of every plugin. */
export const ALONE: Ownership = {
  owned: () => ALL_PARTITIONS,
  generation: 0,
  onChange: () => () => {},
};

/** This process as a member of its database's runtimes. */
export class Members implements Ownership {
  /** This process's member id. */
  readonly id: string = crypto.randomUUID();
  generation = 0;
  /** Per plugin, the other processes running it, by id, sorted. */
  #others = new Map<string, string[]>();
  #running: () => readonly string[] = () => [];
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #heartbeatMs: number;
  readonly #ttlMs: number;
  readonly #listeners = new Set<() => void>();
  readonly #stopping = new AbortController();
  #loop: Promise<void> | null = null;

  constructor(store: Store, logger: Logger, opts: { heartbeatMs?: number; ttlMs?: number } = {}) {
    this.#store = store;
    this.#logger = logger;
    this.#heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_MS;
    this.#ttlMs = opts.ttlMs ?? MEMBER_TTL_MS;
  }

  /** The live members running `plugin`, this process included, by id, sorted. */
  members(plugin: string): readonly string[] {
    return [...this.#others.get(plugin) ?? [], this.id].sort();
  }

  /**
   * Joins (one heartbeat, so the other members are known before any plugin runs), then beats until stopped, for the
   * plugins `running` answers at each beat.
   */
  async start(running: () => readonly string[]): Promise<void> {
    this.#running = running;
    await this.#beat();
    this.#loop = (async () => {
      while (!this.#stopping.signal.aborted) {
        await sleep(this.#heartbeatMs, this.#stopping.signal);
        if (this.#stopping.signal.aborted) break;
        await this.#beat().catch((e) => this.#logger.warn("membership heartbeat failed", { error: e.message }));
      }
    })();
  }

  /** Leaves: the other members take this process's partitions at their next heartbeat. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
    await this.#store.query("delete from host.members where member = $1", [this.id])
      .catch((e) => this.#logger.warn("cannot leave the members", { error: e.message }));
  }

  /** The partitions of `plugin` this process runs, as if it ran the plugin (which it does when it asks). */
  owned(plugin: string, partitioned: boolean): readonly number[] {
    const members = this.members(plugin);
    const n = members.length;
    const i = members.indexOf(this.id);
    if (!partitioned) return (murmur2(plugin) & 0x7fffffff) % n === i ? ALL_PARTITIONS : [];
    return ALL_PARTITIONS.filter((p) => p % n === i);
  }

  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * Writes this member's heartbeats (one per plugin it runs, and none for those it stopped running), forgets
   * long-gone members, and reads the live ones (by the database's clock).
   */
  async #beat(): Promise<void> {
    const rows = await this.#store.query<{ plugin: string; member: string }>(
      `with mine as (
         select pg_catalog.unnest($2::text[]) as plugin
       ), beat as (
         insert into host.members (member, plugin, seen_at) select $1, plugin, now() from mine
         on conflict (member, plugin) do update set seen_at = now()
       ), stopped as (
         delete from host.members where member = $1 and plugin <> all($2::text[])
       ), gone as (
         delete from host.members where seen_at < now() - interval '1 hour'
       )
       select plugin, member from host.members
       where member <> $1 and seen_at > now() - $3 * interval '1 millisecond'
       order by plugin, member`,
      [this.id, [...this.#running()], this.#ttlMs],
    );
    const others = new Map<string, string[]>();
    for (const r of rows) others.set(r.plugin, [...others.get(r.plugin) ?? [], r.member]);
    const key = (m: Map<string, string[]>) => JSON.stringify([...m]);
    if (key(others) === key(this.#others)) return;
    this.#others = others;
    this.generation++;
    this.#logger.info("members changed", { others: Object.fromEntries(others) });
    for (const fn of this.#listeners) fn();
  }
}
