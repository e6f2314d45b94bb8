/**
 * The transactional outbox: a call's notices go into `host.notices` in the transaction that holds the call's writes
 * (a batch's, with its checkpoint), as the host, so a notice exists exactly when its batch committed. In the same
 * statement, each notice gets a delivery row per enabled webhook subscribed to its plugin and channel.
 */
import type { Sql } from "../store/mod.ts";
import { type Notice, NoticeBatch } from "./notice.ts";

/**
 * Held from the notices' insert to the commit: their ids are then committed in increasing order, so a reader that
 * saw id n has seen every committed id below it (`/api/stream` reads `where id > last`).
 */
const NOTICES_LOCK = 727004;

/** Inserts `notices` of `plugin` in `tx`, with their webhook deliveries; answers how many it stored. */
export async function storeNotices(tx: Sql, plugin: string, notices: Notice[]): Promise<number> {
  if (notices.length === 0) return 0;
  await tx.query(`select pg_catalog.pg_advisory_xact_lock(${NOTICES_LOCK})`);
  await tx.query(
    `with stored as (
       insert into host.notices (plugin, channel, payload)
       select $1, n.channel, n.payload::jsonb from unnest($2::text[], $3::text[]) with ordinality as n(channel, payload, i)
       order by n.i
       returning id, channel
     )
     insert into host.webhook_deliveries (webhook, notice_id)
     select w.name, s.id from stored s join host.webhooks w on w.plugin = $1 and w.channel = s.channel and w.enabled`,
    [plugin, notices.map((n) => n.channel), notices.map((n) => JSON.stringify(n.payload))],
  );
  return notices.length;
}

/**
 * Notices stored one by one as they come, each in its own transaction of `store` (scheduled work, whose statements
 * commit on their own too): `onNotice` takes the sandbox's messages; `settle` waits until each taken one is stored,
 * then throws the first problem, if any, which fails the call. Those stored before it stay.
 */
export function storeAtOnce(
  store: { transaction<R>(fn: (tx: Sql) => Promise<R>): Promise<R> },
  plugin: string,
  stored: (count: number) => void,
): { onNotice: (message: unknown) => void; settle: () => Promise<void> } {
  const batch = new NoticeBatch();
  let storing = Promise.resolve();
  let failure: Error | null = null; // kept, not thrown: the chain never rejects unhandled
  return {
    onNotice(message) {
      const notice = batch.add(message);
      if (notice === null) return;
      storing = storing.then(async () => {
        if (failure !== null) return;
        try {
          stored(await store.transaction((tx) => storeNotices(tx, plugin, [notice])));
        } catch (e) {
          failure = e as Error;
        }
      });
    },
    async settle() {
      await storing;
      if (failure !== null) throw failure;
      if (batch.error !== null) throw new Error(batch.error);
    },
  };
}
