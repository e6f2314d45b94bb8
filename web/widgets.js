// @ts-check
/// <reference lib="dom" />
/**
 * The parts the dashboard's views are made of: sections, number tiles, tables, empty and error states, and the
 * formats they show values in.
 * @module
 */
import { downloadCsv } from "./api.js";
import { formatNumber } from "./charts.js";
import { h, savedToken, tokenForm } from "./dom.js";

/** @import { Child } from "./dom.js" */

/**
 * A tile: its label (also its `data-key`), the API's value, and the text shown if not the formatted value.
 * @typedef {[label: string, value: number | string, shown?: string]} Tile
 */

/**
 * A table column: the row's key, the header, and how to show the row's value (else as a number or as is).
 * @template R
 * @typedef {{
 *   [K in keyof R & string]: [key: K, label: string, format?: (value: R[K], row: R) => Child]
 * }[keyof R & string]} Column
 */

/**
 * A titled section of a view.
 * @param {string} title
 * @param {...(Child | readonly Child[])} children
 * @returns {HTMLElement}
 */
export const section = (title, ...children) => h("section", { "aria-label": title }, h("h2", {}, title), ...children);

/**
 * A ratio as a percentage with one decimal.
 * @param {number} x
 * @returns {string}
 */
export const pct = (x) => `${(x * 100).toFixed(1)}%`;

/**
 * A row of number tiles; each value keeps the API's number in `data-value`.
 * @param {Tile[]} items
 * @returns {HTMLDivElement}
 */
export function tiles(items) {
  return h(
    "div",
    { class: "tiles" },
    items.map(([label, value, shown]) =>
      h(
        "div",
        { class: "tile", "data-key": label },
        h("div", { class: "label" }, label.replaceAll("_", " ")),
        h("div", { class: "value", "data-value": value }, shown ?? formatNumber(value)),
      )
    ),
  );
}

/**
 * Where a table's rows come from: the API route (with the view's query) and which list of its answer; its CSV export
 * (`?format=csv`) has every row, every field and every page.
 * @typedef {{ path: string, table?: string }} Source
 */

/**
 * A button saving `source` as CSV; a failure shows on the button.
 * @param {Source} source
 * @param {string} what the table's caption
 * @returns {HTMLButtonElement}
 */
export function csvButton(source, what) {
  const button = /** @type {HTMLButtonElement} */ (h(
    "button",
    { type: "button", class: "csv", "aria-label": `Download as CSV: ${what}`, "data-path": source.path },
    "CSV",
  ));
  button.addEventListener("click", () => {
    button.disabled = true;
    downloadCsv(source.path, source.table, savedToken()).then(
      () => button.removeAttribute("title"),
      (e) => button.setAttribute("title", `The export failed: ${e instanceof Error ? e.message : e}`),
    ).finally(() => button.disabled = false);
  });
  return button;
}

/**
 * A table: `columns` are `[key, label, format?]`; numbers align right. With a `source`, its caption offers the CSV.
 * @template R
 * @param {string} caption
 * @param {Column<NoInfer<R>>[]} columns
 * @param {R[]} rows
 * @param {Source} [source]
 * @returns {HTMLDivElement}
 */
export function table(caption, columns, rows, source) {
  /**
   * @param {R} row
   * @param {Column<R>} column
   */
  const cell = (row, column) => {
    // Each column's format takes its own key's value; one signature for all of them is as far as JSDoc goes.
    const [key, , format] = /** @type {[string, string, ((value: unknown, row: R) => Child)?]} */ (column);
    const v = /** @type {Record<string, unknown>} */ (row)[key];
    const shown = format ? format(v, row) : typeof v === "number" ? formatNumber(v) : String(v ?? "—");
    return h("td", { class: typeof v === "number" ? "num" : undefined, "data-key": key }, shown);
  };
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", {}, caption, source ? [" ", csvButton(source, caption)] : []),
      h("thead", {}, h("tr", {}, columns.map(([, label]) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c) => cell(r, c))))),
    ),
  );
}

/**
 * Bytes as MiB with one decimal.
 * @param {number} bytes
 * @returns {string}
 */
export function mib(bytes) {
  return (bytes / 1024 / 1024).toFixed(1);
}

/**
 * An empty or error state that says what to do.
 * @param {"empty" | "error"} kind
 * @param {string} text
 * @param {string} [hint]
 * @returns {HTMLDivElement}
 */
export function note(kind, text, hint) {
  return h(
    "div",
    { class: `state ${kind}`, role: kind === "error" ? "alert" : undefined },
    h("p", {}, text),
    hint ? h("p", {}, hint) : null,
  );
}

/**
 * The message for a failed request: a missing plugin says how to add it; a missing token asks for one, and
 * `useToken(token)` runs once it is given.
 * @param {unknown} error an `ApiError`, or whatever else failed (fetch's TypeError, a bug)
 * @param {(token: string) => void} useToken
 * @returns {HTMLDivElement}
 */
export function failure(error, useToken) {
  const e = /** @type {{ status?: number, message: string, path?: string }} */ (error);
  if (e.status === 401 || e.status === 403) return tokenForm(e.message, useToken);
  if (e.status === 404 && !/no plugin named/.test(e.message)) return note("empty", `Nothing here: ${e.message}.`);
  const plugin = /no plugin named '([a-z0-9_]+)'/.exec(e.message)?.[1];
  if (plugin) return note("empty", `The ${plugin} plugin is not loaded.`, `Drop its folder into plugins/ and restart.`);
  return note(
    "error",
    `Could not load ${e.path ?? "the data"}: ${e.message}`,
    "It refreshes by itself when the data changes.",
  );
}

/**
 * A link to a user's view.
 * @param {string} id
 * @returns {HTMLAnchorElement}
 */
export const userLink = (id) => h("a", { href: `#/users/${encodeURIComponent(id)}` }, id);

/**
 * The reasons behind a score, as a list.
 * @param {string[] | null | undefined} list
 * @returns {HTMLUListElement}
 */
export const reasons = (list) => h("ul", { class: "reasons" }, (list ?? []).map((r) => h("li", {}, r)));

/**
 * An ISO time as `YYYY-MM-DD hh:mm:ss` (UTC), or a dash for none.
 * @param {string | null} t
 * @returns {string}
 */
export const time = (t) => (t ? new Date(t).toISOString().replace("T", " ").slice(0, 19) : "—");
