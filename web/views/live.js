// @ts-check
/// <reference lib="dom" />
/**
 * The "Live" view: the headline numbers of the last hour of event time and of all time, and events and revenue per
 * minute over the last hour.
 * @module
 */
import { lineChart } from "../charts.js";
import { h } from "../dom.js";
import { note, pct, section, tiles } from "../widgets.js";

/** @import { ViewContext } from "../app.js" */

/**
 * `GET /api/stats/overview`.
 * @typedef {object} Overview
 * @property {number} events
 * @property {number} users
 * @property {number} sessions
 * @property {number} purchases
 * @property {number} revenue
 * @property {number} conversion_rate
 * @property {number} cart_abandonment_rate
 * @property {number} aov
 */

/**
 * `GET /api/stats/timeseries`: dense buckets of event time.
 * @typedef {{ buckets: { start: string, by_type: Record<string, number>, revenue: number }[] }} Timeseries
 */

/**
 * The KPIs of the last hour of event time (once the stream has said where event time stands) and of all time, then
 * the last hour per minute.
 * @param {ViewContext} ctx
 * @returns {Promise<Node[]>}
 */
export async function liveView(ctx) {
  const o = /** @type {Overview} */ (await ctx.api("/api/stats/overview"));
  if (o.events === 0) {
    return [note("empty", "No events yet.", "Send some with POST /v1/events, or run: deno task simulate --rate 200")];
  }
  /**
   * @param {Overview} x
   * @param {string} prefix
   * @returns {import("../widgets.js").Tile[]}
   */
  const kpis = (x, prefix) => [
    [`${prefix}events`, x.events],
    [`${prefix}users`, x.users],
    [`${prefix}sessions`, x.sessions],
    [`${prefix}purchases`, x.purchases],
    [`${prefix}revenue`, x.revenue],
    [`${prefix}conversion_rate`, x.conversion_rate, pct(x.conversion_rate)],
    [`${prefix}cart_abandonment_rate`, x.cart_abandonment_rate, pct(x.cart_abandonment_rate)],
    [`${prefix}aov`, x.aov],
  ];
  /** @type {Node[]} */
  const out = [];
  const range = lastHour(ctx.state.snapshot?.watermark);
  if (range) {
    const hour = /** @type {Overview} */ (await ctx.api(`/api/stats/overview?${range}`));
    out.push(section("Last hour of event time", tiles(kpis(hour, "last_hour_"))));
  }
  out.push(section("All time", tiles(kpis(o, ""))));
  if (range) {
    const { buckets } = /** @type {Timeseries} */ (await ctx.api(`/api/stats/timeseries?bucket=minute&${range}`));
    /** @type {Record<string, number>} */
    const totals = {};
    for (const b of buckets) for (const [t, n] of Object.entries(b.by_type)) totals[t] = (totals[t] ?? 0) + n;
    const types = Object.keys(totals).sort((a, b) => totals[b] - totals[a]).slice(0, 6);
    const points = buckets.map((b) => ({ t: Date.parse(b.start), values: { ...b.by_type, revenue: b.revenue } }));
    out.push(h(
      "div",
      { class: "grid" },
      section("Events per minute by type (last hour of event time)", lineChart("events per minute", points, types)),
      section("Revenue per minute", lineChart("revenue per minute", points, ["revenue"])),
    ));
  }
  return out;
}

/**
 * The query of the hour of event time up to the watermark's minute, included; null before the stream said where it is.
 * @param {string | null | undefined} watermark
 * @returns {string | null}
 */
export function lastHour(watermark) {
  if (!watermark) return null;
  const to = Math.floor(Date.parse(watermark) / 60_000) * 60_000 + 60_000;
  return `from=${new Date(to - 60 * 60_000).toISOString()}&to=${new Date(to).toISOString()}`;
}
