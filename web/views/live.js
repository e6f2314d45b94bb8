// @ts-check
/// <reference lib="dom" />
/**
 * The "Live" view: the headline numbers of a range of event time (the last hour unless the range says otherwise) and of
 * all time, compared with the period before if asked, and events and revenue over the range.
 * @module
 */
import { lineChart } from "../charts.js";
import { h } from "../dom.js";
import { change, rangeQuery } from "../range.js";
import { note, pct, section, table, tiles } from "../widgets.js";

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
 * @typedef {{ buckets: { start: string, events: number, by_type: Record<string, number>, revenue: number }[] }} Timeseries
 */

/** The KPIs the view shows, and how. */
const KPIS = /** @type {const} */ ([
  ["events", null],
  ["users", null],
  ["sessions", null],
  ["purchases", null],
  ["revenue", null],
  ["conversion_rate", pct],
  ["cart_abandonment_rate", pct],
  ["aov", null],
]);

/**
 * The KPIs of the range of event time in view (by default the last hour up to the watermark's minute) and of all time;
 * with compare, each beside the period before and the change; then the range per minute, hour or day.
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
  const kpis = (x, prefix) =>
    KPIS.map(([key, format]) => [`${prefix}${key}`, x[key], format ? format(x[key]) : undefined]);
  const range = ctx.range && ctx.range.from ? ctx.range : null;
  /** @type {Node[]} */
  const out = [];
  if (range) {
    const [now, before] = await Promise.all([
      /** @type {Promise<Overview>} */ (ctx.api(`/api/stats/overview?${rangeQuery(range)}`)),
      range.previous
        ? /** @type {Promise<Overview>} */ (ctx.api(`/api/stats/overview?${rangeQuery(range.previous)}`))
        : null,
    ]);
    out.push(section(`The ${range.label}`, tiles(kpis(now, "range_"))));
    if (before) out.push(section("Compared with the period before", comparison(now, before, range.previous)));
  }
  out.push(section("All time", tiles(kpis(o, ""))));
  if (range) out.push(await series(ctx, range));
  return out;
}

/**
 * Each KPI in the range and in the period before, and the change, as a table.
 * @param {Overview} now
 * @param {Overview} before
 * @param {{ from: string, to: string } | null} previous
 * @returns {HTMLElement}
 */
function comparison(now, before, previous) {
  const rows = KPIS.map(([key, format]) => ({
    kpi: key.replaceAll("_", " "),
    now: format ? format(now[key]) : now[key],
    before: format ? format(before[key]) : before[key],
    change: change(now[key], before[key]),
  }));
  return table(
    `the range against ${previous?.from.slice(0, 16).replace("T", " ")} to ${
      previous?.to.slice(0, 16).replace("T", " ")
    }`,
    [["kpi", "KPI"], ["now", "this period"], ["before", "the period before"], ["change", "change"]],
    rows,
  );
}

/**
 * Events by type and revenue per minute, hour or day over `range` (by its length), with the period before's events
 * as a series of its own when compared.
 * @param {ViewContext} ctx
 * @param {import("../range.js").Range} range
 * @returns {Promise<HTMLElement>}
 */
async function series(ctx, range) {
  const span = Date.parse(/** @type {string} */ (range.to)) - Date.parse(/** @type {string} */ (range.from));
  const bucket = span <= 3 * 3_600_000 ? "minute" : span <= 7 * 86_400_000 ? "hour" : "day";
  const [{ buckets }, earlier] = await Promise.all([
    /** @type {Promise<Timeseries>} */ (ctx.api(`/api/stats/timeseries?bucket=${bucket}&${rangeQuery(range)}`)),
    range.previous
      ? /** @type {Promise<Timeseries>} */ (ctx.api(
        `/api/stats/timeseries?bucket=${bucket}&${rangeQuery(range.previous)}`,
      ))
      : null,
  ]);
  /** @type {Record<string, number>} */
  const totals = {};
  for (const b of buckets) for (const [t, n] of Object.entries(b.by_type)) totals[t] = (totals[t] ?? 0) + n;
  const types = Object.keys(totals).sort((a, b) => totals[b] - totals[a]).slice(0, 6);
  const points = buckets.map((b, k) => ({
    t: Date.parse(b.start),
    values: {
      ...b.by_type,
      revenue: b.revenue,
      ...(earlier ? { "events, period before": earlier.buckets[k]?.events ?? NaN } : {}),
    },
  }));
  const label = bucket === "day" ? (/** @type {number} */ t) => new Date(t).toISOString().slice(5, 10) : undefined;
  return h(
    "div",
    { class: "grid" },
    section(
      `Events per ${bucket} by type`,
      lineChart(`events per ${bucket}`, points, earlier ? [...types, "events, period before"] : types, label),
    ),
    section(`Revenue per ${bucket}`, lineChart(`revenue per ${bucket}`, points, ["revenue"], label)),
  );
}
