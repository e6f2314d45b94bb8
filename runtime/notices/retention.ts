/**
 * Retention: notices older than {@linkcode NOTICE_RETENTION_MS} are deleted once none of their deliveries is pending or
 * retrying (delivered and dead ones go with them, by the foreign key's cascade), so `host.notices` and
 * `host.webhook_deliveries` do not grow without end, and a plugin's old notices stop counting against its quota. A
 * loop in each process prunes at start and every {@linkcode PRUNE_EVERY_MS}.
 */
import type { Logger } from "../observability/logger.ts";
import type { MetricsRegistry } from "../observability/metrics.ts";
import type { Store } from "../store/mod.ts";
import { sleep } from "../core/nap.ts";

/** How long a notice is kept (ms): 7 days, while no delivery of it is pending or retrying. */
export const NOTICE_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** How often each process prunes (ms). */
export const PRUNE_EVERY_MS = 10 * 60 * 1000;

/** The most notices deleted in one transaction: a short one, which holds up no one for long. */
const PRUNE_BATCH = 1000;

/**
 * Deletes the notices committed more than `retentionMs` ago whose deliveries are all delivered or dead, with those
 * deliveries, in batches of one transaction each, until none is left or `signal` aborts; answers how many it deleted.
 * Each notice is looked at once per call (in commit-time order), so those kept for a pending delivery cost one look.
 */
export async function pruneNotices(
  store: Pick<Store, "query">,
  retentionMs: number,
  signal?: AbortSignal,
): Promise<number> {
  let after: [string, number] = ["-infinity", 0];
  let pruned = 0;
  while (!signal?.aborted) {
    // One statement per batch, in its own transaction: batches go in commit-time order, so two processes pruning at
    // once meet on the same rows in the same order (one waits, or finds them gone).
    const [batch] = await store.query<{ seen: number; deleted: number; at: string | null; id: number | null }>(
      `with old as (
         select id, created_at from host.notices
         where (created_at, id) > ($1::text::timestamptz, $2::int8)
           and created_at < now() - $3::float8 * interval '1 millisecond'
         order by created_at, id limit ${PRUNE_BATCH}
       ), gone as (
         delete from host.notices n using old
         where n.id = old.id and not exists (
           select from host.webhook_deliveries d where d.notice_id = n.id and d.status in ('pending', 'retrying'))
         returning n.id
       ), last as (select created_at, id from old order by created_at desc, id desc limit 1)
       select (select count(*) from old)::int as seen, (select count(*) from gone)::int as deleted,
         (select created_at::text from last) as at, (select id from last) as id`,
      [after[0], after[1], retentionMs],
    );
    pruned += batch.deleted;
    if (batch.seen < PRUNE_BATCH) break;
    after = [batch.at!, batch.id!];
  }
  return pruned;
}

/** The loop that prunes old notices, started and stopped with the runtime. */
export class NoticeRetention {
  readonly #store: Pick<Store, "query">;
  readonly #logger: Logger;
  readonly #metrics: MetricsRegistry;
  readonly #stopping = new AbortController();
  #loop: Promise<void> | null = null;

  constructor(opts: { store: Pick<Store, "query">; logger: Logger; metrics: MetricsRegistry }) {
    this.#store = opts.store;
    this.#logger = opts.logger.with({ component: "notices" });
    this.#metrics = opts.metrics;
  }

  /** Prunes now, then every {@linkcode PRUNE_EVERY_MS} until {@linkcode stop}. */
  start(): void {
    this.#metrics.inc("notices_pruned_total", "Notices deleted after the retention period", {}, 0);
    this.#loop ??= this.#run();
  }

  /** Stops the loop, after the transaction under way. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      try {
        const pruned = await pruneNotices(this.#store, NOTICE_RETENTION_MS, signal);
        this.#metrics.inc("notices_pruned_total", "Notices deleted after the retention period", {}, pruned);
        if (pruned > 0) this.#logger.info("old notices deleted", { notices: pruned });
      } catch (e) {
        if (!signal.aborted) this.#logger.warn("cannot delete old notices", { error: (e as Error).message });
      }
      await sleep(PRUNE_EVERY_MS, signal);
    }
  }
}
