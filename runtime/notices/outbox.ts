/**
 * The transactional outbox: a call's notices go into `host.notices` together, in the transaction that holds the call's
 * writes (a batch's, with its checkpoint) or in one of their own (a scheduled run's), as the host, so a notice exists
 * exactly when its call succeeded. First they are charged to the plugin's quota and budget (see `budget.ts`); in the
 * same statement as the insert, each notice gets a delivery row per enabled webhook subscribed to its plugin and
 * channel.
 */
import type { Sql } from "../store/mod.ts";
import { chargeNotices, type NoticeQuota } from "./budget.ts";
import type { Notice } from "./notice.ts";

/**
 * Held from the notices' insert to the commit: their ids are then committed in increasing order, so a reader that
 * saw id n has seen every committed id below it (`/api/stream` reads `where id > last`).
 */
const NOTICES_LOCK = 727004;

/**
 * Inserts `notices` of `plugin` in `tx`, with their webhook deliveries; answers how many it stored. Throws
 * `NoticesRefused` (see `budget.ts`) when the plugin is over its `quota`, or they are over its budget.
 */
export async function storeNotices(tx: Sql, plugin: string, notices: Notice[], quota?: NoticeQuota): Promise<number> {
  if (notices.length === 0) return 0;
  const payloads = notices.map((n) => JSON.stringify(n.payload));
  const encoder = new TextEncoder();
  const bytes = payloads.reduce((sum, p) => sum + encoder.encode(p).length, 0);
  await chargeNotices(tx, plugin, bytes, quota); // before the lock: refused notices hold up no other plugin's
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
    [plugin, notices.map((n) => n.channel), payloads],
  );
  return notices.length;
}
