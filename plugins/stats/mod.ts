/**
 * `stats`: KPIs over any range of minutes, and per-user stats. Every table is updated per batch in
 * the batch's transaction, so numbers are exact under duplicates, late events and replays.
 * @module
 */
import { Hono } from "hono";
import { definePlugin, type Env, type Event, HttpError, intParam, mergeSessions, timeParam } from "@runtime/sdk";
import { combine, type Session } from "./sessions.ts";

type Db = Env["db"];

async function queue(batch: Event[], env: Env): Promise<void> {
  const ts = batch.map((e) => e.timestamp);
  const types = batch.map((e) => e.type);
  const users = batch.map((e) => e.user_id);
  const amounts = batch.map((e) => e.type === "purchase" ? e.properties.amount ?? 0 : null);
  await env.db.sql`
    insert into minute_counts (minute, type, events, revenue)
    select date_trunc('minute', ts, 'UTC'), type, count(*), coalesce(sum(amount), 0)
    from unnest(${ts}::timestamptz[], ${types}::text[], ${amounts}::numeric[]) as e(ts, type, amount)
    group by 1, 2
    on conflict (minute, type) do update
      set events = minute_counts.events + excluded.events, revenue = minute_counts.revenue + excluded.revenue`;
  await env.db.sql`
    insert into user_minutes (minute, user_id)
    select distinct date_trunc('minute', ts, 'UTC'), user_id
    from unnest(${ts}::timestamptz[], ${users}::text[]) as e(ts, user_id)
    on conflict do nothing`;
  await env.db.sql`
    insert into users (user_id, events, purchases, spent, first_seen, last_seen)
    select user_id, count(*), count(amount), coalesce(sum(amount), 0), min(ts), max(ts)
    from unnest(${users}::text[], ${ts}::timestamptz[], ${amounts}::numeric[]) as e(user_id, ts, amount)
    group by user_id
    on conflict (user_id) do update set
      events = users.events + excluded.events,
      purchases = users.purchases + excluded.purchases,
      spent = users.spent + excluded.spent,
      first_seen = least(users.first_seen, excluded.first_seen),
      last_seen = greatest(users.last_seen, excluded.last_seen)`;
  const explicit = batch.filter((e) => e.session_id !== undefined);
  if (explicit.length > 0) {
    await env.db.sql`
      insert into sessions (user_id, session_key, explicit, started_at, ended_at, events, has_cart, has_purchase, pages)
      select user_id, 's:' || sid, true, min(ts), max(ts), count(*),
        bool_or(type = 'add_to_cart'), bool_or(type = 'purchase'),
        count(*) filter (where type in ('page_view', 'product_view'))
      from unnest(${explicit.map((e) => e.user_id)}::text[], ${explicit.map((e) => e.session_id)}::text[],
                  ${explicit.map((e) => e.timestamp)}::timestamptz[], ${explicit.map((e) => e.type)}::text[])
        as e(user_id, sid, ts, type)
      group by 1, 2
      on conflict (user_id, session_key) do update set
        started_at = least(sessions.started_at, excluded.started_at),
        ended_at = greatest(sessions.ended_at, excluded.ended_at),
        events = sessions.events + excluded.events,
        has_cart = sessions.has_cart or excluded.has_cart,
        has_purchase = sessions.has_purchase or excluded.has_purchase,
        pages = sessions.pages + excluded.pages`;
  }
  await inferSessions(env.db, batch.filter((e) => e.session_id === undefined));
  await countProducts(env.db, batch);
  await countVideos(env.db, batch);
}

const VIDEO_TYPES = new Set(["video_play", "video_progress", "video_complete"]);

/** Per video view: plays, the furthest position reached, the duration, and whether it completed. */
async function countVideos(db: Db, batch: Event[]): Promise<void> {
  const v = batch.filter((e) => VIDEO_TYPES.has(e.type) && typeof e.properties.video_id === "string");
  if (v.length === 0) return;
  await db.sql`
    insert into video_views (video_id, user_id, session_key, plays, max_position, duration, completed)
    select video_id, user_id, session_key, count(*) filter (where type = 'video_play'),
      max(coalesce(position_s, 0)), max(duration_s), bool_or(type = 'video_complete')
    from unnest(${v.map((e) => e.properties.video_id)}::text[], ${v.map((e) => e.user_id)}::text[],
                ${v.map((e) => e.session_id ?? "")}::text[], ${v.map((e) => e.type)}::text[],
                ${v.map((e) => e.properties.position_s ?? null)}::numeric[],
                ${v.map((e) => e.properties.duration_s ?? null)}::numeric[])
      as e(video_id, user_id, session_key, type, position_s, duration_s)
    group by 1, 2, 3
    on conflict (video_id, user_id, session_key) do update set
      plays = video_views.plays + excluded.plays,
      max_position = greatest(video_views.max_position, excluded.max_position),
      duration = greatest(video_views.duration, excluded.duration),
      completed = video_views.completed or excluded.completed`;
}

