/**
 * `stats`: KPIs over any range of minutes, and per-user stats. Every table is updated per batch in
 * the batch's transaction, so numbers are exact under duplicates, late events and replays.
 * @module
 */
import { Hono } from "hono";
import { answerHttpError, definePlugin, describeRoute, type Env, HttpError } from "@runtime/sdk";
import * as api from "./api.ts";
import { merge } from "./merge.ts";
import { ratio, round } from "./numbers.ts";
import { peopleRoutes } from "./people.ts";
import { retentionRoutes } from "./retention.ts";
import { queue } from "./queue.ts";
import { userRoutes } from "./users.ts";

const app = new Hono<{ Bindings: Env }>();

app.notFound((c) => c.json({ error: `no route for ${c.req.method} /api/stats${c.req.path}` }, 404));
app.onError(answerHttpError);

/**
 * SQL: the `user_hours` rows with an active minute in [the minute of $1, $2), either end open when null.
 * The minutes in range are the row's bits from `lo` (the range's first minute, counted from the row's hour)
 * up to `hi` (the first minute at or after $2); an empty range keeps no bit.
 */
const ACTIVE_IN_RANGE = `
  ($1::timestamptz is null or hour >= date_trunc('hour', $1::timestamptz, 'UTC'))
  and ($2::timestamptz is null or hour < $2::timestamptz)
  and (minutes & greatest(0,
    (1::int8 << (case when $2::timestamptz is null then 60
                 else least(60, ceil(extract(epoch from $2::timestamptz - hour) / 60))::int end))
    - (1::int8 << (case when $1::timestamptz is null then 0
                   else greatest(0, extract(epoch from date_trunc('minute', $1::timestamptz, 'UTC') - hour) / 60)::int
                   end)))) <> 0`;

app.get(
  "/overview",
  describeRoute({
    summary: "KPIs over a range of event time",
    query: api.RangeQuery,
    response: api.Overview,
    errors: [400],
  }),
  async (c) => {
    const { from = null, to = null } = c.req.valid("query");
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
          `select count(distinct user_id)::int8 as users from user_hours where ${ACTIVE_IN_RANGE}`,
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
  },
);

/** The most buckets one time series answers. */
const MAX_BUCKETS = 10_000;

