// @ts-check
/// <reference lib="dom" />
/**
 * The "Live" view: the headline numbers of a range of event time (the last hour unless the range says otherwise) and of
 * all time, compared with the period before if asked, and events and revenue over the range.
 * @module
 */
import { propertyNames, sliceBar, sliceOf, sliceQuery, valueLabel } from "../breakdown.js";
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
 * @property {number | null} sessions null when filtered by a property
 * @property {number} purchases
 * @property {number} revenue
 * @property {number} conversion_rate
 * @property {number | null} cart_abandonment_rate null when filtered by a property
 * @property {number} aov
 * @property {{ by: string, rows: BreakdownRow[] }} [breakdown]
 */

/**
 * A row of a breakdown: a value of the property (null: events without it), or all values past the top ones.
 * @typedef {{ key: string | null, other: boolean, events: number, users: number, purchases: number, revenue: number,
 *   conversion_rate: number }} BreakdownRow
 */

/**
 * `GET /api/stats/timeseries`: dense buckets of event time.
 * @typedef {{ buckets: { start: string, events: number, by_type: Record<string, number>, revenue: number }[],
 *   breakdown?: { rows: { start: string, key: string | null, other: boolean, events: number }[] } }} Timeseries
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
    KPIS.map(([key, format]) => {
      const v = x[key];
      return [`${prefix}${key}`, v ?? NaN, v === null ? "—" : format ? format(v) : undefined];
    });
  const range = ctx.range && ctx.range.from ? ctx.range : null;
  /** @type {Node[]} */
  const out = [];
  const slice = sliceOf(ctx.params);
  const filtered = sliceQuery({ by: null, where: slice.where });
  if (range) {
    // The controls first, so that a breakdown or a condition the API refuses can be changed back.
    const properties = await propertyNames(ctx.api);
    out.push(sliceBar(slice, properties, ctx.route, ctx.params));
    const path = `/api/stats/overview?${rangeQuery(range)}${sliceQuery(slice)}`;
    try {
      const [now, before] = await Promise.all([
        /** @type {Promise<Overview>} */ (ctx.api(path)),
        range.previous
          ? /** @type {Promise<Overview>} */ (ctx.api(`/api/stats/overview?${rangeQuery(range.previous)}${filtered}`))
          : null,
      ]);
      const where = slice.where.length ? ", filtered" : "";
      out.push(section(`The ${range.label}${where}`, tiles(kpis(now, "range_"))));
      if (before) out.push(section("Compared with the period before", comparison(now, before, range.previous)));
      if (now.breakdown) out.push(breakdownTable(now.breakdown, path));
    } catch (e) {
      return [...out, ctx.failure(e)];
    }
  }
  out.push(section("All time", tiles(kpis(o, ""))));
  if (range) out.push(await series(ctx, range, slice).catch(ctx.failure));
  return out;
}

/**
 * A breakdown's rows as a table, with their CSV.
 * @param {{ by: string, rows: BreakdownRow[] }} breakdown
 * @param {string} path the route it came from
 * @returns {HTMLElement}
 */
function breakdownTable(breakdown, path) {
  return section(
    `By ${breakdown.by}`,
    table(
      `the range's events by ${breakdown.by}: the values with the most, then the others together`,
      [
        ["key", breakdown.by, (/** @type {unknown} */ _, /** @type {BreakdownRow} */ r) => valueLabel(r)],
        ["events", "events"],
        ["users", "users"],
        ["purchases", "purchases"],
        ["revenue", "revenue"],
        ["conversion_rate", "conversion", (/** @type {number} */ v) => pct(v)],
      ],
      breakdown.rows,
      { path, table: "breakdown.rows" },
    ),
  );
}

/**
 * Each KPI in the range and in the period before, and the change, as a table.
 * @param {Overview} now
 * @param {Overview} before
 * @param {{ from: string, to: string } | null} previous
 * @returns {HTMLElement}
 */
function comparison(now, before, previous) {
  /** A KPI as shown: "—" when null (filtered by a property, a session's figures are). */
  const shown = (/** @type {number | null} */ v, /** @type {((x: number) => string) | null} */ format) =>
    v === null ? "—" : format ? format(v) : v;
  const rows = KPIS.map(([key, format]) => {
    const [a, b] = [now[key], before[key]];
    return {
      kpi: key.replaceAll("_", " "),
      now: shown(a, format),
      before: shown(b, format),
      change: a === null || b === null ? "—" : change(a, b),
    };
  });
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
 * @param {import("../breakdown.js").Slice} slice
 * @returns {Promise<HTMLElement>}
 */
async function series(ctx, range, slice) {
  const span = Date.parse(/** @type {string} */ (range.to)) - Date.parse(/** @type {string} */ (range.from));
  const bucket = span <= 3 * 3_600_000 ? "minute" : span <= 7 * 86_400_000 ? "hour" : "day";
  const [{ buckets, breakdown }, earlier] = await Promise.all([
    /** @type {Promise<Timeseries>} */ (ctx.api(
      `/api/stats/timeseries?bucket=${bucket}&${rangeQuery(range)}${sliceQuery(slice, 5)}`,
    )),
    range.previous
      ? /** @type {Promise<Timeseries>} */ (ctx.api(
        `/api/stats/timeseries?bucket=${bucket}&${rangeQuery(range.previous)}${sliceQuery({ ...slice, by: null })}`,
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
  // Values are the senders' text: objects without a prototype, so that a value named __proto__ is a series too.
  /** @type {Record<string, Record<string, number>>} */
  const byValue = Object.create(null);
  for (const r of breakdown?.rows ?? []) (byValue[r.start] ??= Object.create(null))[valueLabel(r)] = r.events;
  const values = [...new Set((breakdown?.rows ?? []).map(valueLabel))];
  return h(
    "div",
    { class: "grid" },
    breakdown
      ? section(
        `Events per ${bucket} by ${slice.by}`,
        lineChart(
          `events per ${bucket} by ${slice.by}`,
          buckets.map((b) => ({ t: Date.parse(b.start), values: byValue[b.start] ?? {} })),
          values,
          label,
        ),
      )
      : null,
    section(
      `Events per ${bucket} by type`,
      lineChart(`events per ${bucket}`, points, earlier ? [...types, "events, period before"] : types, label),
    ),
    section(`Revenue per ${bucket}`, lineChart(`revenue per ${bucket}`, points, ["revenue"], label)),
  );
}