/** Product views and adds to cart, and every purchase with its lines. */
async function countProducts(db: Db, batch: Event[]): Promise<void> {
  const touches = batch.filter((e) =>
    (e.type === "product_view" || e.type === "add_to_cart") && typeof e.properties.product_id === "string"
  );
  if (touches.length > 0) {
    await db.sql`
      insert into product_counts (product_id, category, views, adds)
      select product_id, max(category), count(*) filter (where type = 'product_view'),
        count(*) filter (where type = 'add_to_cart')
      from unnest(${touches.map((e) => e.properties.product_id)}::text[], ${touches.map((e) => e.type)}::text[],
                  ${touches.map((e) => e.properties.category ?? null)}::text[]) as t(product_id, type, category)
      group by product_id
      on conflict (product_id) do update set
        category = coalesce(excluded.category, product_counts.category),
        views = product_counts.views + excluded.views,
        adds = product_counts.adds + excluded.adds`;
  }
  const views = touches.filter((e) => e.type === "product_view");
  if (views.length > 0) {
    await db.sql`
      insert into product_minutes (minute, product_id, views)
      select date_trunc('minute', ts, 'UTC'), product_id, count(*)
      from unnest(${views.map((e) => e.timestamp)}::timestamptz[], ${views.map((e) => e.properties.product_id)}::text[])
        as v(ts, product_id)
      group by 1, 2
      on conflict (minute, product_id) do update set views = product_minutes.views + excluded.views`;
  }
  const purchases = batch.filter((e) => e.type === "purchase");
  if (purchases.length === 0) return;
  await db.sql`
    insert into purchases (event_id, user_id, ts, amount, country, device)
    select * from unnest(${purchases.map((e) => e.event_id)}::text[], ${purchases.map((e) => e.user_id)}::text[],
                         ${purchases.map((e) => e.timestamp)}::timestamptz[],
                         ${purchases.map((e) => e.properties.amount ?? 0)}::numeric[],
                         ${purchases.map((e) => e.properties.country ?? null)}::text[],
                         ${purchases.map((e) => e.properties.device ?? null)}::text[])`;
  const lines = purchases.flatMap((e) =>
    (e.properties.items ?? []).filter((i) => typeof i.product_id === "string").map((i, line) => ({ e, i, line }))
  );
  if (lines.length === 0) return;
  await db.sql`
    insert into purchase_items (event_id, line, product_id, price, quantity)
    select * from unnest(${lines.map((l) => l.e.event_id)}::text[], ${lines.map((l) => l.line)}::int4[],
                         ${lines.map((l) => l.i.product_id)}::text[], ${lines.map((l) => l.i.price)}::numeric[],
                         ${lines.map((l) => l.i.quantity)}::int4[])`;
}

