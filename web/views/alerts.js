// @ts-check
/// <reference lib="dom" />
/**
 * The "Alerts" view (the `alerts` plugin): the rules on KPIs, the chosen rule's KPI per window with its threshold, and
 * what fired, newest first. The chosen rule is kept in the hash (`#/alerts/rule=conversion-drop`).
 * @module
 */
import { lineChart } from "../charts.js";
import { h } from "../dom.js";
import { keepRange } from "../range.js";
import { note, section, table, time } from "../widgets.js";

/** @import { ViewContext } from "../app.js" */

/**
 * A rule, as `GET /api/alerts/rules` lists it.
 * @typedef {{
 *   name: string, kpi: string, window: "hour" | "day", condition: string, threshold: number, min_events: number,
 *   grace_minutes: number, enabled: boolean, next_window: string | null
 * }} Rule
 */

/**
 * An alert, as `GET /api/alerts/fired` lists it.
 * @typedef {{
 *   alert_id: string, rule: string, window_start: string, value: number, previous: number | null,
 *   change: number | null, events: number, judged_at: string
 * }} Fired
 */

/** How to make a rule, shown while there is none. */
const EXAMPLE = 'PUT /api/alerts/rules/conversion-drop {"kpi": "conversion_rate", "condition": "falls_by", ' +
  '"threshold": 0.3, "min_events": 100}';

/**
 * The rules, the chosen one's KPI, and the newest alerts.
 * @param {ViewContext} ctx
 * @param {string} [arg] `rule=<name>`
 * @returns {Promise<Node[]>}
 */
export async function alertsView(ctx, arg) {
  const [{ rules }, { alerts }] = await Promise.all([
    /** @type {Promise<{ rules: Rule[] }>} */ (ctx.api("/api/alerts/rules")),
    /** @type {Promise<{ alerts: Fired[] }>} */ (ctx.api("/api/alerts/fired?limit=50")),
  ]);
  if (rules.length === 0 && alerts.length === 0) {
    return [section("Alerts", note("empty", "No alert rules yet.", `Make one: ${EXAMPLE}`))];
  }
  const wanted = new URLSearchParams(arg ?? "").get("rule");
  const chosen = rules.find((r) => r.name === wanted) ?? rules[0];
  return [
    section(
      "Alert rules",
      table(
        "each judged once per window, when the watermark is past its end and grace",
        [
          ["name", "rule"],
          ["kpi", "KPI"],
          ["window", "per"],
          ["condition", "fires when"],
          ["threshold", "threshold"],
          ["min_events", "min events"],
          ["grace_minutes", "grace (min)"],
          ["enabled", "enabled", (/** @type {boolean} */ on) => on ? "yes" : "no"],
          ["next_window", "next window", time],
        ],
        rules,
        { path: "/api/alerts/rules" },
      ),
    ),
    chosen ? await kpiSection(ctx, chosen, rules) : null,
    section(
      "Fired",
      alerts.length === 0 ? note("empty", "Nothing fired yet.") : table(
        "newest first",
        [
          ["window_start", "window", time],
          ["rule", "rule"],
          ["value", "value"],
          ["previous", "window before", (/** @type {number | null} */ v) => v === null ? "—" : String(v)],
          ["change", "change", (/** @type {number | null} */ c) => c === null ? "—" : `${(c * 100).toFixed(1)}%`],
          ["events", "events"],
          ["judged_at", "judged at", time],
        ],
        alerts,
        { path: "/api/alerts/fired?limit=1000" },
      ),
    ),
  ].filter((n) => n !== null);
}

/**
 * The chosen rule's KPI over its last 48 windows, with its threshold when it is a value, and a choice of rule.
 * @param {ViewContext} ctx
 * @param {Rule} rule
 * @param {Rule[]} rules
 * @returns {Promise<HTMLElement>}
 */
async function kpiSection(ctx, rule, rules) {
  const query = new URLSearchParams({ kpi: rule.kpi, window: rule.window });
  const series = /** @type {{ points: { start: string, value: number | null }[] }} */ (
    await ctx.api(`/api/alerts/kpis?${query}`)
  );
  const select = h(
    "select",
    { id: "alerts-rule", "aria-label": "Rule" },
    rules.map((r) => h("option", { value: r.name, selected: r.name === rule.name ? "" : undefined }, r.name)),
  );
  select.addEventListener("change", () => {
    location.hash = keepRange(`#/alerts/${new URLSearchParams({ rule: select.value })}`);
  });
  const level = rule.condition === "above" || rule.condition === "below";
  const names = level ? [rule.kpi, "threshold"] : [rule.kpi];
  const points = series.points.map((p) => ({
    t: Date.parse(p.start),
    values: Object.fromEntries([[rule.kpi, p.value ?? NaN], ...(level ? [["threshold", rule.threshold]] : [])]),
  }));
  const label = rule.window === "day" ? (/** @type {number} */ t) => new Date(t).toISOString().slice(5, 10) : undefined;
  return section(
    `${rule.kpi} per ${rule.window}`,
    h("label", {}, "rule ", select),
    lineChart(`${rule.kpi} per ${rule.window}, the last 48`, points, names, label),
  );
}
