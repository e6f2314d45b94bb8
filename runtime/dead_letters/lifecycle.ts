/**
 * A dead letter's lifecycle. It is stored `pending`. Each replay of it, by an operator or by the retrier, is a retry:
 * one that succeeds makes it `resolved` (its `replayed_at` set); one that fails counts in `retries`, keeps the error in
 * `last_error`, and makes it `retrying`, due again after a backoff that grows fourfold each time, or `dead` once the
 * retries are spent, when no retry of it as stored can succeed, or when it is not of a stage the retrier takes. A dead
 * letter is retried only when someone replays it.
 *
 * The retrier takes the letters of ingest and of transforms: what refused them (a currency without a rate, a
 * transform's bug) can be fixed by configuration or a deploy, after which the next retry takes them. A plugin's and a
 * webhook's letters were already retried by the runner or the deliverer; an automatic retry of a plugin's would run an
 * event that may crash it through it again, and one of a webhook's would hand the notice back to the deliverer, which
 * would make a new letter. Theirs are replayed by an operator.
 *
 * A letter is resolved once `replayed_at` is set, whatever its state says: a process of the version before this one,
 * during a rolling upgrade, sets only that.
 * @module
 */
import type { Store } from "../store/mod.ts";

/** The states a dead letter goes through. */
export const LETTER_STATES = ["pending", "retrying", "dead", "resolved"] as const;

/** A dead letter's state. */
export type LetterState = typeof LETTER_STATES[number];

/** How dead letters are retried. */
export interface RetryPolicy {
  /** Retries before a letter is dead (0: none automatically; a failed replay makes it dead). */
  retries: number;
  /** The wait before the first automatic retry (ms); each next one waits four times as long, at most a day. */
  baseMs: number;
}

/** 5 retries, the first after a minute: the last about 5.7 hours after the letter. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 5, baseMs: 60_000 };

/** SQL: the letters the retrier takes, by their stage. */
export const RETRIED_STAGES = "(stage = 'ingest' or stage like 'transform:%')";

/** The longest wait between two retries (ms). */
const MAX_BACKOFF_MS = 24 * 60 * 60 * 1000;

/**
 * The assignments that resolve a letter, in an `update host.dead_letters set …` that also requires `replayed_at is
 * null` (so that two replays at once resolve it once, with a process of the version before too).
 */
export const RESOLVE = "replayed_at = now(), state = 'resolved', retries = retries + 1, last_retry_at = now(), " +
  "next_retry_at = null";

/** A failed retry of a letter: why, and whether a retry as stored can never succeed (the letter is then dead). */
export interface FailedRetry {
  id: number;
  error: string;
  final: boolean;
}

/**
 * Records failed retries: each letter not resolved meanwhile counts one more and becomes retrying, due again after
 * `baseMs` × 4 to the power of its retries, or dead.
 */
export async function recordFailures(
  store: Pick<Store, "query">,
  failures: FailedRetry[],
  policy: RetryPolicy,
): Promise<void> {
  if (failures.length === 0) return;
  // Decided on the row as updated (`d`, after any lock wait), not as first read: two failures at once count twice.
  const dead = `(f.final or d.retries + 1 >= $4 or not ${RETRIED_STAGES.replaceAll("stage", "d.stage")})`;
  await store.query(
    `update host.dead_letters d
     set retries = d.retries + 1, last_error = f.error, last_retry_at = now(),
       state = case when ${dead} then 'dead' else 'retrying' end,
       next_retry_at = case when ${dead} then null
         else now() + least($5::float8 * power(4, d.retries + 1), $6::float8) * interval '1 millisecond' end
     from unnest($1::int8[], $2::text[], $3::bool[]) as f(id, error, final)
     where d.id = f.id and d.replayed_at is null`,
    [
      failures.map((f) => f.id),
      failures.map((f) => f.error),
      failures.map((f) => f.final),
      policy.retries,
      policy.baseMs,
      MAX_BACKOFF_MS,
    ],
  );
}

/** How long a claimed letter is kept from other processes' retriers while one retries it (ms). */
const LEASE_MS = 5 * 60 * 1000;

/**
 * Claims up to `limit` letters due for an automatic retry, for {@linkcode LEASE_MS} (another process's retrier skips
 * them meanwhile; one that crashed leaves them due again after it): pending ones of the stages retried `baseMs` after
 * they were stored, and retrying ones at their `next_retry_at`.
 */
export async function claimDue(store: Pick<Store, "query">, policy: RetryPolicy, limit: number): Promise<number[]> {
  const rows = await store.query<{ id: number }>(
    `with fresh as (
       select id from host.dead_letters
       where state = 'pending' and ${RETRIED_STAGES} and created_at <= now() - $1::float8 * interval '1 millisecond'
         and (next_retry_at is null or next_retry_at <= now()) and replayed_at is null
       order by created_at limit $2 for update skip locked
     ), again as (
       select id from host.dead_letters
       where state = 'retrying' and next_retry_at <= now() and replayed_at is null
       order by next_retry_at limit $2 for update skip locked
     ), due as (select id from fresh union all select id from again order by id limit $2)
     update host.dead_letters d set next_retry_at = now() + $3::float8 * interval '1 millisecond'
     from due where d.id = due.id returning d.id`,
    [policy.baseMs, limit, LEASE_MS],
  );
  return rows.map((r) => r.id).sort((a, b) => a - b);
}