app.get(
  "/timeseries",
  describeRoute({
    summary: "Events, revenue and users per minute, hour or day",
    query: api.TimeseriesQuery,
    response: api.Timeseries,
    errors: [400],
  }),
  async (c) => {
    const query = c.req.valid("query");
    const bucket = query.bucket;
    const width = api.BUCKETS[bucket];
    const db = c.env.db;
    let from = query.from ?? null;
    let to = query.to ?? null;
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
      bucket === "minute"
        ? db.query<{ start: string; users: number }>(
          `select hour + m * interval '1 minute' as start, count(distinct user_id)::int8 as users
         from user_hours, generate_series(0, 59) m where ${ACTIVE_IN_RANGE} and minutes & (1::int8 << m) <> 0
         group by 1`,
          [from, to],
        )
        : db.query<{ start: string; users: number }>(
          `select date_trunc($3, hour, 'UTC') as start, count(distinct user_id)::int8 as users
         from user_hours where ${ACTIVE_IN_RANGE} group by 1`,
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
  },
);

app.get(
  "/products",
  describeRoute({
    summary: "Products by views, adds to cart, purchases and revenue",
    query: api.ProductsQuery,
    response: api.Products,
    errors: [400],
  }),
  async (c) => {
    const { limit, sort } = c.req.valid("query");
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
  },
);

/** The rolling window of `/products/trending`. */
const TRENDING_MINUTES = 5;

app.get(
  "/products/trending",
  describeRoute({
    summary: "The most viewed products in the last 5 minutes of event time",
    query: api.TrendingQuery,
    response: api.Trending,
    errors: [400],
  }),
  async (c) => {
    const { limit } = c.req.valid("query");
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
  },
);

app.get(
  "/revenue",
  describeRoute({
    summary: "Revenue by country, category or device",
    query: api.RevenueQuery,
    response: api.Revenue,
    errors: [400],
  }),
  async (c) => {
    const { by, from = null, to = null } = c.req.valid("query");
    // Each end in the SQL only when given: a generic plan of "$1 is null or ts >= $1" would not use the index.
    const params: unknown[] = [];
    const inRange = [from && `b.ts >= $${params.push(from)}`, to && `b.ts < $${params.push(to)}`]
      .filter(Boolean).join(" and ") || "true";
    const rows = await c.env.db.query(
      by === "category"
        ? `select coalesce(p.category, 'unknown') as key, round(sum(i.price * i.quantity), 2) as revenue,
           count(distinct i.event_id)::int8 as purchases, count(distinct b.user_id)::int8 as users
         from purchase_items i join purchases b using (event_id)
           left join product_counts p on p.product_id = i.product_id
         where ${inRange}
         group by 1 order by revenue desc, key`
        : `select coalesce(${by}, 'unknown') as key, round(sum(amount), 2) as revenue, count(*)::int8 as purchases,
           count(distinct user_id)::int8 as users
         from purchases b where ${inRange} group by 1 order by revenue desc, key`,
      params,
    );
    return c.json({ by, rows });
  },
);

app.get(
  "/videos",
  describeRoute({
    summary: "Videos by plays, with completion and drop-off",
    query: api.VideosQuery,
    response: api.Videos,
    errors: [400],
  }),
  async (c) => {
    const { limit } = c.req.valid("query");
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
  },
);

/** Bucket edges of the session distributions: duration (seconds) and pages per session. */
const DURATION_EDGES = [0, 10, 30, 60, 180, 600, 1800];
const PAGE_EDGES = [0, 1, 2, 3, 6, 11];

app.get(
  "/sessions",
  describeRoute({
    summary: "Distributions of session length and pages per session",
    query: api.SessionsQuery,
    response: api.Sessions,
    errors: [400],
  }),
  async (c) => {
    const { from = null, to = null } = c.req.valid("query");
    // As in /revenue: each end in the SQL only when given; $1 is the buckets' edges.
    const ends = [from, to].filter((t) => t !== null);
    const inRange = [from && "started_at >= $2", to && `started_at < $${ends.length + 1}`]
      .filter(Boolean).join(" and ") || "true";
    const [durations, pages] = await Promise.all([
      c.env.db.query<{ bucket: number; sessions: number }>(
        `select width_bucket(extract(epoch from ended_at - started_at)::float8, $1::float8[]) as bucket,
         count(*)::int8 as sessions
       from sessions where ${inRange} group by 1`,
        [DURATION_EDGES, ...ends],
      ),
      c.env.db.query<{ bucket: number; sessions: number }>(
        `select width_bucket(pages, $1::int8[]) as bucket, count(*)::int8 as sessions from sessions
         where ${inRange} group by 1`,
        [PAGE_EDGES, ...ends],
      ),
    ]);
    const histogram = (edges: number[], rows: { bucket: number; sessions: number }[]) =>
      edges.map((from, i) => ({
        from,
        to: edges[i + 1] ?? null,
        sessions: rows.find((r) => r.bucket === i + 1)?.sessions ?? 0,
      }));
    return c.json({ duration_s: histogram(DURATION_EDGES, durations), pages: histogram(PAGE_EDGES, pages) });
  },
);

userRoutes(app);
retentionRoutes(app);
peopleRoutes(app);

export default definePlugin({
  name: "stats",
  version: "0.1.0",
  subscribes: "*",
  queue,
  merge,
  fetch: app,
  // About 126 bytes per event across its tables at 10 million (docs/performance.md): 8 GiB holds some 65 million.
  limits: { storageMb: 8192 },
  panels: [
    { title: "Overview", route: "/overview", kind: "tiles" },
    { title: "Events per hour", route: "/timeseries?bucket=hour", kind: "timeseries" },
    { title: "Trending products (last 5 minutes)", route: "/products/trending", kind: "table" },
    { title: "Revenue by country", route: "/revenue?by=country", kind: "bar" },
  ],
});
