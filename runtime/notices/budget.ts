/**
 * What a plugin's notices may take, checked by the host as it stores them, in the storing transaction: a notice is the
 * plugin's storage as much as its tables are, so its stored notices count against its storage quota, and it may store
 * at most {@linkcode NOTICE_BUDGET_BYTES} per {@linkcode NOTICE_BUDGET_WINDOW_MS}. Both live in `host.notice_usage`,
 * one row per plugin: `bytes` is the total of its stored notices (kept by triggers on `host.notices`, whoever inserts
 * or deletes), `window_start` and `window_bytes` its spending in the current window. So the check costs one row
 * whatever the size of `host.notices`, and holds across processes sharing a database.
 */
import type { Sql } from "../store/mod.ts";
import { NOTICE_BUDGET_BYTES, NOTICE_BUDGET_WINDOW_MS } from "./notice.ts";

/** A plugin's storage quota, and what its own schema takes of it (last measured). */
export interface NoticeQuota {
  limitBytes: number;
  schemaBytes: number;
}

/** Notices the host refused to store: the plugin is over its storage quota, or its notice budget. */
export class NoticesRefused extends Error {
  /**
   * `retryInMs`: when the same notices could be taken (over the budget: when its window ends; over the quota: 0, once
   * it is under again), or null when never (they alone are over the budget): then they are the call's fault.
   */
  constructor(message: string, readonly retryInMs: number | null) {
    super(message);
  }
}

const MIB = 1024 * 1024;

/**
 * Charges `bytes` of notices to `plugin` in `tx`, which then stores them; throws {@linkcode NoticesRefused} when they
 * may not be stored: while the plugin is over its `quota` (its schema and its stored notices), or when they would take
 * its spending in the current window past the budget. The plugin's row stays locked until `tx` ends, which orders the
 * charges of one plugin in every process.
 */
export async function chargeNotices(tx: Sql, plugin: string, bytes: number, quota?: NoticeQuota): Promise<void> {
  const window = `${NOTICE_BUDGET_WINDOW_MS} * interval '1 millisecond'`;
  // Made if missing, else locked (an update that changes nothing), and read: one statement.
  const [usage] = await tx.query<{ stored: number; spent: number; resets_in_ms: number }>(
    `insert into host.notice_usage as u (plugin) values ($1) on conflict (plugin) do update set plugin = u.plugin
     returning u.bytes as stored, case when u.window_start > now() - ${window} then u.window_bytes else 0 end as spent,
       greatest(0, extract(epoch from u.window_start + ${window} - now()) * 1000)::int8 as resets_in_ms`,
    [plugin],
  );
  const mib = (n: number) => (n / MIB).toFixed(1);
  if (quota && quota.schemaBytes + usage.stored > quota.limitBytes) {
    const used = mib(quota.schemaBytes + usage.stored);
    throw new NoticesRefused(
      `plugin ${plugin}: notify: over its storage quota: ${used} MiB used of ${mib(quota.limitBytes)} MiB, ` +
        `${mib(usage.stored)} MiB of it notices; its notices are refused until it is under`,
      0,
    );
  }
  if (usage.spent + bytes > NOTICE_BUDGET_BYTES) {
    const alone = bytes > NOTICE_BUDGET_BYTES;
    throw new NoticesRefused(
      `plugin ${plugin}: notify: over its notice budget of ${mib(NOTICE_BUDGET_BYTES)} MiB per minute: ` +
        (alone
          ? `one call's ${bytes} bytes can never fit`
          : `${usage.spent} bytes stored this minute, ${bytes} more refused; the budget renews in ` +
            `${Math.ceil(usage.resets_in_ms / 1000)} s`),
      alone ? null : usage.resets_in_ms,
    );
  }
  await tx.query(
    `update host.notice_usage set
       window_bytes = case when window_start > now() - ${window} then window_bytes else 0 end + $2,
       window_start = case when window_start > now() - ${window} then window_start else now() end
     where plugin = $1`,
    [plugin, bytes],
  );
}
