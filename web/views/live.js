// @ts-check
/// <reference lib="dom" />
/**
 * The "Live" view: the headline numbers, and events and revenue per minute over the last hour of event time.
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
 * The KPIs, then (once the stream has said where event time stands) the last hour per minute.
 * @param {ViewContext} ctx
 * @returns {Promise<Node[]>}
 */
export async function liveView(ctx) {
  const o = /** @type {Overview} */ (await ctx.api("/api/stats/overview"));
  if (o.events === 0) {
    return [note("empty", "No events yet.", "Send some with POST /v1/events, or run: deno task simulate --rate 200")];
  }
  /** @type {Node[]} */
  const out = [section(
    "Live KPIs",
    tiles([
      ["events", o.events],
      ["users", o.users],
      ["sessions", o.sessions],
      ["purchases", o.purchases],
      ["revenue", o.revenue],
      ["conversion_rate", o.conversion_rate, pct(o.conversion_rate)],
      ["cart_abandonment_rate", o.cart_abandonment_rate, pct(o.cart_abandonment_rate)],
      ["aov", o.aov],
    ]),
  )];
  const wm = ctx.state.snapshot?.watermark;
  if (wm) {
    const to = Math.floor(Date.parse(wm) / 60_000) * 60_000 + 60_000;
    const q = `bucket=minute&from=${new Date(to - 60 * 60_000).toISOString()}&to=${new Date(to).toISOString()}`;
    const { buckets } = /** @type {Timeseries} */ (await ctx.api(`/api/stats/timeseries?${q}`));
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
