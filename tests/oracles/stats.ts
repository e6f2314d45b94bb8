/**
 * The offline truth for tests: stats recomputed from the raw log with plain SQL and window functions,
 * sharing no code with the plugin.
 */
import { logByPerson } from "./persons.ts";
import assert from "node:assert/strict";
import type { Sql } from "../../runtime/store/mod.ts";

/** The offline truth: sessions recomputed from the raw log with window functions, not the plugin's code. */
const SESSIONS_SQL = (events: string) => `
  with implicit as (
    select user_id, ts, type, ts - lag(ts) over (partition by user_id order by ts) >= interval '30 minutes'
             or lag(ts) over (partition by user_id order by ts) is null as starts
    from ${events} where body->>'session_id' is null
  ), numbered as (
    select user_id, ts, type, sum(case when starts then 1 else 0 end) over (partition by user_id order by ts) as n
    from implicit
  )
  select user_id, min(ts) as started_at, max(ts) as ended_at,
    bool_or(type = 'add_to_cart') as has_cart, bool_or(type = 'purchase') as has_purchase,
    count(*) filter (where type in ('page_view', 'product_view')) as pages
  from numbered group by user_id, n
  union all
  select user_id, min(ts), max(ts), bool_or(type = 'add_to_cart'), bool_or(type = 'purchase'),
    count(*) filter (where type in ('page_view', 'product_view'))
  from ${events} where body->>'session_id' is not null
  group by user_id, body->>'session_id'`;

/** `/overview` recomputed from the raw log. */
export async function expectedOverview(sql: Sql, from: string | null, to: string | null) {
  const events = await logByPerson(sql);
  const inRange =
    `($1::timestamptz is null or date_trunc('minute', ts, 'UTC') >= date_trunc('minute', $1::timestamptz, 'UTC'))
                   and ($2::timestamptz is null or date_trunc('minute', ts, 'UTC') < $2::timestamptz)`;
  const [totals] = await sql.query<{ events: number; users: number; purchases: number; revenue: number }>(
    `select count(*)::int8 as events, count(distinct user_id)::int8 as users,
       count(*) filter (where type = 'purchase')::int8 as purchases,
       coalesce(sum((body->'properties'->>'amount')::numeric) filter (where type = 'purchase'), 0) as revenue
     from ${events} where ${inRange}`,
    [from, to],
  );
  const types = await sql.query<{ type: string; n: number }>(
    `select type, count(*)::int8 as n from ${events} where ${inRange} group by type order by type`,
    [from, to],
  );
  const [{ sessions, carted, abandoned }] = await sql.query<{ sessions: number; carted: number; abandoned: number }>(
    `select count(*)::int8 as sessions, count(*) filter (where has_cart)::int8 as carted,
       count(*) filter (where has_cart and not has_purchase)::int8 as abandoned
     from (${SESSIONS_SQL(events)}) s
     where ($1::timestamptz is null or ended_at >= date_trunc('minute', $1::timestamptz, 'UTC'))
       and ($2::timestamptz is null or date_trunc('minute', started_at, 'UTC') < $2::timestamptz)`,
    [from, to],
  );
  const byType: Record<string, number> = Object.fromEntries(types.map((t) => [t.type, t.n]));
  const views = (byType.page_view ?? 0) + (byType.product_view ?? 0);
  const carts = byType.add_to_cart ?? 0;
  const r4 = (a: number, b: number) => b === 0 ? 0 : Math.round((a / b) * 1e4) / 1e4;
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    from,
    to,
    events: totals.events,
    users: totals.users,
    sessions,
    purchases: totals.purchases,
    revenue: r2(totals.revenue),
    by_type: byType,
    conversion_rate: r4(totals.purchases, views),
    cart_rate: r4(carts, views),
    checkout_rate: r4(totals.purchases, carts),
    cart_abandonment_rate: r4(abandoned, carted),
    aov: r2(totals.purchases ? totals.revenue / totals.purchases : 0),
    revenue_per_user: r2(totals.users ? totals.revenue / totals.users : 0),
  };
}

