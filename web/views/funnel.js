// @ts-check
/// <reference lib="dom" />
/**
 * The "Funnel" view: the default shopping funnel per session, and the users per step of a chosen custom funnel, over the
 * range of event time in view (sessions starting in it; users entering the custom funnel in it), the default funnel
 * compared with the period before if asked.
 * @module
 */
import { propertyNames, sliceBar, sliceOf, sliceQuery, valueLabel } from "../breakdown.js";
import { barChart, formatNumber } from "../charts.js";
import { h } from "../dom.js";
import { change, rangeQuery } from "../range.js";
import { note, pct, section, table, tiles } from "../widgets.js";
import { peopleHref } from "./people.js";

/** @import { ViewContext } from "../app.js" */

/**
 * `GET /api/funnel/summary`: the default funnel per session.
 * @typedef {object} FunnelSummary
 * @property {number} sessions
 * @property {number} cart_abandonment_rate
 * @property {{ step: string, sessions: number, conversion_from_start: number }[]} steps
 */

/**
 * `GET /api/funnel/definitions`.
 * @typedef {{ definitions: { name: string }[] }} FunnelDefinitions
 */

/**
 * `GET /api/funnel/definitions/:name/report`.
 * @typedef {{ steps: { step: number, type: string, users: number, drop_off: number }[],
 *   breakdown?: { by: string, rows: { key: string | null, other: boolean, users: number[], conversion_rate: number }[] }
 * }} FunnelReport
 */

/**
 * A link to the users behind a number (the People view), showing `text`; `where` are the conditions it was counted with.
 * @param {Record<string, string>} query
 * @param {string | number} text
 * @param {string[]} [where]
 * @returns {HTMLAnchorElement}
 */
const people = (query, text, where = []) => {
  const q = new URLSearchParams(query);
  for (const w of where) q.append("where", w);
  return h("a", { href: peopleHref(q) }, typeof text === "number" ? formatNumber(text) : text);
};

/**
 * The default funnel, then the custom funnel chosen in its select (kept in `ctx.state.selectedFunnel`).
 * @param {ViewContext} ctx
 * @returns {Promise<Node[]>}
 */
