/**
 * What churn keeps of the events: activity per user and day, and sessions, exact in any arrival order. Each
 * batch is folded here, in the sandbox, into one row per user and day and one per session, so the SQL (run by
 * the host, serially for every plugin) touches each of those once; spend stays an exact decimal sum.
 */
import { atMs, decimalSum, type Env, type Event, fold, type Interval, key, mergeSessions } from "@runtime/sdk";
import { dayOf } from "./buckets.ts";
import type { Model } from "./model.ts";

type Db = Env["db"];

/** An event and its instant (ms). */
type Timed = { e: Event; ms: number };

/**
 * The clock after a batch (the day last rescored; `now`, the end of the dense history before the batch, in epoch ms)
 * and the live model.
 */
export type Clock = {
  now: number | null;
  rescored: string | null;
  version: number | null;
  model: Model | null;
};

/**
 * Adds the batch to the per-day activity of its users and to their sessions, and moves the clock: one
 * statement, after one taking out the inferred sessions the batch merges into. Answers the clock, and the
 * live model with it.
 */
export async function recordActivity(db: Db, batch: Event[]): Promise<Clock> {
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
  const explicit = fold(
    timed.filter(({ e }) => e.session_id !== undefined),
    ({ e }) => key(e.user_id, e.session_id),
    (t) => ({ user: t.e.user_id, key: `s:${t.e.session_id}`, ...partOf(t), events: 0 }),
    (s, t) => {
      combine(s, partOf(t));
      s.start = Math.min(s.start, t.ms);
      s.end = Math.max(s.end, t.ms);
    },
  );
  const inferred = await mergeInferred(
    db,
    fold(
      timed.filter(({ e }) => e.session_id === undefined),
      ({ e }) => e.user_id,
      ({ e }) => ({ user: e.user_id, parts: [] as Session[] }),
      (u, t) => void u.parts.push(partOf(t)),
    ),
  );
  const latest = batch.reduce((t, e) => e.timestamp > t ? e.timestamp : t, batch[0].timestamp);
  const [clock] = await db.query<Clock>(
    `with user_days as (
       insert into activity (user_id, day, events, views, carts, purchases, spend, last_ts)
       select user_id, date '1970-01-01' + day, events, views, carts, purchases, spend, ${atMs("last_ms")}
       from unnest($1::text[], $2::int4[], $3::int4[], $4::int4[], $5::int4[], $6::int4[], $7::numeric[], $8::int8[])
         as a(user_id, day, events, views, carts, purchases, spend, last_ms)
       on conflict (user_id, day) do update set
         events = activity.events + excluded.events, views = activity.views + excluded.views,
         carts = activity.carts + excluded.carts, purchases = activity.purchases + excluded.purchases,
         spend = activity.spend + excluded.spend, last_ts = greatest(activity.last_ts, excluded.last_ts)
     ), totals as (
       insert into days (day, events, last_ts)
       select date '1970-01-01' + day, sum(events), ${atMs("max(last_ms)")}
       from unnest($2::int4[], $3::int4[], $8::int8[]) as d(day, events, last_ms) group by day
       on conflict (day) do update set events = days.events + excluded.events,
         last_ts = greatest(days.last_ts, excluded.last_ts)
     ), explicit as (${SAVE_EXPLICIT(9)}), inferred as (${SAVE_INFERRED(16)}), clock as (
       insert into clock (id, latest) values (1, $22) on conflict (id) do update set latest = greatest(clock.latest, $22)
       returning now, rescored
     )
     -- The time in epoch ms: a Date from the driver would drop the milliseconds.
     select (extract(epoch from c.now) * 1000)::int8 as now, c.rescored::text as rescored, m.version, m.model
     from clock c left join models m on m.live`,
    [
      days.map((d) => d.user),
      days.map((d) => d.day),
      days.map((d) => d.events),
      days.map((d) => d.views),
      days.map((d) => d.carts),
      days.map((d) => d.amounts.length),
      days.map((d) => decimalSum(d.amounts)),
      days.map((d) => d.last),
      ...sessionParams(explicit, inferred),
      latest,
    ],
  );
  return clock;
}