/** `/users/:id` (its numbers) recomputed from the raw log. */
export async function expectedUser(sql: Sql, userId: string) {
  const events = await logByPerson(sql);
  const [u] = await sql.query(
    `select user_id, count(*)::int8 as events, count(*) filter (where type = 'purchase')::int8 as purchases,
       coalesce(sum((body->'properties'->>'amount')::numeric) filter (where type = 'purchase'), 0) as spent,
       min(ts) as first_seen, max(ts) as last_seen
     from ${events} where user_id = $1 group by user_id`,
    [userId],
  );
  const [s] = await sql.query<{ sessions: number; avg: number }>(
    `select count(*)::int8 as sessions, coalesce(avg(extract(epoch from ended_at - started_at)), 0)::float8 as avg
     from (${SESSIONS_SQL(events)}) s where user_id = $1`,
    [userId],
  );
  return {
    ...u,
    first_seen: new Date(u.first_seen as string).toISOString(),
    last_seen: new Date(u.last_seen as string).toISOString(),
    sessions: s.sessions,
    avg_session_seconds: Math.round(s.avg * 10) / 10,
  };
}

/** `/timeseries` recomputed from the raw log, as the non-empty buckets of [from, to). */
export async function expectedTimeseries(sql: Sql, from: string, to: string, bucket: "minute" | "hour" | "day") {
  const events = await logByPerson(sql);
  const rows = await sql.query<{ start: string; type: string; n: number; revenue: number; users: number }>(
    `select date_trunc($3, ts, 'UTC') as start, type, count(*)::int8 as n,
       coalesce(sum((body->'properties'->>'amount')::numeric) filter (where type = 'purchase'), 0) as revenue
     from ${events}
     where date_trunc('minute', ts, 'UTC') >= date_trunc('minute', $1::timestamptz, 'UTC')
       and date_trunc('minute', ts, 'UTC') < $2::timestamptz
     group by 1, 2 order by 1, 2`,
    [from, to, bucket],
  );
  const users = await sql.query<{ start: string; users: number }>(
    `select date_trunc($3, ts, 'UTC') as start, count(distinct user_id)::int8 as users from ${events}
     where date_trunc('minute', ts, 'UTC') >= date_trunc('minute', $1::timestamptz, 'UTC')
       and date_trunc('minute', ts, 'UTC') < $2::timestamptz
     group by 1`,
    [from, to, bucket],
  );
  const out = new Map<
    string,
    { start: string; events: number; by_type: Record<string, number>; revenue: number; users: number }
  >();
  for (const r of rows) {
    const start = new Date(r.start).toISOString();
    const b = out.get(start) ?? { start, events: 0, by_type: {}, revenue: 0, users: 0 };
    b.events += r.n;
    b.by_type[r.type] = r.n;
    b.revenue = Math.round((b.revenue + r.revenue) * 100) / 100;
    out.set(start, b);
  }
  for (const u of users) out.get(new Date(u.start).toISOString())!.users = u.users;
  return [...out.values()];
}

const PURCHASE_LINES = (events: string) => `
  select log.event_id, log.user_id, i->>'product_id' as product_id,
    (i->>'price')::numeric * (i->>'quantity')::int as revenue
  from ${events}, jsonb_array_elements(log.body->'properties'->'items') i
  where log.type = 'purchase' and i->>'product_id' is not null`;

const CATEGORIES = (events: string) => `
  select body->'properties'->>'product_id' as product_id, max(body->'properties'->>'category') as category
  from ${events} where type in ('product_view', 'add_to_cart') group by 1`;

/** SQL: `ts` in the whole minutes from `$1`'s to `$2`'s (either open when null). */
const IN_MINUTES = (ts: string) =>
  `($1::timestamptz is null or ${ts} >= date_trunc('minute', $1::timestamptz))
   and ($2::timestamptz is null or date_trunc('minute', ${ts}) < $2::timestamptz)`;

/** `/products` numbers per product, recomputed from the raw log: of the events and purchases in a range when given. */
export async function expectedProducts(sql: Sql, from: string | null = null, to: string | null = null) {
  const events = await logByPerson(sql);
  return await sql.query(
    `with touched as (
       select body->'properties'->>'product_id' as product_id,
         count(*) filter (where type = 'product_view')::int8 as views,
         count(*) filter (where type = 'add_to_cart')::int8 as adds
       from ${events} where type in ('product_view', 'add_to_cart') and body->'properties'->>'product_id' is not null
         and ${IN_MINUTES("ts")}
       group by 1
     ), sold as (
       select product_id, count(distinct event_id)::int8 as purchases, sum(revenue) as revenue
       from (${PURCHASE_LINES(events)}) l
       where l.event_id in (select event_id from ${events} where type = 'purchase' and ${IN_MINUTES("ts")})
       group by 1
     )
     select coalesce(t.product_id, s.product_id) as product_id, c.category, coalesce(t.views, 0)::int8 as views,
       coalesce(t.adds, 0)::int8 as adds_to_cart, coalesce(s.purchases, 0)::int8 as purchases,
       round(coalesce(s.revenue, 0), 2) as revenue
     from touched t full join sold s on s.product_id = t.product_id
       left join (${CATEGORIES(events)}) c on c.product_id = coalesce(t.product_id, s.product_id)
     order by 1`,
    [from, to],
  );
}

