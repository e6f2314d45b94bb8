/** What churn keeps of the events: activity per user and day, and sessions, exact in any arrival order. */
import { type Env, type Event, type Interval, mergeSessions, SESSION_GAP_MS } from "@runtime/sdk";

type Db = Env["db"];

/** Adds the batch to the per-day activity of its users. */
export async function recordActivity(db: Db, batch: Event[]): Promise<void> {
  await db.query(
    `insert into activity (user_id, day, events, views, carts, purchases, spend, last_ts)
     select user_id, (ts at time zone 'UTC')::date, count(*),
       count(*) filter (where type in ('page_view', 'product_view')), count(*) filter (where type = 'add_to_cart'),
       count(*) filter (where type = 'purchase'), coalesce(sum(amount), 0), max(ts)
     from unnest($1::text[], $2::timestamptz[], $3::text[], $4::numeric[]) as e(user_id, ts, type, amount)
     group by 1, 2
     on conflict (user_id, day) do update set
       events = activity.events + excluded.events, views = activity.views + excluded.views,
       carts = activity.carts + excluded.carts, purchases = activity.purchases + excluded.purchases,
       spend = activity.spend + excluded.spend, last_ts = greatest(activity.last_ts, excluded.last_ts)`,
    [
      batch.map((e) => e.user_id),
      batch.map((e) => e.timestamp),
      batch.map((e) => e.type),
      batch.map((e) => e.type === "purchase" ? e.properties.amount ?? 0 : null),
    ],
  );
  await recordSessions(db, batch);
}

/** A session's span and what churn counts in it. */
interface Session extends Interval {
  events: number;
  carted: boolean;
  purchased: boolean;
}

const combine = (into: Session, from: Session) => {
  into.events += from.events;
  into.carted ||= from.carted;
  into.purchased ||= from.purchased;
};

async function recordSessions(db: Db, batch: Event[]): Promise<void> {
  const explicit = batch.filter((e) => e.session_id !== undefined);
  if (explicit.length > 0) {
    await db.query(
      `insert into sessions (user_id, session_key, explicit, started_at, ended_at, events, carted, purchased)
       select user_id, 's:' || sid, true, min(ts), max(ts), count(*), bool_or(type = 'add_to_cart'),
         bool_or(type = 'purchase')
       from unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[]) as e(user_id, sid, ts, type)
       group by 1, 2
       on conflict (user_id, session_key) do update set
         started_at = least(sessions.started_at, excluded.started_at),
         ended_at = greatest(sessions.ended_at, excluded.ended_at), events = sessions.events + excluded.events,
         carted = sessions.carted or excluded.carted, purchased = sessions.purchased or excluded.purchased`,
      [
        explicit.map((e) => e.user_id),
        explicit.map((e) => e.session_id),
        explicit.map((e) => e.timestamp),
        explicit.map((e) => e.type),
      ],
    );
  }
  const inferred = new Map<string, Session[]>();
  for (const e of batch) {
    if (e.session_id !== undefined) continue;
    const t = Date.parse(e.timestamp);
    const list = inferred.get(e.user_id) ?? [];
    list.push({ start: t, end: t, events: 1, carted: e.type === "add_to_cart", purchased: e.type === "purchase" });
    inferred.set(e.user_id, list);
  }
  if (inferred.size === 0) return;
  const users = [...inferred.keys()];
  const span = (u: string, pick: (...xs: number[]) => number) => pick(...inferred.get(u)!.map((i) => i.start));
  // The stored inferred sessions the new events fall in or next to: taken out, merged, written back.
  const old = await db.query<
    { user_id: string; lo: number; hi: number; events: number; carted: boolean; purchased: boolean }
  >(
    `delete from sessions s
     using unnest($1::text[], $2::int8[], $3::int8[]) as b(user_id, lo, hi)
     where s.user_id = b.user_id and not s.explicit
       and s.ended_at > to_timestamp(b.lo / 1000.0) - $4::int8 * interval '1 millisecond'
       and s.started_at < to_timestamp(b.hi / 1000.0) + $4::int8 * interval '1 millisecond'
     returning s.user_id, (extract(epoch from s.started_at) * 1000)::int8 as lo,
       (extract(epoch from s.ended_at) * 1000)::int8 as hi, s.events, s.carted, s.purchased`,
    [users, users.map((u) => span(u, Math.min)), users.map((u) => span(u, Math.max)), SESSION_GAP_MS],
  );
  for (const o of old) {
    inferred.get(o.user_id)!.push({
      start: o.lo,
      end: o.hi,
      events: o.events,
      carted: o.carted,
      purchased: o.purchased,
    });
  }
  const rows = [...inferred].flatMap(([user_id, list]) => mergeSessions(list, combine).map((s) => ({ user_id, ...s })));
  await db.query(
    `insert into sessions (user_id, session_key, explicit, started_at, ended_at, events, carted, purchased)
     select user_id, 'a:' || lo, false, to_timestamp(lo / 1000.0), to_timestamp(hi / 1000.0), events, carted, purchased
     from unnest($1::text[], $2::int8[], $3::int8[], $4::int4[], $5::bool[], $6::bool[])
       as r(user_id, lo, hi, events, carted, purchased)`,
    [
      rows.map((r) => r.user_id),
      rows.map((r) => r.start),
      rows.map((r) => r.end),
      rows.map((r) => r.events),
      rows.map((r) => r.carted),
      rows.map((r) => r.purchased),
    ],
  );
}
