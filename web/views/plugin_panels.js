// @ts-check
/// <reference lib="dom" />
/**
 * The "Plugin panels" view: every panel the loaded plugins declare, each drawn from its route's answer by its
 * kind (tiles, time series, bars or a table), whatever the answer's shape.
 * @module
 */
import { barChart, lineChart } from "../charts.js";
import { h } from "../dom.js";
import { note, table, tiles } from "../widgets.js";

/** @import { Panel, PluginList } from "../api.js" */
/** @import { ViewContext } from "../app.js" */
/** @import { Child } from "../dom.js" */
/** @import { Tile } from "../widgets.js" */

/**
 * A row of a plugin's answer, as generic panels read it.
 * @typedef {Record<string, unknown>} Row
 */

/**
 * A section per declared panel, in plugin order; a panel whose route fails shows why, alone.
 * @param {ViewContext} ctx
 * @returns {Promise<Node[]>}
 */
export async function pluginPanelsView(ctx) {
  const { plugins } = /** @type {PluginList} */ (await ctx.api("/api/plugins"));
  const withPanels = plugins.filter((p) => p.panels?.length);
  if (withPanels.length === 0) return [note("empty", "No plugin declares panels.")];
  /** @type {Node[]} */
  const out = [];
  for (const p of withPanels) {
    for (const panel of p.panels) {
      const body = await ctx.api(`/api/${p.name}${panel.route}`).then(
        (data) => renderPanel(panel, data, `/api/${p.name}${panel.route}`),
        ctx.failure,
      );
      out.push(
        h(
          "section",
          { "aria-label": panel.title, "data-plugin": p.name },
          h("h2", {}, `${panel.title} · ${p.name}`),
          body,
        ),
      );
    }
  }
  return out;
}

/**
 * The rows of a plugin's answer, for generic panels: the answer itself or its first array; failing that, its
 * first object of numbers as `{ key, value }` rows.
 * @param {unknown} data
 * @returns {Row[]}
 */
function firstArray(data) {
  if (Array.isArray(data)) return data;
  /** @type {unknown[]} */
  const values = Object.values(data ?? {});
  const array = values.find(Array.isArray);
  if (array) return array;
  const counts = values.find((v) => v && typeof v === "object" && Object.values(v).every((n) => typeof n === "number"));
  return counts
    ? Object.entries(/** @type {Record<string, number>} */ (counts)).map(([key, value]) => ({ key, value }))
    : [];
}

/**
 * Renders a plugin panel by its kind, from whatever shape its route answers.
 * @param {Panel} panel
 * @param {unknown} data
 * @param {string} path where `data` came from, for the CSV
 * @returns {HTMLElement | SVGElement}
 */
function renderPanel(panel, data, path) {
  if (panel.kind === "tiles") {
    const numbers = Object.entries(/** @type {Row} */ (data)).filter(([, v]) => typeof v === "number");
    return tiles(/** @type {Tile[]} */ (numbers));
  }
  const rows = firstArray(data);
  if (rows.length === 0) return note("empty", "Nothing yet.");
  const keys = Object.keys(rows[0]);
  if (panel.kind === "timeseries") {
    const series = keys.filter((k) => typeof rows[0][k] === "number");
    const points = rows.map((r) => ({
      t: Date.parse(String(r.start)),
      values: /** @type {Record<string, number>} */ (r),
    }));
    return lineChart(panel.title, points, series);
  }
  if (panel.kind === "bar") {
    const label = keys.find((k) => typeof rows[0][k] === "string") ?? keys[0];
    const value = keys.find((k) => typeof rows[0][k] === "number");
    return barChart(
      panel.title,
      rows.map((r) => ({ label: String(r[label]), value: /** @type {number} */ (r[String(value)] ?? 0) })),
    );
  }
  /** @param {unknown} v */
  const show = (v) => (v !== null && typeof v === "object" ? JSON.stringify(v) : /** @type {Child} */ (v));
  return table(panel.title, keys.map((k) => [k, k.replaceAll("_", " "), show]), rows, { path });
}
