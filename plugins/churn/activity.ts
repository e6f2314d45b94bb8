/**
 * What churn keeps of the events: activity per user and day, and sessions, exact in any arrival order. Each
 * batch is folded here, in the sandbox, into one row per user and day and one per session, so the SQL (run by
 * the host, serially for every plugin) touches each of those once; spend stays an exact decimal sum.
 */
import { type Env, type Event, type Interval, mergeSessions } from "@runtime/sdk";
import { decimalSum } from "./decimal.ts";
import { atMs, dayOf, fold, key } from "./fold.ts";

type Db = Env["db"];

/** An event and its instant (ms). */
type Timed = { e: Event; ms: number };

/** Adds the batch to the per-day activity of its users, and to their sessions. */
export async function recordActivity(db: Db, batch: Event[]): Promise<void> {
  const timed = batch.map((e) => ({ e, ms: Date.parse(e.timestamp) }));
  const days = fold(
    timed,
    ({ e, ms }) => key(e.user_id, dayOf(ms)),
    ({ e, ms }) => ({
      user: e.user_id,
      day: dayOf(ms),
      events: 0,
      views: 0,
      carts: 0,
      amounts: [] as number[],
      last: ms,
    }),
    (d, { e, ms }) => {
      d.events++;
      if (e.type === "page_view" || e.type === "product_view") d.views++;
      if (e.type === "add_to_cart") d.carts++;
      if (e.type === "purchase") d.amounts.push(e.properties.amount ?? 0);
      d.last = Math.max(d.last, ms);
    },
  );
  await db.query(
    `insert into activity (user_id, day, events, views, carts, purchases, spend, last_ts)
     select user_id, date '1970-01-01' + day, events, views, carts, purchases, spend, ${atMs("last_ms")}
     from unnest($1::text[], $2::int4[], $3::int4[], $4::int4[], $5::int4[], $6::int4[], $7::numeric[], $8::int8[])
       as a(user_id, day, events, views, carts, purchases, spend, last_ms)
     on conflict (user_id, day) do update set
       events = activity.events + excluded.events, views = activity.views + excluded.views,
       carts = activity.carts + excluded.carts, purchases = activity.purchases + excluded.purchases,
       spend = activity.spend + excluded.spend, last_ts = greatest(activity.last_ts, excluded.last_ts)`,
    [
      days.map((d) => d.user),
      days.map((d) => d.day),
      days.map((d) => d.events),
      days.map((d) => d.views),
      days.map((d) => d.carts),
      days.map((d) => d.amounts.length),
      days.map((d) => decimalSum(d.amounts)),
      days.map((d) => d.last),
    ],
  );
  await explicitSessions(db, timed.filter(({ e }) => e.session_id !== undefined));
  await inferredSessions(db, timed.filter(({ e }) => e.session_id === undefined));
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

/** One event as the part of a session it makes. */
const partOf = ({ e, ms }: Timed): Session => ({
  start: ms,
  end: ms,
  events: 1,
  carted: e.type === "add_to_cart",
  purchased: e.type === "purchase",
});

/** Sessions with a session_id: one row per session, its span and counts merged into what is stored. */
async function explicitSessions(db: Db, events: Timed[]): Promise<void> {
  if (events.length === 0) return;
  const sessions = fold(
    events,
    ({ e }) => key(e.user_id, e.session_id),
    (t) => ({ user: t.e.user_id, key: `s:${t.e.session_id}`, ...partOf(t), events: 0 }),
    (s, t) => {
      combine(s, partOf(t));
      s.start = Math.min(s.start, t.ms);
      s.end = Math.max(s.end, t.ms);
    },
  );
  await db.query(
    `insert into sessions (user_id, session_key, explicit, started_at, ended_at, events, carted, purchased)
     select user_id, session_key, true, ${atMs("start_ms")}, ${atMs("end_ms")}, events, carted, purchased
     from unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int4[], $6::bool[], $7::bool[])
       as s(user_id, session_key, start_ms, end_ms, events, carted, purchased)
     on conflict (user_id, session_key) do update set
       started_at = least(sessions.started_at, excluded.started_at),
       ended_at = greatest(sessions.ended_at, excluded.ended_at), events = sessions.events + excluded.events,
       carted = sessions.carted or excluded.carted, purchased = sessions.purchased or excluded.purchased`,
    [
      sessions.map((s) => s.user),
      sessions.map((s) => s.key),
      sessions.map((s) => s.start),
      sessions.map((s) => s.end),
      sessions.map((s) => s.events),
      sessions.map((s) => s.carted),
      sessions.map((s) => s.purchased),
    ],
  );
}

/** Merges events without a session_id into their users' inferred sessions. */
async function inferredSessions(db: Db, events: Timed[]): Promise<void> {
  if (events.length === 0) return;
  const users = fold(events, ({ e }) => e.user_id, ({ e }) => ({ user: e.user_id, parts: [] as Session[] }), (u, t) => {
    u.parts.push(partOf(t));
  });
  // The stored inferred sessions the new events fall in or next to: taken out, merged, written back.
  const old = await db.query<
    { i: number; lo: number; hi: number; events: number; carted: boolean; purchased: boolean }
  >(
    `delete from sessions s
     using unnest($1::text[], $2::int8[], $3::int8[]) with ordinality as b(user_id, lo, hi, i)
     where s.user_id = b.user_id and not s.explicit
       and s.ended_at > ${atMs("b.lo")} - interval '30 minutes' and s.started_at < ${
      atMs("b.hi")
    } + interval '30 minutes'
     returning b.i, (extract(epoch from s.started_at) * 1000)::int8 as lo,
       (extract(epoch from s.ended_at) * 1000)::int8 as hi, s.events, s.carted, s.purchased`,
    [
      users.map((u) => u.user),
      users.map((u) => Math.min(...u.parts.map((p) => p.start))),
      users.map((u) => Math.max(...u.parts.map((p) => p.start))),
    ],
  );
  for (const o of old) {
    users[o.i - 1].parts.push({ start: o.lo, end: o.hi, events: o.events, carted: o.carted, purchased: o.purchased });
  }
  const rows = users.flatMap((u) => mergeSessions(u.parts, combine).map((s) => ({ user: u.user, ...s })));
  await db.query(
    `insert into sessions (user_id, session_key, explicit, started_at, ended_at, events, carted, purchased)
     select user_id, 'a:' || lo, false, ${atMs("lo")}, ${atMs("hi")}, events, carted, purchased
     from unnest($1::text[], $2::int8[], $3::int8[], $4::int4[], $5::bool[], $6::bool[])
       as r(user_id, lo, hi, events, carted, purchased)`,
    [
      rows.map((r) => r.user),
      rows.map((r) => r.start),
      rows.map((r) => r.end),
      rows.map((r) => r.events),
      rows.map((r) => r.carted),
      rows.map((r) => r.purchased),
    ],
  );
}
