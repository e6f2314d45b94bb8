/**
 * `stats`: KPIs over any range of minutes, and per-user stats. Every table is updated per batch in
 * the batch's transaction, so numbers are exact under duplicates, late events and replays.
 * @module
 */
import { Hono } from "hono";
import { answerHttpError, definePlugin, describeRoute, type Env } from "@runtime/sdk";
import * as api from "./api.ts";
import { merge } from "./merge.ts";
import { Config, overviewRoutes } from "./overview.ts";
import { peopleRoutes } from "./people.ts";
import { retentionRoutes } from "./retention.ts";
import { queue } from "./queue.ts";
import { userRoutes } from "./users.ts";

const app = new Hono<{ Bindings: Env }>();

app.notFound((c) => c.json({ error: `no route for ${c.req.method} /api/stats${c.req.path}` }, 404));
app.onError(answerHttpError);

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

overviewRoutes(app);
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
  config: Config,
  // About 390 bytes per event across its tables with every event's facts (375 MiB at 1 million, embedded; 126 before
  // them: docs/performance.md): 16 GiB holds some 44 million.
  limits: { storageMb: 16384 },
  panels: [
    { title: "Overview", route: "/overview", kind: "tiles" },
    { title: "Events per hour", route: "/timeseries?bucket=hour", kind: "timeseries" },
    { title: "Trending products (last 5 minutes)", route: "/products/trending", kind: "table" },
    { title: "Revenue by country", route: "/revenue?by=country", kind: "bar" },
  ],
});