export async function funnelView(ctx) {
  const range = ctx.range ? rangeQuery(ctx.range) : "";
  const previous = ctx.range?.previous ? rangeQuery(ctx.range.previous) : null;
  const [summary, { definitions }, before] = await Promise.all([
    /** @type {Promise<FunnelSummary>} */ (ctx.api(`/api/funnel/summary?${range}`)),
    /** @type {Promise<FunnelDefinitions>} */ (ctx.api("/api/funnel/definitions")),
    previous === null ? null : /** @type {Promise<FunnelSummary>} */ (ctx.api(`/api/funnel/summary?${previous}`)),
  ]);
  /** The range's own parameters, for the people behind a step. */
  const within = Object.fromEntries(new URLSearchParams(range));
  const out = [section(
    "Shopping funnel (per session)",
    tiles([
      ["sessions", summary.sessions],
      ["cart_abandonment_rate", summary.cart_abandonment_rate, pct(summary.cart_abandonment_rate)],
    ]),
    summary.sessions === 0 ? note("empty", "No sessions yet.") : barChart(
      "sessions per funnel step",
      summary.steps.map((s, k) => ({
        label: s.step,
        value: s.sessions,
        // Conversion from the first step, and the sessions lost since the one before.
        note: k === 0
          ? pct(s.conversion_from_start)
          : `${pct(s.conversion_from_start)} −${summary.steps[k - 1].sessions - s.sessions}`,
      })),
    ),
    summary.sessions === 0 ? null : table(
      "sessions per step, and the users behind them",
      [
        ["step", "step"],
        ["sessions", "sessions"],
        [
          "reached",
          "users",
          (/** @type {string} */ _, /** @type {{ step: string }} */ s) =>
            people({ of: "summary", step: s.step, outcome: "reached", ...within }, "who reached it"),
        ],
        [
          "dropped",
          "",
          (/** @type {string} */ _, /** @type {{ step: string }} */ s) =>
            people({ of: "summary", step: s.step, outcome: "dropped", ...within }, "who stopped before"),
        ],
      ],
      summary.steps.map((s) => ({ step: s.step, sessions: s.sessions, reached: "", dropped: "" })),
      { path: `/api/funnel/summary?${range}` },
    ),
    before === null || summary.sessions === 0 ? null : table(
      "against the period before: sessions per step, and conversion from the first step",
      [
        ["step", "step"],
        ["sessions", "sessions"],
        ["before", "before"],
        ["change", "change"],
        ["conversion", "conversion", pct],
        ["conversion_before", "before", pct],
      ],
      summary.steps.map((s, k) => ({
        step: s.step,
        sessions: s.sessions,
        before: before.steps[k].sessions,
        change: change(s.sessions, before.steps[k].sessions),
        conversion: s.conversion_from_start,
        conversion_before: before.steps[k].conversion_from_start,
      })),
    ),
  )];
  if (definitions.length === 0) {
    out.push(section(
      "Custom funnels",
      note(
        "empty",
        "No custom funnels yet.",
        'Create one: POST /api/funnel/definitions {"name": "buy", "steps": ["product_view", "purchase"]}',
      ),
    ));
    return out;
  }
  const chosen = definitions.find((d) => d.name === ctx.state.selectedFunnel) ?? definitions[0];
  const select = h(
    "select",
    { id: "funnel-select", "aria-label": "Custom funnel" },
    definitions.map((d) => h("option", { value: d.name, selected: d.name === chosen.name ? "" : undefined }, d.name)),
  );
  select.addEventListener("change", () => {
    ctx.state.selectedFunnel = select.value;
    ctx.render();
  });
  // Broken down and filtered by properties as the hash says; the names offered are those stats has seen.
  const slice = sliceOf(ctx.params);
  const properties = await propertyNames(ctx.api);
  const path = `/api/funnel/definitions/${encodeURIComponent(chosen.name)}/report?${range}${sliceQuery(slice)}`;
  /** @type {FunnelReport} */
  let report;
  try {
    report = /** @type {FunnelReport} */ (await ctx.api(path));
  } catch (e) {
    return [
      ...out,
      section("Custom funnels", select, sliceBar(slice, properties, ctx.route, ctx.params), ctx.failure(e)),
    ];
  }
  const last = report.steps.length - 1;
  out.push(section(
    "Custom funnels",
    select,
    sliceBar(slice, properties, ctx.route, ctx.params),
    barChart(
      `users per step of ${chosen.name}`,
      report.steps.map((s) => ({
        label: `${s.step}. ${s.type}`,
        value: s.users,
        note: s.step === 1 ? "" : `−${s.drop_off}`,
      })),
    ),
    table(
      `users per step of ${chosen.name}; each count links to its users`,
      [
        ["step", "step"],
        ["type", "event"],
        [
          "users",
          "users",
          (/** @type {number} */ n, /** @type {{ step: number }} */ s) =>
            people(
              { of: "funnel", name: chosen.name, step: String(s.step), outcome: "reached", ...within },
              n,
              slice.where,
            ),
        ],
        [
          "drop_off",
          "dropped before it",
          (/** @type {number} */ n, /** @type {{ step: number }} */ s) =>
            s.step === 1
              ? "—"
              : people({ of: "funnel", name: chosen.name, step: String(s.step), ...within }, n, slice.where),
        ],
      ],
      report.steps,
      { path },
    ),
    report.breakdown
      ? table(
        `users of ${chosen.name} by ${report.breakdown.by}: the values with the most entering, then the others together`,
        [
          [
            "key",
            report.breakdown.by,
            (/** @type {unknown} */ _, /** @type {{ key: string | null, other: boolean }} */ r) => valueLabel(r),
          ],
          ["users", "entered", (/** @type {number[]} */ u) => formatNumber(u[0])],
          ["users", "reached the last step", (/** @type {number[]} */ u) => formatNumber(u[last])],
          ["conversion_rate", "conversion", (/** @type {number} */ v) => pct(v)],
        ],
        report.breakdown.rows,
        { path, table: "breakdown.rows" },
      )
      : null,
  ));
  return out;
}
