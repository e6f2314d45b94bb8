// @ts-check
/// <reference lib="dom" />
/**
 * The range of event time the views that read one share, kept in the URL's hash after `?`, so a view can be shared
 * and the range goes along from view to view: a preset ending at the watermark's minute (`#/funnel?range=7d`), or whole
 * UTC days (`#/live?from=2026-05-01&to=2026-05-07`, both included), and whether to compare with the period just before
 * (`&compare=1`).
 * @module
 */
import { h } from "./dom.js";

/** The presets: their name in the hash, their label, and their length (ms); null for all time. */
export const PRESETS = /** @type {const} */ ([
  ["1h", "last hour", 3_600_000],
  ["24h", "last 24 hours", 86_400_000],
  ["7d", "last 7 days", 7 * 86_400_000],
  ["30d", "last 30 days", 30 * 86_400_000],
  ["90d", "last 90 days", 90 * 86_400_000],
  ["all", "all time", null],
]);

/** The hash's parameters that make a range. */
export const RANGE_KEYS = ["range", "from", "to", "compare"];

const DAY = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A range, resolved: its ends as the API takes them (null when open), what to call it, and the period before it when
 * compared (as long, ending where it begins).
 * @typedef {{
 *   preset: string, from: string | null, to: string | null, label: string, compare: boolean,
 *   previous: { from: string, to: string } | null
 * }} Range
 */

/**
 * The range `params` (the hash's) ask for, relative presets ending at `watermark`'s minute; `fallback` when they ask
 * for none. A relative preset before any event is all time.
 * @param {URLSearchParams} params
 * @param {string | null | undefined} watermark
 * @param {string} fallback
 * @returns {Range}
 */
export function resolveRange(params, watermark, fallback) {
  const compare = params.get("compare") === "1";
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  if (DATE.test(from) && DATE.test(to) && from <= to && !Number.isNaN(Date.parse(from) + Date.parse(to))) {
    const end = new Date(Date.parse(to) + DAY).toISOString();
    return withPrevious({
      preset: "custom",
      from: `${from}T00:00:00.000Z`,
      to: end,
      label: `${from} to ${to}`,
      compare,
    });
  }
  const preset = PRESETS.find(([name]) => name === params.get("range")) ??
    PRESETS.find(([name]) => name === fallback) ?? PRESETS[PRESETS.length - 1];
  const [name, label, span] = preset;
  if (span === null || !watermark) return { preset: name, from: null, to: null, label, compare, previous: null };
  const end = Math.floor(Date.parse(watermark) / 60_000) * 60_000 + 60_000;
  return withPrevious({
    preset: name,
    from: new Date(end - span).toISOString(),
    to: new Date(end).toISOString(),
    label: `${label} of event time`,
    compare,
  });
}

/**
 * `range` with the period before it, when compared.
 * @param {Omit<Range, "previous">} range
 * @returns {Range}
 */
function withPrevious(range) {
  if (!range.compare || !range.from || !range.to) return { ...range, previous: null };
  const span = Date.parse(range.to) - Date.parse(range.from);
  const from = new Date(Date.parse(range.from) - span).toISOString();
  return { ...range, previous: { from, to: range.from } };
}

/**
 * The API's query for a range (`from=…&to=…`), empty when all time.
 * @param {{ from: string | null, to: string | null }} range
 * @returns {string}
 */
export function rangeQuery(range) {
  const q = new URLSearchParams();
  if (range.from) q.set("from", range.from);
  if (range.to) q.set("to", range.to);
  return q.toString();
}

/**
 * A change from `previous` to `now` as a share, to one decimal of a percent; "—" without a previous value.
 * @param {number} now
 * @param {number} previous
 * @returns {string}
 */
export function change(now, previous) {
  if (previous === 0) return now === 0 ? "0.0%" : "—";
  const c = (now - previous) / previous * 100;
  return `${c > 0 ? "+" : ""}${c.toFixed(1)}%`;
}

/**
 * The range's controls: a preset, or days from and to; and, where the view can, compare. A change goes to the hash,
 * beside the view's own choices.
 * @param {Range} range
 * @param {string} route the hash before `?`
 * @param {URLSearchParams} params the hash's parameters
 * @param {boolean} comparable whether the view compares periods
 * @returns {HTMLFormElement}
 */
export function rangeBar(range, route, params, comparable) {
  const day = (/** @type {string | null} */ t, back = 0) =>
    t ? new Date(Date.parse(t) - back).toISOString().slice(0, 10) : "";
  const preset = h(
    "select",
    { id: "range-preset", name: "range", "aria-label": "Range of event time" },
    [...PRESETS.map(([name, label]) => [name, label]), ["custom", "days…"]].map(([value, label]) =>
      h("option", { value, selected: value === range.preset ? "" : undefined }, label)
    ),
  );
  const custom = range.preset === "custom";
  const from = h("input", {
    id: "range-from",
    name: "from",
    type: "date",
    value: day(range.from),
    hidden: !custom || undefined,
  });
  const to = h("input", {
    id: "range-to",
    name: "to",
    type: "date",
    value: day(range.to, DAY),
    hidden: !custom || undefined,
  });
  const compare = comparable
    ? h(
      "label",
      {},
      h("input", { id: "range-compare", name: "compare", type: "checkbox", checked: range.compare ? "" : undefined }),
      " compare with the period before",
    )
    : null;
  const form = /** @type {HTMLFormElement} */ (h(
    "form",
    { class: "controls range", "aria-label": "Range" },
    h("label", { for: "range-preset" }, "range "),
    preset,
    from,
    to,
    compare,
  ));
  form.addEventListener("change", () => {
    const next = new URLSearchParams([...params].filter(([k]) => !RANGE_KEYS.includes(k)));
    const value = /** @type {HTMLSelectElement} */ (preset).value;
    if (value === "custom") {
      // Days: what was shown, or the range so far; a change of preset alone starts from the range in view.
      const f = /** @type {HTMLInputElement} */ (from).value || day(range.from) ||
        day(new Date().toISOString(), 7 * DAY);
      const t = /** @type {HTMLInputElement} */ (to).value || day(range.to, DAY) || day(new Date().toISOString());
      next.set("from", f);
      next.set("to", t < f ? f : t);
    } else next.set("range", value);
    const compared = /** @type {HTMLInputElement | null} */ (form.elements.namedItem("compare"))?.checked;
    if (comparable && compared && value !== "all") next.set("compare", "1"); // all time has no period before
    location.hash = `${route}?${next}`;
  });
  return form;
}

/**
 * `route` (a hash without `?`) with the range parameters of the hash in view: for a view's own controls, which
 * change its choices and keep the range.
 * @param {string} route
 * @returns {string}
 */
export function keepRange(route) {
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const kept = new URLSearchParams([...params].filter(([k]) => RANGE_KEYS.includes(k))).toString();
  return kept ? `${route}?${kept}` : route;
}
