/**
 * Notices: what plugins push out. A plugin calls `env.notify(channel, payload)` in `queue`, `merge` or `scheduled`;
 * the host checks each notice and stores it in `host.notices` in the transaction of the batch that made it (the
 * outbox), so a notice exists exactly when its batch committed. From there `/api/stream` sends it to the dashboard and
 * the webhooks deliver it (see `runtime/webhooks/`). A plugin only emits, on its own name; where notices go is the
 * operators' to decide.
 * @module
 */
export {
  MAX_NOTICE_BYTES,
  MAX_NOTICES_PER_CALL,
  type Notice,
  NOTICE_CHANNEL,
  NoticeBatch,
  noticeProblem,
  type StoredNotice,
} from "./notice.ts";
export { storeAtOnce, storeNotices } from "./outbox.ts";
export { NoticeFeed, NoticeSubscription } from "./feed.ts";