/** Merges events without a session_id into their users' inferred sessions. */
async function inferSessions(db: Db, events: Event[]): Promise<void> {
  if (events.length === 0) return;
  const intervals = new Map<string, Session[]>();
  for (const e of events) {
    const t = Date.parse(e.timestamp);
    const list = intervals.get(e.user_id) ?? [];
    list.push({
      start: t,
      end: t,
      events: 1,
      cart: e.type === "add_to_cart",
      purchase: e.type === "purchase",
      pages: e.type === "page_view" || e.type === "product_view" ? 1 : 0,
    });
    intervals.set(e.user_id, list);
  }
  const ids = [...intervals.keys()];
  const lo = ids.map((u) => new Date(Math.min(...intervals.get(u)!.map((i) => i.start))).toISOString());
  const hi = ids.map((u) => new Date(Math.max(...intervals.get(u)!.map((i) => i.start))).toISOString());
  const existing = await db.sql<
    {
      user_id: string;
      session_key: string;
      started_at: string;
      ended_at: string;
      events: number;
      has_cart: boolean;
      has_purchase: boolean;
      pages: number;
    }
  >`
    select s.user_id, s.session_key, s.started_at, s.ended_at, s.events, s.has_cart, s.has_purchase, s.pages
    from sessions s join unnest(${ids}::text[], ${lo}::timestamptz[], ${hi}::timestamptz[]) as r(user_id, lo, hi)
      on s.user_id = r.user_id
    where not s.explicit and s.ended_at > r.lo - interval '30 minutes' and s.started_at < r.hi + interval '30 minutes'`;
  for (const s of existing) {
    intervals.get(s.user_id)!.push({
      start: Date.parse(s.started_at),
      end: Date.parse(s.ended_at),
      events: s.events,
      cart: s.has_cart,
      purchase: s.has_purchase,
      pages: s.pages,
    });
  }
  if (existing.length > 0) {
    await db.sql`
      delete from sessions s using unnest(${existing.map((s) => s.user_id)}::text[],
                                          ${existing.map((s) => s.session_key)}::text[]) as d(user_id, session_key)
      where s.user_id = d.user_id and s.session_key = d.session_key`;
  }
  const rows = [...intervals].flatMap(([user, list]) => mergeSessions(list, combine).map((i) => ({ user, ...i })));
  await db.sql`
    insert into sessions (user_id, session_key, explicit, started_at, ended_at, events, has_cart, has_purchase, pages)
    select user_id, 'a:' || start_ms, false, to_timestamp(start_ms / 1000.0), to_timestamp(end_ms / 1000.0), events,
      cart, purchase, pages
    from unnest(${rows.map((r) => r.user)}::text[], ${rows.map((r) => r.start)}::int8[],
                ${rows.map((r) => r.end)}::int8[], ${rows.map((r) => r.events)}::int8[],
                ${rows.map((r) => r.cart)}::boolean[], ${rows.map((r) => r.purchase)}::boolean[],
                ${rows.map((r) => r.pages)}::int8[])
      as r(user_id, start_ms, end_ms, events, cart, purchase, pages)`;
}

const app = new Hono<{ Bindings: Env }>();

app.notFound((c) => c.json({ error: `no route for ${c.req.method} /api/stats${c.req.path}` }, 404));
app.onError((err, c) => {
  if (err instanceof HttpError) return c.json({ error: err.message }, err.status);
  throw err;
});

app.get("/overview", async (c) => {
  const from = timeParam(c.req.query("from"), "from");
  const to = timeParam(c.req.query("to"), "to");
  const db = c.env.db;
  const inRange = `($1::timestamptz is null or minute >= date_trunc('minute', $1::timestamptz, 'UTC'))
                   and ($2::timestamptz is null or minute < $2::timestamptz)`;
  const [types, [{ users }], [{ sessions, carted, abandoned }]] = await Promise.all([
    db.query<{ type: string; events: number; revenue: number }>(
      `select type, sum(events)::int8 as events, sum(revenue) as revenue from minute_counts where ${inRange} group by type`,
      [from, to],
    ),
    from === null && to === null
      ? db.query<{ users: number }>("select count(*)::int8 as users from users")
      : db.query<{ users: number }>(
        `select count(distinct user_id)::int8 as users from user_minutes where ${inRange}`,
        [from, to],
      ),
    db.query<{ sessions: number; carted: number; abandoned: number }>(
      `select count(*)::int8 as sessions, count(*) filter (where has_cart)::int8 as carted,
         count(*) filter (where has_cart and not has_purchase)::int8 as abandoned
       from sessions
       where ($1::timestamptz is null or ended_at >= date_trunc('minute', $1::timestamptz, 'UTC'))
         and ($2::timestamptz is null or date_trunc('minute', started_at, 'UTC') < $2::timestamptz)`,
      [from, to],
    ),
  ]);
  const byType: Record<string, number> = {};
  let events = 0;
  let revenue = 0;
  for (const t of types.sort((a, b) => a.type.localeCompare(b.type))) {
    byType[t.type] = t.events;
    events += t.events;
    revenue += t.revenue;
  }
  const purchases = byType.purchase ?? 0;
  const views = (byType.page_view ?? 0) + (byType.product_view ?? 0);
  const carts = byType.add_to_cart ?? 0;
  return c.json({
    from,
    to,
    events,
    users,
    sessions,
    purchases,
    revenue: round(revenue, 2),
    by_type: byType,
    conversion_rate: ratio(purchases, views),
    cart_rate: ratio(carts, views),
    checkout_rate: ratio(purchases, carts),
    cart_abandonment_rate: ratio(abandoned, carted),
    aov: round(purchases ? revenue / purchases : 0, 2),
    revenue_per_user: round(users ? revenue / users : 0, 2),
  });
});

