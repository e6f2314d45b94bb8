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
import { productRoutes } from "./products.ts";
import { retentionRoutes } from "./retention.ts";
import { queue } from "./queue.ts";
import { userRoutes } from "./users.ts";
import { videoRoutes } from "./videos.ts";

const app = new Hono<{ Bindings: Env }>();

app.notFound((c) => c.json({ error: `no route for ${c.req.method} /api/stats${c.req.path}` }, 404));
app.onError(answerHttpError);

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
productRoutes(app);
videoRoutes(app);
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