/** `/revenue?by=` rows recomputed from the raw log, of the purchases in `[from, to)` (open where null). */
export async function expectedRevenue(
  sql: Sql,
  by: "country" | "category" | "device",
  from: string | null = null,
  to: string | null = null,
) {
  const events = await logByPerson(sql);
  const inRange = (ts: string) =>
    `($1::timestamptz is null or ${ts} >= $1) and ($2::timestamptz is null or ${ts} < $2)`;
  return await sql.query(
    by === "category"
      ? `select coalesce(c.category, 'unknown') as key, round(sum(l.revenue), 2) as revenue,
           count(distinct l.event_id)::int8 as purchases, count(distinct l.user_id)::int8 as users
         from (${PURCHASE_LINES(events)}) l left join (${CATEGORIES(events)}) c using (product_id)
         where l.event_id in (select event_id from ${events} where type = 'purchase' and ${inRange("ts")})
         group by 1 order by revenue desc, key`
      : `select coalesce(body->'properties'->>'${by}', 'unknown') as key,
           round(sum((body->'properties'->>'amount')::numeric), 2) as revenue, count(*)::int8 as purchases,
           count(distinct user_id)::int8 as users
         from ${events} where type = 'purchase' and ${inRange("ts")} group by 1 order by revenue desc, key`,
    [from, to],
  );
}

/** `/products/trending` recomputed: product views in the 5 whole minutes ending with the latest event's minute. */
export async function expectedTrending(sql: Sql, limit: number) {
  const events = await logByPerson(sql);
  const [{ wm }] = await sql.query<{ wm: string }>(`select max(ts) as wm from ${events}`);
  const to = Math.floor(Date.parse(new Date(wm).toISOString()) / 60_000) * 60_000 + 60_000;
  const from = to - 5 * 60_000;
  const products = await sql.query(
    `select body->'properties'->>'product_id' as product_id, max(body->'properties'->>'category') as category,
       count(*)::int8 as views
     from ${events} where type = 'product_view' and ts >= $1 and ts < $2
     group by 1 order by views desc, product_id limit $3`,
    [new Date(from).toISOString(), new Date(to).toISOString(), limit],
  );
  return { window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() }, products };
}

/** `/sessions` distributions recomputed from the raw log, of the sessions starting in `[from, to)` (open where null). */
export async function expectedSessionDistributions(sql: Sql, from: string | null = null, to: string | null = null) {
  const events = await logByPerson(sql);
  const sessions = await sql.query<{ seconds: number; pages: number }>(
    `select extract(epoch from ended_at - started_at)::float8 as seconds, pages::int8 as pages from (${
      SESSIONS_SQL(events)
    }) s where ($1::timestamptz is null or started_at >= $1) and ($2::timestamptz is null or started_at < $2)`,
    [from, to],
  );
  const histogram = (edges: number[], values: number[]) =>
    edges.map((from, i) => ({
      from,
      to: edges[i + 1] ?? null,
      sessions: values.filter((v) => v >= from && (i + 1 === edges.length || v < edges[i + 1])).length,
    }));
  return {
    duration_s: histogram([0, 10, 30, 60, 180, 600, 1800], sessions.map((s) => s.seconds)),
    pages: histogram([0, 1, 2, 3, 6, 11], sessions.map((s) => s.pages)),
  };
}

/**
 * `/videos` recomputed from the raw log (views: a user's plays of a video within one session); with a range, of the
 * views whose first event is in it.
 */
