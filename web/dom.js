// @ts-check
/// <reference lib="dom" />
/**
 * What the dashboard and the docs page share: making elements, and asking for the read token.
 * @module
 */

/**
 * An attribute's value; `null` and `undefined` leave the attribute out.
 * @typedef {string | number | boolean | null | undefined} AttrValue
 */

/**
 * What an element may hold: nodes, and strings or numbers shown as text; `null` and `undefined` are skipped.
 * @typedef {Node | string | number | boolean | null | undefined} Child
 */

/**
 * Creates an element: `h("td", { class: "num" }, "3")`; children may be strings, nodes or arrays.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, AttrValue>} [attrs]
 * @param {...(Child | readonly Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

/**
 * The read token (API_TOKENS), when the runtime asks for one; kept for this browser tab only.
 * @returns {string | null}
 */
export function savedToken() {
  return sessionStorage.getItem("apiToken");
}

/**
 * A form asking for an API token, shown when the runtime answers 401; `use(token)` runs once one is given.
 * @param {string} message
 * @param {(token: string) => void} use
 * @returns {HTMLDivElement}
 */
export function tokenForm(message, use) {
  const input = h("input", { id: "api-token", name: "token", type: "password", autocomplete: "off", required: "" });
  const form = h(
    "form",
    {},
    h("label", { for: "api-token" }, "API token"),
    input,
    h("button", { type: "submit" }, "Use it"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    sessionStorage.setItem("apiToken", token);
    use(token);
  });
  return h(
    "div",
    { class: "state" },
    h("p", {}, `This runtime requires a read token (API_TOKENS): ${message}`),
    form,
  );
}
