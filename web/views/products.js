// @ts-check
/// <reference lib="dom" />
/**
 * The "Products" view: the top products by revenue, and revenue by country and by category, over the range of event
 * time in view; the top products against the period before, when compared.
 * @module
 */
import { barChart } from "../charts.js";
import { h } from "../dom.js";
import { compared, rangeQuery } from "../range.js";
import { note, pct, section, table } from "../widgets.js";

/** @import { ViewContext } from "../app.js" */

/**
 * A product as `GET /api/stats/products` lists it.
 * @typedef {object} Product
 * @property {string} product_id
 * @property {string | null} category
 * @property {number} views
 * @property {number} adds_to_cart
 * @property {number} purchases
 * @property {number} revenue
 * @property {number} conversion_rate
 */

/**
 * `GET /api/stats/revenue?by=...`: largest revenue first.
 * @typedef {{ rows: { key: string, revenue: number }[] }} Revenue
 */

/**
 * The 20 products with the most revenue in the range (each against its revenue in the period before, when compared),
 * then revenue by country and by category side by side.
 * @param {ViewContext} ctx
 * @returns {Promise<Node[]>}
 */
export async function productsView(ctx) {
  const range = ctx.range ? rangeQuery(ctx.range) : "";
  const previous = ctx.range?.previous;
  const [{ products }, before, country, category] = await Promise.all([
    /** @type {Promise<{ products: Product[] }>} */ (ctx.api(`/api/stats/products?limit=20&sort=revenue&${range}`)),
    previous
      // The period before's revenue of every product, not only of its own top 20.
      ? /** @type {Promise<{ products: Product[] }>} */ (ctx.api(
        `/api/stats/products?limit=1000&sort=revenue&${rangeQuery(previous)}`,
      ))
      : null,
    /** @type {Promise<Revenue>} */ (ctx.api(`/api/stats/revenue?by=country&${range}`)),
    /** @type {Promise<Revenue>} */ (ctx.api(`/api/stats/revenue?by=category&${range}`)),
  ]);
  if (products.length === 0) return [note("empty", "No product events in this range.")];
  const top = compared(products, before?.products ?? null, (p) => p.product_id, (p) => p.revenue, "revenue before");
  return [
    section(
      "Top products by revenue",
      table(
        `20 highest, ${ctx.range?.label ?? "all time"}`,
        [
          ["product_id", "product"],
          ["category", "category"],
          ["views", "views"],
          ["adds_to_cart", "adds"],
          ["purchases", "purchases"],
          ["revenue", "revenue"],
          ["conversion_rate", "conversion", pct],
          ...top.columns,
        ],
        top.rows,
        { path: `/api/stats/products?limit=1000&sort=revenue&${range}` },
      ),
    ),
    h(
      "div",
      { class: "grid" },
      section(
        "Revenue by country",
        barChart(
          `revenue by country, ${ctx.range?.label ?? "all time"}`,
          country.rows.map((r) => ({ label: r.key, value: r.revenue })),
        ),
      ),
      section(
        "Revenue by category",
        barChart(
          `revenue by category, ${ctx.range?.label ?? "all time"}`,
          category.rows.map((r) => ({ label: r.key, value: r.revenue })),
        ),
      ),
    ),
  ];
}
