/**
 * The delivery log in `host.webhook_deliveries`: one row per notice and subscribed webhook, made with the notice (see
 * `notices/outbox.ts`). A process claims due rows for an attempt by moving their next attempt a lease ahead, under
 * `for update skip locked`, so with several processes on one database each delivery is attempted by one at a time; a
 * process that dies mid-attempt leaves the row to be claimed again when the lease runs out. Each outcome is recorded
 * only while the lease is still the claimer's.
 */
import { insertDeadLetters } from "../core/event_log.ts";
import type { StoredNotice } from "../notices/mod.ts";
import type { Sql, Store } from "../store/mod.ts";

/** A delivery's state: not tried yet, failed and waiting for its next attempt, delivered, or given up. */
export type DeliveryStatus = "pending" | "retrying" | "delivered" | "dead";

/** A delivery claimed for one attempt. */
export interface Claim {
  webhook: string;
  /** Attempts so far, this one included. */
  attempts: number;
  /** Where, and with what secret, it goes (as the webhook stands now). */
  url: string;
  secret: string;
  notice: StoredNotice;
  /** The claimer's lease: its outcome is recorded only while the row still holds it. */
  lease: string;
}

/** What an attempt came to. */
export interface Outcome {
  /** The receiver's HTTP status, or null when none answered. */
  status: number | null;
  /** Why it failed, or null when delivered. */
  error: string | null;
}

/** Claims up to `limit` due deliveries of enabled webhooks for one attempt each, leased for `leaseMs`. */
export async function claimDue(
  store: Pick<Store, "query">,
  limit: number,
  leaseMs: number,
  fair: { perWebhook: number; busy: ReadonlyMap<string, number> } = { perWebhook: limit, busy: new Map() },
): Promise<Claim[]> {
  // Most polls find nothing due: a look at the index first, rather than planning the claim (on embedded PGlite the
  // claim took tens of milliseconds of the one database thread, four times a second, with no webhook at all).
  const [{ due }] = await store.query<{ due: boolean }>(
    `select exists (select 1 from host.webhook_deliveries
                    where next_attempt_at <= now() and status in ('pending', 'retrying')) as due`,
  );
  if (!due) return [];
  const lease = crypto.randomUUID();
  const rows = await store.query<
    Omit<Claim, "notice" | "lease"> & { id: number; plugin: string; channel: string; payload: never; at: Date }
  >(
    `with ranked as (
       -- Fair: each webhook's oldest due deliveries, as many as its free slots; none waits behind another's backlog.
       select d.webhook, d.notice_id, d.next_attempt_at,
         row_number() over (partition by d.webhook order by d.next_attempt_at, d.notice_id) as k
       from host.webhook_deliveries d join host.webhooks w on w.name = d.webhook
       where d.status in ('pending', 'retrying') and d.next_attempt_at <= now() and w.enabled
     ), due as (
       select d.webhook, d.notice_id from host.webhook_deliveries d
       join ranked r on r.webhook = d.webhook and r.notice_id = d.notice_id
       left join unnest($4::text[], $5::int4[]) as b(webhook, busy) on b.webhook = d.webhook
       -- Due and unchanged here, on the row locked: another process may have claimed it (and committed) since this
       -- statement's snapshot ranked it, and the lock rechecks only the conditions on the locked row.
       where r.k <= $6 - coalesce(b.busy, 0) and d.status in ('pending', 'retrying') and d.next_attempt_at <= now()
         and d.next_attempt_at = r.next_attempt_at
       order by r.next_attempt_at, d.notice_id limit $1
       for update of d skip locked
     )
     update host.webhook_deliveries d
     set attempts = d.attempts + 1, lease = $2::uuid, next_attempt_at = now() + $3::float8 * interval '1 millisecond'
     from due, host.webhooks w, host.notices n
     where d.webhook = due.webhook and d.notice_id = due.notice_id and w.name = d.webhook and n.id = d.notice_id
     returning d.webhook, d.attempts, w.url, w.secret, n.id, n.plugin, n.channel, n.payload, n.created_at as at`,
    [limit, lease, leaseMs, [...fair.busy.keys()], [...fair.busy.values()], fair.perWebhook],
  );
  return rows.map((r) => ({
    webhook: r.webhook,
    attempts: r.attempts,
    url: r.url,
    secret: r.secret,
    lease,
    notice: {
      id: r.id,
      plugin: r.plugin,
      channel: r.channel,
      payload: r.payload,
      created_at: new Date(r.at).toISOString(),
    },
  }));
}

