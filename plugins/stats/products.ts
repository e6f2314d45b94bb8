/**
 * stats' products: the top products of all time (from the per-product totals) or of a range of event time (its whole
 * UTC days from `product_days`, its partial days from the per-minute views and the purchases' lines), and the trending
 * ones of the last minutes.
 * @module
 */
import type { Hono } from "hono";
import { describeRoute, type Env } from "@runtime/sdk";
import * as api from "./api.ts";
import { inRangeSql, type Span, splitDays, wholeMinutes } from "./buckets.ts";

/** The rolling window of `/products/trending`. */
const TRENDING_MINUTES = 5;

/** SQL: `column` (a UTC date) within the whole days of `days`; pushes the ends (seconds) to `params`. */
function daysSql(column: string, days: Span | null, params: unknown[]): string {
  if (days === null) return "false";
  const day = (ms: number) => `(to_timestamp($${params.push(ms / 1000)}) at time zone 'UTC')::date`;
  return [days.from !== null && `${column} >= ${day(days.from)}`, days.to !== null && `${column} < ${day(days.to)}`]
    .filter(Boolean).join(" and ") || "true";
}

/** SQL: `column` within one of `edges`; pushes their ends to `params`. */
function edgesSql(column: string, edges: Span[], params: unknown[]): string {
  return edges.map((e) => `(${inRangeSql(column, e, params)})`).join(" or ") || "false";
}

/** The figures of each product over its counts `t` (product_id, category, views, adds, purchases, revenue). */
const PRODUCT_FIGURES = `t.product_id, t.category, t.views::int8 as views, t.adds::int8 as adds_to_cart,
  t.purchases::int8 as purchases, round(t.revenue, 2) as revenue,
  case when t.views = 0 then 0 else round(t.purchases::numeric / t.views, 4) end as conversion_rate`;

/** stats' `/products` and `/products/trending`. */
export function productRoutes(app: Hono<{ Bindings: Env }>): void {
  app.get(
    "/products",
    describeRoute({
      summary: "Products by views, adds to cart, purchases and revenue, of all time or over a range of event time",
      query: api.ProductsQuery,
      response: api.Products,
      errors: [400],
    }),
    async (c) => {
      const { limit, sort, from = null, to = null } = c.req.valid("query");
      if (from === null && to === null) {
        const products = await c.env.db.query(
          `with sold as (
             select product_id, count(distinct event_id) as purchases, sum(price * quantity) as revenue
             from purchase_items group by product_id
           ), t as (
             select coalesce(p.product_id, s.product_id) as product_id, p.category, coalesce(p.views, 0) as views,
               coalesce(p.adds, 0) as adds, coalesce(s.purchases, 0) as purchases, coalesce(s.revenue, 0) as revenue
             from product_counts p full join sold s on s.product_id = p.product_id
           )
           select ${PRODUCT_FIGURES} from t order by ${sort} desc, product_id limit $1`,
          [limit],
        );
        return c.json({ from, to, products });
      }
      const { days, edges } = splitDays(wholeMinutes(from, to));
      const params: unknown[] = [];
      const products = await c.env.db.query(
        `with counted as (
           select product_id, views, adds, purchases, revenue from product_days where ${daysSql("day", days, params)}
           union all
           select product_id, views, adds, 0, 0 from product_minutes m where ${edgesSql("m.minute", edges, params)}
           union all
           select i.product_id, 0, 0, count(distinct i.event_id), sum(i.price * i.quantity)
           from purchase_items i join purchases b using (event_id)
           where ${edgesSql("b.ts", edges, params)} group by i.product_id
         ), t as (
           select c.product_id, p.category, sum(c.views) as views, sum(c.adds) as adds,
             sum(c.purchases) as purchases, sum(c.revenue) as revenue
           from counted c left join product_counts p using (product_id) group by c.product_id, p.category
         )
         select ${PRODUCT_FIGURES} from t where t.views > 0 or t.adds > 0 or t.purchases > 0
         order by ${sort} desc, product_id limit $${params.push(limit)}`,
        params,
      );
      return c.json({ from, to, products });
    },
  );

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
         where m.minute >= $1 and m.minute < $2 and m.views > 0
         group by 1, 2 order by views desc, product_id limit $3`,
        [new Date(from).toISOString(), new Date(to).toISOString(), limit],
      );
      return c.json({ window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() }, products });
    },
  );
}