/** `x` rounded to `digits` decimals. */
function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** `a / b` to 4 decimals; 0 when `b` is 0. */
function ratio(a: number, b: number): number {
  return b === 0 ? 0 : round(a / b, 4);
}

const BUCKETS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
/** The most buckets one time series answers. */
const MAX_BUCKETS = 10_000;

app.get("/timeseries", async (c) => {
  const bucket = c.req.query("bucket") ?? "hour";
  if (!Object.hasOwn(BUCKETS, bucket)) throw new HttpError(400, `bucket must be minute, hour or day, got '${bucket}'`);
  const width = BUCKETS[bucket as keyof typeof BUCKETS];
  const db = c.env.db;
  let from = timeParam(c.req.query("from"), "from");
  let to = timeParam(c.req.query("to"), "to");
  if (from === null || to === null) {
    const [span] = await db.query<{ first: string | null; last: string | null }>(
      "select min(minute) as first, max(minute) as last from minute_counts",
    );
    if (span.first === null) return c.json({ bucket, buckets: [] });
    from ??= new Date(span.first).toISOString();
    to ??= new Date(Date.parse(span.last!) + 60_000).toISOString();
  }
  const first = Math.floor(Date.parse(from) / width) * width;
  const count = Math.ceil((Date.parse(to) - first) / width);
  if (count > MAX_BUCKETS) {
    throw new HttpError(
      400,
      `${count} ${bucket} buckets asked, at most ${MAX_BUCKETS}: use a larger bucket or a shorter range`,
    );
  }
  const inRange = `minute >= date_trunc('minute', $1::timestamptz, 'UTC') and minute < $2::timestamptz`;
  const [types, users] = await Promise.all([
    db.query<{ start: string; type: string; events: number; revenue: number }>(
      `select date_trunc($3, minute, 'UTC') as start, type, sum(events)::int8 as events, sum(revenue) as revenue
       from minute_counts where ${inRange} group by 1, 2`,
      [from, to, bucket],
    ),
    db.query<{ start: string; users: number }>(
      `select date_trunc($3, minute, 'UTC') as start, count(distinct user_id)::int8 as users
       from user_minutes where ${inRange} group by 1`,
      [from, to, bucket],
    ),
  ]);
  const buckets = Array.from({ length: Math.max(0, count) }, (_, i) => ({
    start: new Date(first + i * width).toISOString(),
    events: 0,
    by_type: {} as Record<string, number>,
    revenue: 0,
    users: 0,
  }));
  const at = (start: string) => buckets[Math.round((Date.parse(start) - first) / width)];
  for (const t of types.sort((a, b) => a.type.localeCompare(b.type))) {
    const b = at(t.start);
    if (!b) continue;
    b.events += t.events;
    b.by_type[t.type] = t.events;
    b.revenue = round(b.revenue + t.revenue, 2);
  }
  for (const u of users) {
    const b = at(u.start);
    if (b) b.users = u.users;
  }
  return c.json({ bucket, buckets });
});

const PRODUCT_SORTS = ["views", "adds_to_cart", "purchases", "revenue", "conversion_rate"] as const;

app.get("/products", async (c) => {
  const limit = intParam(c.req.query("limit"), "limit", 20, 1, 1000);
  const sort = c.req.query("sort") ?? "views";
  if (!(PRODUCT_SORTS as readonly string[]).includes(sort)) {
    throw new HttpError(400, `sort must be one of ${PRODUCT_SORTS.join(", ")}, got '${sort}'`);
  }
  const products = await c.env.db.query<Record<string, unknown>>(
    `with sold as (
       select product_id, count(distinct event_id)::int8 as purchases, sum(price * quantity) as revenue
       from purchase_items group by product_id
     )
     select coalesce(p.product_id, s.product_id) as product_id, p.category,
       coalesce(p.views, 0)::int8 as views, coalesce(p.adds, 0)::int8 as adds_to_cart,
       coalesce(s.purchases, 0)::int8 as purchases, round(coalesce(s.revenue, 0), 2) as revenue,
       case when coalesce(p.views, 0) = 0 then 0
            else round(coalesce(s.purchases, 0)::numeric / p.views, 4) end as conversion_rate
     from product_counts p full join sold s on s.product_id = p.product_id
     order by ${sort} desc, product_id
     limit $1`,
    [limit],
  );
  return c.json({ products });
});

