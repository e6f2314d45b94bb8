/**
 * Dead letters: what the runtime could not take, kept with the reason (rejected at ingest or by a transform, failed in
 * a plugin, undeliverable to a webhook), and retried until resolved: by the retrier's loop on a backoff, or by an
 * operator with a corrected payload. Each letter goes pending → retrying → resolved, or dead once its retries are spent.
 * @module
 */
export {
  claimDue,
  DEFAULT_RETRY_POLICY,
  type FailedRetry,
  LETTER_STATES,
  type LetterState,
  recordFailures,
  RESOLVE,
  RETRIED_STAGES,
  type RetryPolicy,
} from "./lifecycle.ts";
export { type Letter, letterItems, type ReplayParts, ReplayRequest, type ReplayResult } from "./replay.ts";
export { DeadLetterRetrier } from "./retrier.ts";
