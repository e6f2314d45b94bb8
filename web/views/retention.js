// @ts-check
/// <reference lib="dom" />
/**
 * The "Retention" view: cohorts by their first day or week (or first event of a type), and the share of each that came
 * back in each later period, as a triangle table shaded by the share and as curves. The choices are kept in the hash
 * (`#/retention/interval=week&return_event=purchase`), so a view can be shared.
 * @module
 */
import { lineChart } from "../charts.js";
import { h } from "../dom.js";
import { keepRange, rangeQuery } from "../range.js";
import { csvButton, note, pct, section } from "../widgets.js";
import { peopleHref } from "./people.js";

/** @import { ViewContext } from "../app.js" */

/**
 * `GET /api/stats/retention`.
 * @typedef {{
 *   interval: string, periods: number, as_of: string | null, average: (number | null)[],
 *   cohorts: { start: string, users: number, retained: (number | null)[], rates: (number | null)[] }[]
 * }} Retention
 */

/** The choices the view offers, and their defaults. */
const CHOICES = { interval: "day", periods: "7", start_event: "", return_event: "" };

/** The cohorts drawn as curves beside the average: the latest ones. */
const CURVES = 4;

/**
 * The retention of the choices in `arg` (a query string).
 * @param {ViewContext} ctx
 * @param {string} [arg]
 * @returns {Promise<Node[]>}
 */
export async function retentionView(ctx, arg) {
  const given = new URLSearchParams(arg ?? "");
  /** @type {Record<keyof typeof CHOICES, string>} */
  const choice = { ...CHOICES };
  for (const k of /** @type {(keyof typeof CHOICES)[]} */ (Object.keys(CHOICES))) choice[k] = given.get(k) ?? choice[k];
  const query = new URLSearchParams(Object.entries(choice).filter(([, v]) => v !== ""));
  for (const [k, v] of new URLSearchParams(ctx.range ? rangeQuery(ctx.range) : "")) query.set(k, v);
  const [r, overview] = await Promise.all([
    /** @type {Promise<Retention>} */ (ctx.api(`/api/stats/retention?${query}`)),
    /** @type {Promise<{ by_type: Record<string, number> }>} */ (ctx.api("/api/stats/overview")),
  ]);
  const types = Object.keys(overview.by_type).sort();
  const form = controls(choice, types);
  if (r.cohorts.every((c) => c.users === 0)) {
    return [section("Retention", form, note("empty", "No users in these cohorts yet."))];
  }
  const unit = r.interval === "week" ? "week" : "day";
  const recent = r.cohorts.filter((c) => c.users > 0).slice(-CURVES);
  const points = r.average.map((avg, k) => ({
    t: k,
    values: Object.fromEntries([
      ["average", avg === null ? NaN : avg * 100],
      ...recent.map((c) => [c.start, c.rates[k] === null ? NaN : /** @type {number} */ (c.rates[k]) * 100]),
    ]),
  }));
  return [
    section(
      "Retention",
      form,
      lineChart(
        `share of each cohort back, % by ${unit}`,
        points,
        ["average", ...recent.map((c) => c.start)],
        (k) => `${unit} ${k}`,
      ),
      triangle(r, unit, choice, `/api/stats/retention?${query}`),
    ),
  ];
}

/**
 * The choices as a form; a change goes to the hash, which renders the view again.
 * @param {Record<keyof typeof CHOICES, string>} choice
 * @param {string[]} types
 * @returns {HTMLFormElement}
 */
function controls(choice, types) {
  /**
   * @param {keyof typeof CHOICES} name
   * @param {string} label
   * @param {[string, string][]} options
   */
  const select = (name, label, options) =>
    h(
      "label",
      {},
      `${label} `,
      h(
        "select",
        { name, id: `retention-${name}` },
        options.map(([value, text]) => h("option", { value, selected: value === choice[name] ? "" : undefined }, text)),
      ),
    );
  /** @type {[string, string][]} */
  const events = [["", "any event"], ...types.map((t) => /** @type {[string, string]} */ ([t, t]))];
  const form = /** @type {HTMLFormElement} */ (h(
    "form",
    { class: "controls", "aria-label": "Retention choices" },
    select("interval", "by", [["day", "day"], ["week", "week"]]),
    select("periods", "periods", ["4", "7", "14", "30"].map((n) => [n, n])),
    select("start_event", "first", events),
    select("return_event", "back with", events),
  ));
  form.addEventListener("change", () => {
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form)) {
      if (v !== "" && v !== CHOICES[/** @type {keyof typeof CHOICES} */ (k)]) {
        next.set(k, String(v));
      }
    }
    location.hash = keepRange(`#/retention/${next}`);
  });
  return form;
}

/**
 * The cohorts by period: users, then the share back in each period, shaded by it; blank before a period began. Each
 * count links to its users.
 * @param {Retention} r
 * @param {string} unit
 * @param {Record<keyof typeof CHOICES, string>} choice
 * @param {string} path where `r` came from, for the CSV
 * @returns {HTMLDivElement}
 */
function triangle(r, unit, choice, path) {
  const periods = r.average.map((_, k) => k);
  /**
   * The users of a cohort (period 0) or those of them back in period k.
   * @param {string} cohort
   * @param {number} k
   * @param {string} text
   */
  const people = (cohort, k, text) => {
    const q = new URLSearchParams({ of: "retention", interval: choice.interval, cohort, period: String(k) });
    if (choice.start_event) q.set("start_event", choice.start_event);
    if (choice.return_event) q.set("return_event", choice.return_event);
    return h("a", { href: peopleHref(q) }, text);
  };
  const cell = (
    /** @type {string} */ cohort,
    /** @type {number} */ k,
    /** @type {number | null} */ rate,
    /** @type {number | null} */ n,
  ) => {
    if (rate === null || n === null) return h("td", { class: "num", "data-value": "" }, "");
    const td = h(
      "td",
      { class: "num cohort-cell", "data-value": n, title: `${n} users` },
      n === 0 ? pct(rate) : people(cohort, k, pct(rate)),
    );
    td.style.setProperty("--share", String(rate));
    return td;
  };
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "retention" },
      h(
        "caption",
        {},
        `cohorts by first ${unit}; share back in each ${unit} after (hover for users) `,
        csvButton({ path, table: "cohorts" }, `cohorts by first ${unit}`),
      ),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "cohort"),
          h("th", { scope: "col", class: "num" }, "users"),
          periods.map((k) => h("th", { scope: "col", class: "num" }, `${unit} ${k}`)),
        ),
      ),
      h(
        "tbody",
        {},
        r.cohorts.map((c) =>
          h(
            "tr",
            { "data-cohort": c.start },
            h("th", { scope: "row" }, c.start),
            h(
              "td",
              { class: "num", "data-value": c.users },
              c.users === 0 ? "0" : people(c.start, 0, c.users.toLocaleString("en-US")),
            ),
            periods.map((k) => cell(c.start, k, c.rates[k], c.retained[k])),
          )
        ),
        h(
          "tr",
          { class: "average" },
          h("th", { scope: "row" }, "average"),
          h("td", {}, ""),
          r.average.map((a) => h("td", { class: "num" }, a === null ? "" : pct(a))),
        ),
      ),
    ),
  );
}