/** The rolling window of `/products/trending`. */
const TRENDING_MINUTES = 5;

app.get("/products/trending", async (c) => {
  const limit = intParam(c.req.query("limit"), "limit", 10, 1, 100);
  const now = c.env.watermark;
  if (now === null) return c.json({ window: null, products: [] });
  // The last 5 whole minutes up to the watermark's minute, in event time: replays answer the same.
  const to = Math.floor(Date.parse(now) / 60_000) * 60_000 + 60_000;
  const from = to - TRENDING_MINUTES * 60_000;
  const products = await c.env.db.query(
    `select m.product_id, p.category, sum(m.views)::int8 as views
     from product_minutes m left join product_counts p using (product_id)
     where m.minute >= $1 and m.minute < $2
     group by 1, 2 order by views desc, product_id limit $3`,
    [new Date(from).toISOString(), new Date(to).toISOString(), limit],
  );
  return c.json({ window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() }, products });
});

const REVENUE_DIMENSIONS = ["country", "category", "device"] as const;

app.get("/revenue", async (c) => {
  const by = c.req.query("by") ?? "country";
  if (!(REVENUE_DIMENSIONS as readonly string[]).includes(by)) {
    throw new HttpError(400, `by must be one of ${REVENUE_DIMENSIONS.join(", ")}, got '${by}'`);
  }
  const rows = await c.env.db.query(
    by === "category"
      ? `select coalesce(p.category, 'unknown') as key, round(sum(i.price * i.quantity), 2) as revenue,
           count(distinct i.event_id)::int8 as purchases, count(distinct b.user_id)::int8 as users
         from purchase_items i join purchases b using (event_id)
           left join product_counts p on p.product_id = i.product_id
         group by 1 order by revenue desc, key`
      : `select coalesce(${by}, 'unknown') as key, round(sum(amount), 2) as revenue, count(*)::int8 as purchases,
           count(distinct user_id)::int8 as users
         from purchases group by 1 order by revenue desc, key`,
  );
  return c.json({ by, rows });
});

/** RFM over all users: each of recency, frequency and monetary scored 1–5 by quintile (ties share a score). */
const RFM_SQL = `
  select user_id,
    least(5, 1 + floor(5 * percent_rank() over (order by last_seen))) +
    least(5, 1 + floor(5 * percent_rank() over (order by purchases))) +
    least(5, 1 + floor(5 * percent_rank() over (order by spent))) as score
  from users`;

app.get("/segments", async (c) => {
  const rows = await c.env.db.query<{ score: number; users: number }>(
    `select score::int8 as score, count(*)::int8 as users from (${RFM_SQL}) r group by 1`,
  );
  const counts: Record<string, number> = { champion: 0, loyal: 0, potential: 0, at_risk: 0, lost: 0 };
  for (const r of rows) counts[segment(r.score)] += r.users;
  return c.json({ segments: Object.entries(counts).map(([segment, users]) => ({ segment, users })) });
});

app.get("/videos", async (c) => {
  const limit = intParam(c.req.query("limit"), "limit", 20, 1, 1000);
  const videos = await c.env.db.query<{ video_id: string }>(
    `select video_id, sum(plays)::int8 as plays, count(*)::int8 as views,
       count(*) filter (where completed)::int8 as completions,
       round(count(*) filter (where completed)::numeric / count(*), 4) as completion_rate,
       round(sum(max_position), 1) as watch_time_s
     from video_views group by video_id order by plays desc, video_id limit $1`,
    [limit],
  );
  const drops = await c.env.db.query<{ video_id: string; k: number; views: number }>(
    `select video_id, least(9, floor(10 * max_position / duration))::int4 as k, count(*)::int8 as views
     from video_views where not completed and duration > 0 and video_id = any($1::text[]) group by 1, 2`,
    [videos.map((v) => v.video_id)],
  );
  return c.json({
    videos: videos.map((v) => ({
      ...v,
      drop_off: Array.from({ length: 10 }, (_, k) => ({
        from_pct: k * 10,
        to_pct: k * 10 + 10,
        views: drops.find((d) => d.video_id === v.video_id && d.k === k)?.views ?? 0,
      })),
    })),
  });
});

