/**
 * Sessions and their place in the default funnel, kept exact as events arrive in any order: a batch
 * recomputes every session it touches from the stored events.
 */
import { type Env, type Event, SESSION_GAP_MS } from "@runtime/sdk";
import { bestAttempt, type Timeline } from "./match.ts";

type Db = Env["db"];

/** The default funnel, per session: a page or product view, then add to cart, checkout and purchase. */
export const DEFAULT_STEPS = [
  { step: "view", types: ["page_view", "product_view"] },
  { step: "add_to_cart", types: ["add_to_cart"] },
  { step: "checkout", types: ["checkout"] },
  { step: "purchase", types: ["purchase"] },
] as const;

/** One stored event, as sessions are computed from it. */
type Stored = {
  user_id: string;
  session_id: string | null;
  ts: number;
  type: string;
  value: number;
  country: string | null;
  device: string | null;
};

/** A session row: its span, size, how far it went through the default funnel, and its cart. */
interface SessionRow {
  user_id: string;
  session_key: string;
  started_at: number;
  ended_at: number;
  events: number;
  /** When each default step was reached, in order; its length is the furthest step. */
  step_at: number[];
  has_cart: boolean;
  has_purchase: boolean;
  cart_value: number;
  country: string | null;
  device: string | null;
}

/** Bit mask of the default steps an event type matches. */
function defaultMask(type: string): number {
  return DEFAULT_STEPS.reduce((m, s, i) => (s.types as readonly string[]).includes(type) ? m | (1 << i) : m, 0);
}

/** Summarizes one session's events, sorted by time. */
function summarize(user: string, key: string, events: Stored[]): SessionRow {
  const timeline: Timeline = { ts: events.map((e) => e.ts), masks: events.map((e) => defaultMask(e.type)) };
  const best = bestAttempt(timeline, { steps: DEFAULT_STEPS.length, order: "sequential", windowMs: Infinity });
  return {
    user_id: user,
    session_key: key,
    started_at: events[0].ts,
    ended_at: events[events.length - 1].ts,
    events: events.length,
    step_at: best?.times ?? [],
    has_cart: events.some((e) => e.type === "add_to_cart"),
    has_purchase: events.some((e) => e.type === "purchase"),
    cart_value: Math.round(events.reduce((sum, e) => sum + e.value, 0) * 100) / 100,
    country: events.find((e) => e.country !== null)?.country ?? null,
    device: events.find((e) => e.device !== null)?.device ?? null,
  };
}

/** Splits one user's events without a session_id, sorted by time, at gaps of 30 minutes or more. */
export function splitByInactivity<T extends { ts: number }>(events: T[]): T[][] {
  const out: T[][] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (last && e.ts - last[last.length - 1].ts < SESSION_GAP_MS) last.push(e);
    else out.push([e]);
  }
  return out;
}

const STORED_COLUMNS = `user_id, session_id, (extract(epoch from ts) * 1000)::int8 as ts, type,
  case when type = 'add_to_cart'
    then coalesce((properties->>'price')::numeric * coalesce((properties->>'quantity')::numeric, 1), 0)
    else 0 end::float8 as value,
  properties->>'country' as country, properties->>'device' as device`;

