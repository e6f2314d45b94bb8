/**
 * Notices: what plugins push out. A plugin calls `env.notify(channel, payload)` in `queue`, `merge` or `scheduled`;
 * the host checks each notice and stores a call's notices together in `host.notices` (the outbox): in the transaction
 * of the batch that made them, or in one of a scheduled run's own, so a notice exists exactly when its call succeeded.
 * They count against the plugin's storage quota and a budget per minute, and are deleted after a retention period once
 * delivered. From there `/api/stream` sends each to the dashboard and the webhooks deliver it (see
 * `runtime/webhooks/`). A plugin only emits, on its own name; where notices go is the operators' to decide.
 * @module
 */
export {
  callProblem,
  checkNotice,
  MAX_NOTICE_BYTES,
  MAX_NOTICES_PER_CALL,
  type Notice,
  NOTICE_BUDGET_BYTES,
  NOTICE_BUDGET_WINDOW_MS,
  NOTICE_CHANNEL,
  NoticeBatch,
  noticeProblem,
  type StoredNotice,
} from "./notice.ts";
export { chargeNotices, type NoticeQuota, NoticesRefused } from "./budget.ts";
export { storeNotices } from "./outbox.ts";
export { NOTICE_RETENTION_MS, NoticeRetention, PRUNE_EVERY_MS, pruneNotices } from "./retention.ts";
export { NoticeFeed, NoticeSubscription } from "./feed.ts";
