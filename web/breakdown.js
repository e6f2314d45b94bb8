// @ts-check
/// <reference lib="dom" />
/**
 * A breakdown and property filters, kept in the hash (`breakdown=country&where=device:eq:ios&where=…`): the controls
 * that choose them, from the property names stats has seen, and the query they add to stats' routes.
 * @module
 */
import { h } from "./dom.js";

/** The operators of a condition, as the API names them, and how the controls show them. */
const OPERATORS = /** @type {const} */ ([
  ["eq", "is"],
  ["ne", "is not"],
  ["contains", "contains"],
  ["gt", ">"],
  ["gte", "≥"],
  ["lt", "<"],
  ["lte", "≤"],
  ["set", "is set"],
  ["unset", "is not set"],
]);

/**
 * `GET /api/stats/properties`.
 * @typedef {{ event: { name: string }[], user: { name: string }[] }} Properties
 */

/**
 * The breakdown and the conditions the hash asks for.
 * @typedef {{ by: string | null, where: string[] }} Slice
 */

/** How long the property names offered are kept before they are asked for again (ms). */
const NAMES_FOR_MS = 60_000;
/** @type {{ at: number, names: Promise<Properties> } | null} */
let offered = null;

/**
 * The property names to offer (stats' `/api/stats/properties`), asked for at most once a minute: the views render
 * again on every change of the data, and the names change seldom. None when stats does not answer.
 * @param {(path: string) => Promise<unknown>} api
 * @returns {Promise<Properties>}
 */
export function propertyNames(api) {
  if (offered === null || Date.now() - offered.at > NAMES_FOR_MS) {
    const names = /** @type {Promise<Properties>} */ (api("/api/stats/properties")).catch(() => {
      offered = null; // not kept: asked for again next time (a token given since, stats loaded since)
      return { event: [], user: [] };
    });
    offered = { at: Date.now(), names };
  }
  return offered.names;
}

/**
 * The slice `params` ask for.
 * @param {URLSearchParams} params
 * @returns {Slice}
 */
export function sliceOf(params) {
  return { by: params.get("breakdown") || null, where: params.getAll("where").filter((w) => w !== "") };
}

/**
 * The query a slice adds to stats' `/overview` and `/timeseries` (empty for none), with `&` before it.
 * @param {Slice} slice
 * @param {number} [limit] how many values a breakdown shows
 * @returns {string}
 */
export function sliceQuery(slice, limit) {
  const q = new URLSearchParams(slice.where.map((w) => ["where", w]));
  if (slice.by) q.set("breakdown", slice.by);
  if (slice.by && limit) q.set("breakdown_limit", String(limit));
  const s = q.toString();
  return s ? `&${s}` : "";
}

/**
 * How a breakdown's row is shown: its value, "(not set)" for events (or users) without one, "(other values)" for the
 * values past the top ones.
 * @param {{ key: string | null, other: boolean }} r
 * @returns {string}
 */
export const valueLabel = (r) => r.other ? "(other values)" : r.key ?? "(not set)";

/**
 * A condition as people read it: `device is ios`.
 * @param {string} w
 * @returns {string}
 */
export function conditionText(w) {
  const [name, op, ...rest] = w.split(":");
  const shown = OPERATORS.find(([o]) => o === op)?.[1] ?? op;
  return [name, shown, rest.join(":")].filter((x) => x !== "").join(" ");
}

/**
 * The controls of a slice: break down by a property; add a condition (property, operator, value); remove one. Each
 * change goes to the hash, keeping its other parameters.
 * @param {Slice} slice
 * @param {Properties} properties
 * @param {string} route the hash's route, without `?`
 * @param {URLSearchParams} params the hash's parameters
 * @returns {HTMLElement}
 */
export function sliceBar(slice, properties, route, params) {
  const names = [...properties.event.map((p) => p.name), ...properties.user.map((p) => `user.${p.name}`)];
  /** The hash with `change` made to a copy of its parameters. */
  const go = (/** @type {(p: URLSearchParams) => void} */ change) => {
    const next = new URLSearchParams(params);
    change(next);
    location.hash = `${route}?${next}`;
  };
  const by = /** @type {HTMLSelectElement} */ (h(
    "select",
    { id: "slice-by", name: "breakdown", "aria-label": "Break down by" },
    h("option", { value: "" }, "nothing"),
    [...new Set([...(slice.by ? [slice.by] : []), ...names])].map((n) =>
      h("option", { value: n, selected: n === slice.by ? "" : undefined }, n)
    ),
  ));
  by.addEventListener("change", () => go((p) => by.value ? p.set("breakdown", by.value) : p.delete("breakdown")));
  const property = /** @type {HTMLInputElement} */ (h("input", {
    id: "slice-property",
    name: "property",
    list: "slice-names",
    placeholder: "property",
    "aria-label": "Filter on property",
    pattern: "(user\\.)?[A-Za-z_][A-Za-z0-9_]{0,63}",
    required: "",
  }));
  const op = /** @type {HTMLSelectElement} */ (h(
    "select",
    { id: "slice-op", name: "op", "aria-label": "Operator" },
    OPERATORS.map(([value, label]) => h("option", { value }, label)),
  ));
  const value = /** @type {HTMLInputElement} */ (h("input", {
    id: "slice-value",
    name: "value",
    placeholder: "value",
    "aria-label": "Value",
    maxlength: "256",
  }));
  // Numbers for gt..lte (as the API takes them), no value for set and unset.
  op.addEventListener("change", () => {
    const numeric = ["gt", "gte", "lt", "lte"].includes(op.value);
    if (numeric) value.pattern = "-?\\d{1,15}(\\.\\d{1,6})?";
    else value.removeAttribute("pattern"); // an empty pattern would match the empty value only
    value.inputMode = numeric ? "decimal" : "text";
    value.disabled = op.value === "set" || op.value === "unset";
  });
  const add = h("button", { type: "submit" }, "Add filter");
  const form = /** @type {HTMLFormElement} */ (h(
    "form",
    { class: "controls slice", "aria-label": "Breakdown and filters" },
    h("label", { for: "slice-by" }, "break down by "),
    by,
    h("datalist", { id: "slice-names" }, names.map((n) => h("option", { value: n }))),
    h("span", {}, " where "),
    property,
    op,
    value,
    add,
  ));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const bare = op.value === "set" || op.value === "unset";
    const condition = bare ? `${property.value}:${op.value}` : `${property.value}:${op.value}:${value.value}`;
    go((p) => p.append("where", condition));
  });
  const chips = slice.where.map((w, i) => {
    const remove = h("button", { type: "button", "aria-label": `Remove filter: ${conditionText(w)}` }, "×");
    remove.addEventListener("click", () =>
      go((p) => {
        p.delete("where");
        for (const [k, kept] of slice.where.entries()) if (k !== i) p.append("where", kept);
      }));
    return h("li", {}, conditionText(w), " ", remove);
  });
  return h("div", { class: "slice-bar" }, form, chips.length ? h("ul", { class: "filters" }, chips) : []);
}