const OWN = "webhook = $1 and notice_id = $2 and lease = $3::uuid";

/** Records a delivered attempt. */
export async function recordDelivered(store: Pick<Store, "query">, claim: Claim, outcome: Outcome): Promise<void> {
  await store.query(
    `update host.webhook_deliveries set status = 'delivered', delivered_at = now(), next_attempt_at = null,
       lease = null, last_status = $4, last_error = null
     where ${OWN}`,
    [claim.webhook, claim.notice.id, claim.lease, outcome.status],
  );
}

/** Records a failed attempt, with the next one `delayMs` from now. */
export async function recordRetry(
  store: Pick<Store, "query">,
  claim: Claim,
  outcome: Outcome,
  delayMs: number,
): Promise<void> {
  await store.query(
    `update host.webhook_deliveries set status = 'retrying', next_attempt_at = now() + $6::float8 * interval '1 millisecond',
       lease = null, last_status = $4, last_error = $5
     where ${OWN}`,
    [claim.webhook, claim.notice.id, claim.lease, outcome.status, outcome.error, delayMs],
  );
}

/**
 * Records the last failed attempt: the delivery is dead, and in the same transaction a dead letter (stage
 * `webhook:<name>`, the error as its reason, the notice as its payload) tells operators, who replay it once the
 * receiver is fixed. Answers whether it was still the claimer's to record.
 */
export function recordDead(store: Pick<Store, "transaction">, claim: Claim, outcome: Outcome): Promise<boolean> {
  return store.transaction(async (tx) => {
    const dead = await tx.query(
      `update host.webhook_deliveries set status = 'dead', next_attempt_at = null, lease = null, last_status = $4,
         last_error = $5
       where ${OWN} returning notice_id`,
      [claim.webhook, claim.notice.id, claim.lease, outcome.status, outcome.error],
    );
    if (dead.length === 0) return false;
    await insertDeadLetters(tx, [{ stage: `webhook:${claim.webhook}`, reason: outcome.error!, payload: claim.notice }]);
    return true;
  });
}

/** Gives a claim back untried (the process is stopping): due again at once, its attempt not counted. */
export async function releaseClaim(store: Pick<Store, "query">, claim: Claim): Promise<void> {
  await store.query(
    `update host.webhook_deliveries set attempts = attempts - 1, next_attempt_at = now(), lease = null where ${OWN}`,
    [claim.webhook, claim.notice.id, claim.lease],
  );
}

/**
 * Puts a dead delivery back to pending with its attempts at 0 (a webhook dead letter is being replayed); answers why it
 * cannot be, or null when done.
 */
export async function requeueDead(tx: Sql, webhook: string, noticeId: number): Promise<string | null> {
  const [row] = await tx.query<{ status: DeliveryStatus }>(
    "select status from host.webhook_deliveries where webhook = $1 and notice_id = $2 for update",
    [webhook, noticeId],
  );
  if (!row) return `webhook '${webhook}' has no delivery of notice ${noticeId}: the webhook was deleted`;
  if (row.status !== "dead") return `the delivery of notice ${noticeId} to webhook '${webhook}' is ${row.status}`;
  await tx.query(
    `update host.webhook_deliveries set status = 'pending', attempts = 0, next_attempt_at = now(), lease = null
     where webhook = $1 and notice_id = $2`,
    [webhook, noticeId],
  );
  return null;
}