/** A session's span and what churn counts in it. */
export interface Session extends Interval {
  events: number;
  carted: boolean;
  purchased: boolean;
}

/** A session row of one user; `key` (`s:<session_id>`) on an explicit one. */
export type UserSession = Session & { user: string };
export type KeyedSession = UserSession & { key: string };

/** SQL: explicit sessions (parameters from `$p`, see {@linkcode sessionParams}) added to the stored row of their key. */
const SAVE_EXPLICIT = (p: number) => `
  insert into sessions (user_id, session_key, explicit, started_at, ended_at, events, carted, purchased)
  select user_id, session_key, true, ${atMs("start_ms")}, ${atMs("end_ms")}, events, carted, purchased
  from unnest($${p}::text[], $${p + 1}::text[], $${p + 2}::int8[], $${p + 3}::int8[], $${p + 4}::int4[],
              $${p + 5}::bool[], $${
  p + 6
}::bool[]) as s(user_id, session_key, start_ms, end_ms, events, carted, purchased)
  on conflict (user_id, session_key) do update set
    started_at = least(sessions.started_at, excluded.started_at),
    ended_at = greatest(sessions.ended_at, excluded.ended_at), events = sessions.events + excluded.events,
    carted = sessions.carted or excluded.carted, purchased = sessions.purchased or excluded.purchased`;

/** SQL: inferred sessions (parameters from `$p`, after the explicit ones') written as they are. */
const SAVE_INFERRED = (p: number) => `
  insert into sessions (user_id, session_key, explicit, started_at, ended_at, events, carted, purchased)
  select user_id, 'a:' || lo, false, ${atMs("lo")}, ${atMs("hi")}, events, carted, purchased
  from unnest($${p}::text[], $${p + 1}::int8[], $${p + 2}::int8[], $${p + 3}::int4[], $${p + 4}::bool[],
              $${p + 5}::bool[]) as r(user_id, lo, hi, events, carted, purchased)`;

/** The 13 parameters of {@linkcode SAVE_EXPLICIT} and {@linkcode SAVE_INFERRED}, in order. */
function sessionParams(explicit: KeyedSession[], inferred: UserSession[]): unknown[] {
  return [
    explicit.map((s) => s.user),
    explicit.map((s) => s.key),
    explicit.map((s) => s.start),
    explicit.map((s) => s.end),
    explicit.map((s) => s.events),
    explicit.map((s) => s.carted),
    explicit.map((s) => s.purchased),
    inferred.map((r) => r.user),
    inferred.map((r) => r.start),
    inferred.map((r) => r.end),
    inferred.map((r) => r.events),
    inferred.map((r) => r.carted),
    inferred.map((r) => r.purchased),
  ];
}

/** Writes sessions: explicit ones added to the stored row of their key, inferred ones as they are. */
export async function saveSessions(db: Db, explicit: KeyedSession[], inferred: UserSession[]): Promise<void> {
  await db.query(`with explicit as (${SAVE_EXPLICIT(1)}) ${SAVE_INFERRED(8)}`, sessionParams(explicit, inferred));
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

/**
 * Inferred sessions with parts added (events, or another id's sessions merged in): the stored ones the parts fall in
 * or next to are deleted and answered merged with them, to be written back.
 */
export async function mergeInferred(db: Db, users: { user: string; parts: Session[] }[]): Promise<UserSession[]> {
  if (users.length === 0) return [];
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
      users.map((u) => Math.max(...u.parts.map((p) => p.end))),
    ],
  );
  for (const o of old) {
    users[o.i - 1].parts.push({ start: o.lo, end: o.hi, events: o.events, carted: o.carted, purchased: o.purchased });
  }
  return users.flatMap((u) => mergeSessions(u.parts, combine).map((s) => ({ user: u.user, ...s })));
}