/** Recomputes every session the batch's events (already stored) belong to or join. */
export async function updateSessions(db: Db, batch: Event[]): Promise<void> {
  const rows: SessionRow[] = [];
  const explicit = batch.filter((e) => e.session_id !== undefined);
  if (explicit.length > 0) {
    const pairs = [...new Map(explicit.map((e) => [JSON.stringify([e.user_id, e.session_id]), e])).values()];
    const stored = await db.query<Stored>(
      `select ${STORED_COLUMNS} from events
       where (user_id, session_id) in (select * from unnest($1::text[], $2::text[]))
       order by user_id, session_id, ts, event_id`,
      [pairs.map((e) => e.user_id), pairs.map((e) => e.session_id)],
    );
    for (const group of groupBy(stored, (e) => JSON.stringify([e.user_id, e.session_id]))) {
      rows.push(summarize(group[0].user_id, `s:${group[0].session_id}`, group));
    }
  }
  const inferred = batch.filter((e) => e.session_id === undefined);
  if (inferred.length > 0) {
    const spans = new Map<string, { lo: number; hi: number }>();
    for (const e of inferred) {
      const t = Date.parse(e.timestamp);
      const s = spans.get(e.user_id);
      spans.set(e.user_id, s ? { lo: Math.min(s.lo, t), hi: Math.max(s.hi, t) } : { lo: t, hi: t });
    }
    const users = [...spans.keys()];
    // The inferred sessions the new events fall in or next to; they are rebuilt over their whole span.
    const old = await db.query<{ user_id: string; lo: number; hi: number }>(
      `delete from sessions s
       using unnest($1::text[], $2::int8[], $3::int8[]) as b(user_id, lo, hi)
       where s.user_id = b.user_id and s.session_key like 'a:%'
         and s.ended_at > to_timestamp(b.lo / 1000.0) - $4::int8 * interval '1 millisecond'
         and s.started_at < to_timestamp(b.hi / 1000.0) + $4::int8 * interval '1 millisecond'
       returning s.user_id, (extract(epoch from s.started_at) * 1000)::int8 as lo,
         (extract(epoch from s.ended_at) * 1000)::int8 as hi`,
      [users, users.map((u) => spans.get(u)!.lo), users.map((u) => spans.get(u)!.hi), SESSION_GAP_MS],
    );
    for (const o of old) {
      const s = spans.get(o.user_id)!;
      spans.set(o.user_id, { lo: Math.min(s.lo, o.lo), hi: Math.max(s.hi, o.hi) });
    }
    const stored = await db.query<Stored>(
      `select ${STORED_COLUMNS} from events e
       join unnest($1::text[], $2::int8[], $3::int8[]) as b(u, lo, hi) on e.user_id = b.u
       where e.session_id is null and e.ts between to_timestamp(b.lo / 1000.0) and to_timestamp(b.hi / 1000.0)
       order by e.user_id, e.ts, e.event_id`,
      [users, users.map((u) => spans.get(u)!.lo), users.map((u) => spans.get(u)!.hi)],
    );
    for (const group of groupBy(stored, (e) => e.user_id)) {
      for (const s of splitByInactivity(group)) rows.push(summarize(s[0].user_id, `a:${s[0].ts}`, s));
    }
  }
  if (rows.length > 0) await saveSessions(db, rows);
}

/** Groups consecutive items with the same key. */
function groupBy<T>(items: T[], key: (item: T) => string): T[][] {
  const out: T[][] = [];
  let last: string | null = null;
  for (const item of items) {
    const k = key(item);
    if (k === last) out[out.length - 1].push(item);
    else out.push([item]);
    last = k;
  }
  return out;
}

async function saveSessions(db: Db, rows: SessionRow[]): Promise<void> {
  const at = (i: number) => rows.map((r) => r.step_at[i] ?? null);
  await db.query(
    `insert into sessions (user_id, session_key, started_at, ended_at, events, reached, view_at, cart_at,
       checkout_at, purchase_at, has_cart, has_purchase, cart_value, country, device)
     select user_id, session_key, to_timestamp(started / 1000.0), to_timestamp(ended / 1000.0), events, reached,
       to_timestamp(v / 1000.0), to_timestamp(c / 1000.0), to_timestamp(k / 1000.0), to_timestamp(p / 1000.0),
       has_cart, has_purchase, cart_value, country, device
     from unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int4[], $6::int2[], $7::int8[], $8::int8[],
                 $9::int8[], $10::int8[], $11::bool[], $12::bool[], $13::numeric[], $14::text[], $15::text[])
       as r(user_id, session_key, started, ended, events, reached, v, c, k, p, has_cart, has_purchase, cart_value,
            country, device)
     on conflict (user_id, session_key) do update set
       started_at = excluded.started_at, ended_at = excluded.ended_at, events = excluded.events,
       reached = excluded.reached, view_at = excluded.view_at, cart_at = excluded.cart_at,
       checkout_at = excluded.checkout_at, purchase_at = excluded.purchase_at, has_cart = excluded.has_cart,
       has_purchase = excluded.has_purchase, cart_value = excluded.cart_value, country = excluded.country,
       device = excluded.device`,
    [
      rows.map((r) => r.user_id),
      rows.map((r) => r.session_key),
      rows.map((r) => r.started_at),
      rows.map((r) => r.ended_at),
      rows.map((r) => r.events),
      rows.map((r) => r.step_at.length),
      at(0),
      at(1),
      at(2),
      at(3),
      rows.map((r) => r.has_cart),
      rows.map((r) => r.has_purchase),
      rows.map((r) => r.cart_value),
      rows.map((r) => r.country),
      rows.map((r) => r.device),
    ],
  );
}