/** Bucket edges of the session distributions: duration (seconds) and pages per session. */
const DURATION_EDGES = [0, 10, 30, 60, 180, 600, 1800];
const PAGE_EDGES = [0, 1, 2, 3, 6, 11];

app.get("/sessions", async (c) => {
  const [durations, pages] = await Promise.all([
    c.env.db.query<{ bucket: number; sessions: number }>(
      `select width_bucket(extract(epoch from ended_at - started_at)::float8, $1::float8[]) as bucket,
         count(*)::int8 as sessions
       from sessions group by 1`,
      [DURATION_EDGES],
    ),
    c.env.db.query<{ bucket: number; sessions: number }>(
      `select width_bucket(pages, $1::int8[]) as bucket, count(*)::int8 as sessions from sessions group by 1`,
      [PAGE_EDGES],
    ),
  ]);
  const histogram = (edges: number[], rows: { bucket: number; sessions: number }[]) =>
    edges.map((from, i) => ({
      from,
      to: edges[i + 1] ?? null,
      sessions: rows.find((r) => r.bucket === i + 1)?.sessions ?? 0,
    }));
  return c.json({ duration_s: histogram(DURATION_EDGES, durations), pages: histogram(PAGE_EDGES, pages) });
});

app.get("/users/:user_id", async (c) => {
  const [user] = await c.env.db.query<{
    user_id: string;
    events: number;
    purchases: number;
    spent: number;
    first_seen: string;
    last_seen: string;
    sessions: number;
    avg_session_seconds: number;
    rfm: number;
  }>(
    `with rfm as (${RFM_SQL})
    select u.user_id, u.events, u.purchases, u.spent, u.first_seen, u.last_seen,
      (select count(*) from sessions s where s.user_id = u.user_id)::int8 as sessions,
      (select coalesce(avg(extract(epoch from s.ended_at - s.started_at)), 0)::float8
         from sessions s where s.user_id = u.user_id) as avg_session_seconds,
      rfm.score::int8 as rfm
    from users u join rfm using (user_id)
    where u.user_id = $1`,
    [c.req.param("user_id")],
  );
  if (!user) return c.json({ error: `no events for user '${c.req.param("user_id")}'` }, 404);
  const { rfm, ...rest } = user;
  return c.json({
    ...rest,
    avg_session_seconds: Math.round(user.avg_session_seconds * 10) / 10,
    engagement_score: engagementScore(user),
    segment: segment(rfm),
  });
});

/** Saturating share of a count: 0 at 0, 0.5 at `half`, approaching 1. */
const saturate = (x: number, half: number) => x / (x + half);

/**
 * Engagement, 0–100: a weighted blend of saturating scores for events (half at 50), sessions (half at 5),
 * purchases (half at 2) and average session length (half at 10 minutes), weighted 30/25/30/15.
 */
export function engagementScore(
  u: { events: number; sessions: number; purchases: number; avg_session_seconds: number },
) {
  return Math.round(
    100 * (0.30 * saturate(u.events, 50) + 0.25 * saturate(u.sessions, 5) + 0.30 * saturate(u.purchases, 2) +
      0.15 * saturate(u.avg_session_seconds, 600)),
  );
}

/** RFM tier from the sum of recency, frequency and monetary quintile scores (3..15). */
export function segment(score: number): string {
  if (score >= 13) return "champion";
  if (score >= 10) return "loyal";
  if (score >= 7) return "potential";
  if (score >= 5) return "at_risk";
  return "lost";
}

export default definePlugin({
  name: "stats",
  version: "0.1.0",
  subscribes: "*",
  queue,
  fetch: app.fetch,
  panels: [
    { title: "Overview", route: "/overview", kind: "tiles" },
    { title: "Events per hour", route: "/timeseries?bucket=hour", kind: "timeseries" },
    { title: "Trending products (last 5 minutes)", route: "/products/trending", kind: "table" },
    { title: "Revenue by country", route: "/revenue?by=country", kind: "bar" },
  ],
});
