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
const RANGE_KEYS = ["range", "from", "to", "compare"];

/**
 * The parameters of `params` that make a range (`range`), or all the others (`rest`).
 * @param {URLSearchParams} params
 * @param {"range" | "rest"} which
 * @returns {URLSearchParams}
 */
export function rangeParams(params, which = "range") {
  return new URLSearchParams([...params].filter(([k]) => RANGE_KEYS.includes(k) === (which === "range")));
}

const DAY = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** The days the API takes: its times are of the years 1000 to 8999, and a range ends the day after its last. */
const FIRST_DAY = "1000-01-01";
const LAST_DAY = "8999-12-30";

/**
 * Whether `d` is a real day (not 2026-02-30) the API takes.
 * @param {string} d
 * @returns {boolean}
 */
const isDay = (d) =>
  DATE.test(d) && d >= FIRST_DAY && d <= LAST_DAY && new Date(Date.parse(d)).toISOString().slice(0, 10) === d;

/**
 * A range, resolved: its ends as the API takes them (null when open), what to call it, the period before it when
 * compared (as long, ending where it begins), and the watermark it was resolved at.
 * @typedef {{
 *   preset: string, from: string | null, to: string | null, label: string, compare: boolean,
 *   previous: { from: string, to: string } | null, watermark: string | null
 * }} Range
 */

/**
 * The range `params` (the hash's) ask for, relative presets ending at `watermark`'s minute; `fallback` when they ask
 * for none, or for days that are not a range of real days of the years 1000 to 8999. A relative preset before any event
 * is all time.
 * @param {URLSearchParams} params
 * @param {string | null | undefined} watermark
 * @param {string} fallback
 * @returns {Range}
 */
export function resolveRange(params, watermark, fallback) {
  const compare = params.get("compare") === "1";
  const wm = watermark ?? null;
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  if (isDay(from) && isDay(to) && from <= to) {
    const end = new Date(Date.parse(to) + DAY).toISOString();
    const label = from === to ? from : `${from} to ${to}`;
    return withPrevious({ preset: "custom", from: `${from}T00:00:00.000Z`, to: end, label, compare, watermark: wm });
  }
  const preset = PRESETS.find(([name]) => name === params.get("range")) ??
    PRESETS.find(([name]) => name === fallback) ?? PRESETS[PRESETS.length - 1];
  const [name, label, span] = preset;
  if (span === null || !wm) {
    return { preset: name, from: null, to: null, label, compare, previous: null, watermark: wm };
  }
  const end = Math.floor(Date.parse(wm) / 60_000) * 60_000 + 60_000;
  return withPrevious({
    preset: name,
    from: new Date(end - span).toISOString(),
    to: new Date(end).toISOString(),
    label: `${label} of event time`,
    compare,
    watermark: wm,
  });
}

/**
 * `range` with the period before it, when compared and when that period is of the years the API takes.
 * @param {Omit<Range, "previous">} range
 * @returns {Range}
 */
function withPrevious(range) {
  if (!range.compare || !range.from || !range.to) return { ...range, previous: null };
  const span = Date.parse(range.to) - Date.parse(range.from);
  const from = new Date(Date.parse(range.from) - span).toISOString();
  return { ...range, previous: from < FIRST_DAY ? null : { from, to: range.from } };
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
 * When compared (`earlier`, the period before's rows, not null): each row with the period before's value (`before`, 0
 * when it had none) and the change, and the two columns that show them; else the rows as they are and no column.
 * @template {object} T
 * @param {T[]} rows
 * @param {T[] | null} earlier
 * @param {(row: T) => string | null} keyOf
 * @param {(row: T) => number} valueOf
 * @param {string} label the `before` column's heading
 * @returns {{ rows: (T & { before?: number, change?: string })[], columns: ([key: "before", label: string] | [key: "change", label: string])[] }}
 */
export function compared(rows, earlier, keyOf, valueOf, label) {
  if (earlier === null) return { rows, columns: [] };
  const before = new Map(earlier.map((r) => [keyOf(r), valueOf(r)]));
  return {
    rows: rows.map((r) => {
      const then = before.get(keyOf(r)) ?? 0;
      return { ...r, before: then, change: change(valueOf(r), then) };
    }),
    columns: [["before", label], ["change", "change"]],
  };
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
  /** The day of `t`, or of `back` ms before it. */
  const day = (/** @type {string | null} */ t, back = 0) =>
    t ? new Date(Date.parse(t) - back).toISOString().slice(0, 10) : "";
  const preset = /** @type {HTMLSelectElement} */ (h(
    "select",
    { id: "range-preset", name: "range", "aria-label": "Range of event time" },
    [...PRESETS.map(([name, label]) => [name, label]), ["custom", "days…"]].map(([value, label]) =>
      h("option", { value, selected: value === range.preset ? "" : undefined }, label)
    ),
  ));
  /** A day input, shown for days only. */
  const input = (
    /** @type {string} */ name,
    /** @type {string} */ value,
    /** @type {string} */ label,
  ) => /** @type {HTMLInputElement} */ (h("input", {
    id: `range-${name}`,
    name,
    type: "date",
    value,
    min: FIRST_DAY,
    max: LAST_DAY,
    "aria-label": label,
    hidden: range.preset === "custom" ? undefined : "",
  }));
  // A range's `to` is excluded: its last day is that of the instant before.
  const from = input("from", day(range.from), "first day (UTC)");
  const to = input("to", day(range.to, 1), "last day (UTC), included");
  const compare = comparable
    ? h(
      "label",
      {},
      h("input", {
        id: "range-compare",
        name: "compare",
        type: "checkbox",
        checked: range.compare ? "" : undefined,
        disabled: range.from === null ? "" : undefined, // all time has no period before
      }),
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
  form.addEventListener("submit", (ev) => ev.preventDefault());
  form.addEventListener("change", () => {
    const next = rangeParams(params, "rest");
    if (preset.value === "custom") {
      // Days: those shown, else the range in view's, else the week up to the watermark's day.
      const anchor = range.watermark ?? new Date().toISOString();
      const f = from.value || day(range.from) || day(anchor, 6 * DAY);
      const t = to.value || (range.to ? day(range.to, 1) : day(anchor));
      if (!isDay(f) || !isDay(t)) return; // a day half typed: wait for the whole of it
      next.set("from", f);
      next.set("to", t < f ? f : t);
    } else next.set("range", preset.value);
    // Compare stays in the hash for the views that compare, even through one that does not.
    const compared = comparable
      ? /** @type {HTMLInputElement | null} */ (form.elements.namedItem("compare"))?.checked
      : params.get("compare") === "1";
    if (compared && preset.value !== "all") next.set("compare", "1");
    location.hash = `${route}?${next}`;
  });
  return form;
}

/**
 * `route` (a hash without `?`) with the range parameters of the hash in view: for a view's own links and controls,
 * which change its choices and keep the range.
 * @param {string} route
 * @returns {string}
 */
export function keepRange(route) {
  const kept = rangeParams(new URLSearchParams(location.hash.split("?")[1] ?? "")).toString();
  return kept ? `${route}?${kept}` : route;
}