export async function expectedVideos(sql: Sql, limit: number, from: string | null = null, to: string | null = null) {
  const events = await logByPerson(sql);
  const views = `
    select * from (
    select body->'properties'->>'video_id' as video_id, user_id, coalesce(body->>'session_id', '') as skey, min(ts) as first,
      count(*) filter (where type = 'video_play') as plays,
      max(coalesce((body->'properties'->>'position_s')::numeric, 0)) as reached,
      max((body->'properties'->>'duration_s')::numeric) as duration, bool_or(type = 'video_complete') as done
    from ${events} where type in ('video_play', 'video_progress', 'video_complete')
      and body->'properties'->>'video_id' is not null
    group by 1, 2, 3) v where ${IN_MINUTES("first")}`;
  const videos = await sql.query<{ video_id: string }>(
    `select video_id, sum(plays)::int8 as plays, count(*)::int8 as views, count(*) filter (where done)::int8 as completions,
       round(count(*) filter (where done)::numeric / count(*), 4) as completion_rate, round(sum(reached), 1) as watch_time_s
     from (${views}) v group by 1 order by plays desc, video_id limit $3`,
    [from, to, limit],
  );
  const views2 = await sql.query<{ video_id: string; reached: number; duration: number | null; done: boolean }>(
    `select video_id, reached, duration, done from (${views}) v`,
    [from, to],
  );
  return videos.map((v) => ({
    ...v,
    drop_off: Array.from({ length: 10 }, (_, k) => ({
      from_pct: k * 10,
      to_pct: k * 10 + 10,
      views: views2.filter((x) =>
        x.video_id === v.video_id && !x.done && (x.duration ?? 0) > 0 &&
        Math.min(9, Math.floor((10 * x.reached) / x.duration!)) === k
      ).length,
    })),
  }));
}

/**
 * After crashes: every acknowledged event (by id) is in the log, and `overview` (what `/api/stats/overview` answered)
 * equals its recomputation from the log, counting each logged event once.
 */
export async function assertOverviewExact(sql: Sql, acked: Set<string>, overview: { events: number }): Promise<void> {
  const logged = new Set(
    (await sql.query<{ event_id: string }>("select event_id from host.events where type <> '$merge'"))
      .map((r) => r.event_id),
  );
  const lost = [...acked].filter((id) => !logged.has(id));
  assert.deepEqual(lost, [], `${lost.length} acknowledged events lost`);
  assert.deepEqual(overview, await expectedOverview(sql, null, null));
  assert.equal(overview.events, logged.size);
}

/**
 * `/retention` recomputed from the raw log, back on any event after the first event (of type `start`, when given):
 * per cohort (UTC day, or week from Monday, of each person's first such event), as `[start, users, retained…]` for
 * periods 0..`periods`, every period counted (whether it began by the watermark is the route's to say).
 */
export async function expectedRetention(
  sql: Sql,
  interval: "day" | "week",
  periods: number,
  start: string | null = null,
) {
  const events = await logByPerson(sql);
  const period = interval === "day"
    ? "(ts at time zone 'UTC')::date"
    : "date_trunc('week', ts at time zone 'UTC')::date";
  const step = interval === "day" ? 1 : 7;
  const rows = await sql.query<{ start: string; k: number; users: number }>(
    `with p as (select distinct user_id, ${period} as p from ${events}),
     f as (select user_id, min(${period}) as first from ${events} where $1::text is null or type = $1 group by user_id)
     select f.first::text as start, (p.p - f.first) / ${step} as k, count(*)::int8 as users
     from f join p using (user_id) where p.p >= f.first and p.p - f.first <= ${step * periods}
     group by 1, 2 order by 1, 2`,
    [start],
  );
  const cohorts = new Map<string, number[]>();
  for (const r of rows) {
    const retained = cohorts.get(r.start) ?? Array(periods + 1).fill(0);
    retained[r.k] = r.users;
    cohorts.set(r.start, retained);
  }
  return [...cohorts].map(([start, retained]) => [start, ...retained]);
}

/**
 * The users of a retention cell recomputed from the raw log, for any event back after any event: the persons whose first
 * event was in the period starting `cohort` (YYYY-MM-DD), and for `k` > 0 those of them with an event in the k-th
 * period after; by user_id.
 */
export async function expectedRetentionUsers(sql: Sql, interval: "day" | "week", cohort: string, k: number) {
  const events = await logByPerson(sql);
  const period = interval === "day"
    ? "(ts at time zone 'UTC')::date"
    : "date_trunc('week', ts at time zone 'UTC')::date";
  const step = interval === "day" ? 1 : 7;
  const rows = await sql.query<{ user_id: string }>(
    `with p as (select distinct user_id, ${period} as p from ${events}),
     f as (select user_id, min(p) as first from p group by user_id)
     select f.user_id from f
     where f.first = $1::date
       and ($2::int = 0 or exists (select from p where p.user_id = f.user_id and p.p = f.first + $2::int * ${step}))
     order by f.user_id`,
    [cohort, k],
  );
  return rows.map((r) => r.user_id);
}
