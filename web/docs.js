// @ts-check
/// <reference lib="dom" />
/**
 * The API documentation page: renders /api/openapi.json (the host's routes and every plugin's, one section per
 * tag) with each operation's parameters, body and answers, and lets a reader try an operation from the page.
 * @module
 */
import { h, savedToken, tokenForm } from "./dom.js";

/**
 * A JSON Schema, as far as this page reads it.
 * @typedef {object} Schema
 * @property {string} [$ref]
 * @property {unknown[]} [enum]
 * @property {unknown} [const]
 * @property {Schema[]} [anyOf]
 * @property {Schema[]} [oneOf]
 * @property {string | string[]} [type]
 * @property {Schema} [items]
 * @property {number} [minimum]
 * @property {number} [maximum]
 * @property {string} [format]
 * @property {string} [pattern]
 * @property {unknown} [default]
 * @property {Record<string, Schema>} [properties]
 * @property {string[]} [required]
 * @property {string} [description]
 */

/**
 * An operation's parameter.
 * @typedef {{ name: string, in: string, required?: boolean, description?: string, schema: Schema }} Parameter
 */

/**
 * An operation: one method of one path.
 * @typedef {object} Operation
 * @property {string} operationId
 * @property {string[]} [tags] the first is its section
 * @property {string} [summary]
 * @property {string} [description]
 * @property {Record<string, string[]>[]} [security] the ways to authorize it, one scheme each
 * @property {Parameter[]} [parameters]
 * @property {{ content: Record<string, { schema: Schema }> }} [requestBody]
 * @property {Record<string, { description?: string, content?: Record<string, { schema?: Schema }> }>} [responses]
 */

/**
 * `GET /api/openapi.json`.
 * @typedef {object} OpenApiDocument
 * @property {string} openapi
 * @property {{ title: string, version: string }} info
 * @property {{ name: string, description?: string }[]} tags
 * @property {Record<string, Record<string, Operation>>} paths
 */

/** The read token (API_TOKENS), shared with the dashboard for this browser tab. */
let token = savedToken();

/**
 * Request headers: `extra`, and the read token when there is one.
 * @param {Record<string, string>} [extra]
 * @returns {Record<string, string>}
 */
function headers(extra = {}) {
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

/**
 * A schema in one line where it is simple: `integer 1..100`, `string[]`, `"a" | "b"`, `object`.
 * @param {Schema | undefined} s
 * @returns {string}
 */
function typeName(s) {
  if (!s || Object.keys(s).length === 0) return "any";
  if (s.$ref) return s.$ref.slice(s.$ref.lastIndexOf("/") + 1);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.anyOf || s.oneOf) return /** @type {Schema[]} */ (s.anyOf ?? s.oneOf).map(typeName).join(" | ");
  const type = Array.isArray(s.type) ? s.type.join(" | ") : s.type ?? "any";
  if (type === "array") return `${typeName(s.items)}[]`;
  const range = s.minimum !== undefined && Math.abs(s.minimum) < 1e15 || s.maximum !== undefined && s.maximum < 1e15
    ? ` ${s.minimum ?? ""}..${s.maximum ?? ""}`
    : "";
  const fmt = s.format ? ` (${s.format})` : s.pattern ? ` /${s.pattern}/` : "";
  return `${type}${range}${fmt}${s.default !== undefined ? ` = ${JSON.stringify(s.default)}` : ""}`;
}

/**
 * A schema as a nested list of its fields, objects and arrays of objects unfolded.
 * @param {Schema} s
 * @returns {HTMLElement}
 */
function schemaTree(s) {
  const fields = objectOf(s);
  if (!fields) return h("code", {}, typeName(s));
  const required = new Set(fields.required ?? []);
  return h(
    "ul",
    { class: "schema" },
    Object.entries(fields.properties ?? {}).map(([name, p]) =>
      h(
        "li",
        {},
        h("code", {}, name + (required.has(name) ? "" : "?")),
        " ",
        h("span", { class: "muted" }, objectOf(p) ? (p.type === "array" ? "object[]" : "object") : typeName(p)),
        p.description ? ` — ${p.description}` : "",
        objectOf(p) ? schemaTree(p) : null,
      )
    ),
  );
}

/**
 * The object a schema holds (itself, or its items), or null.
 * @param {Schema | undefined} s
 * @returns {Schema | null}
 */
function objectOf(s) {
  if (s?.type === "object" && s.properties) return s;
  if (s?.type === "array" && s.items?.type === "object" && s.items.properties) return s.items;
  return null;
}

/**
 * An operation's parameters as a table.
 * @param {Parameter[]} parameters
 * @returns {HTMLTableElement}
 */
function parametersTable(parameters) {
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, ["name", "in", "type", "description"].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      parameters.map((p) =>
        h(
          "tr",
          {},
          h("td", {}, h("code", {}, p.name + (p.required ? "" : "?"))),
          h("td", {}, p.in),
          h("td", {}, h("code", {}, typeName(p.schema))),
          h("td", {}, p.description ?? ""),
        )
      ),
    ),
  );
}

/**
 * A form that sends the operation with the reader's values and shows the answer.
 * @param {string} method
 * @param {string} path
 * @param {Operation} op
 * @returns {HTMLDetailsElement}
 */
function tryIt(method, path, op) {
  const form = h("form", { class: "try" });
  for (const p of op.parameters ?? []) {
    const id = `${op.operationId}-${p.name}`;
    form.append(h("label", { for: id }, p.name), h("input", { id, name: p.name, "data-in": p.in }));
  }
  const bodyInput = op.requestBody
    ? h("textarea", { name: "body", rows: "4", "aria-label": "request body (JSON)" })
    : null;
  if (bodyInput) form.append(bodyInput);
  const out = h("pre", { class: "answer", "aria-live": "polite" });
  form.append(h("button", { type: "submit" }, `Send ${method.toUpperCase()}`), out);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    let url = path;
    const query = new URLSearchParams();
    for (const input of form.querySelectorAll("input")) {
      if (input.value === "") continue;
      if (input.dataset.in === "path") url = url.replace(`{${input.name}}`, encodeURIComponent(input.value));
      else query.set(input.name, input.value);
    }
    if ([...query].length) url += `?${query}`;
    const body = bodyInput?.value || undefined;
    try {
      const res = await fetch(url, {
        method,
        headers: headers(body ? { "content-type": "application/json" } : {}),
        body,
      });
      const text = await res.text();
      let shown = text;
      try {
        shown = JSON.stringify(JSON.parse(text), null, 2);
      } catch { /* not JSON: shown as is */ }
      out.textContent = `${res.status} ${res.statusText}\n${shown.slice(0, 20_000)}`;
    } catch (e) {
      out.textContent = `request failed: ${/** @type {Error} */ (e).message}`;
    }
  });
  return h("details", {}, h("summary", {}, "Try it"), form);
}

/**
 * An operation's article: its method and path, what it does, its parameters, body and answers, and "Try it".
 * @param {string} method
 * @param {string} path
 * @param {Operation} op
 * @returns {HTMLElement}
 */
function operation(method, path, op) {
  const responses = Object.entries(op.responses ?? {}).map(([status, r]) => {
    const [type, content] = Object.entries(r.content ?? {})[0] ?? [];
    return h(
      "li",
      {},
      h("strong", {}, status),
      ` ${r.description ?? ""}`,
      type && type !== "application/json" ? h("span", { class: "muted" }, ` (${type})`) : null,
      content?.schema && !content.schema.$ref && type === "application/json" ? schemaTree(content.schema) : null,
    );
  });
  return h(
    "article",
    { class: "operation", id: op.operationId },
    h("h3", {}, h("span", { class: `method ${method}` }, method.toUpperCase()), " ", h("code", {}, path)),
    h("p", {}, op.summary ?? ""),
    op.description ? h("p", { class: "muted" }, op.description) : null,
    op.security ? h("p", { class: "muted" }, `Needs: ${op.security.map((s) => Object.keys(s)[0]).join(" or ")}`) : null,
    op.parameters?.length ? parametersTable(op.parameters) : null,
    op.requestBody ? [h("h4", {}, "Body"), schemaTree(op.requestBody.content["application/json"].schema)] : null,
    h("h4", {}, "Answers"),
    h("ul", { class: "responses" }, responses),
    tryIt(method, path, op),
  );
}

/**
 * Renders the document: the tags as the page's sections, each with its operations.
 * @param {OpenApiDocument} doc
 */
function render(doc) {
  const main = /** @type {HTMLElement} */ (document.getElementById("docs"));
  /** @type {Map<string | undefined, HTMLElement[]>} */
  const byTag = new Map(doc.tags.map((t) => [t.name, []]));
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) byTag.get(op.tags?.[0])?.push(operation(method, path, op));
  }
  /** @type {HTMLElement} */ (document.getElementById("tags")).replaceChildren(
    ...doc.tags.map((t) => h("a", { href: `#tag-${t.name}` }, t.name)),
  );
  main.replaceChildren(
    h("p", {}, `${doc.info.title} ${doc.info.version} · OpenAPI ${doc.openapi}`),
    ...doc.tags.map((t) =>
      h(
        "section",
        { id: `tag-${t.name}`, "aria-label": t.name },
        h("h2", {}, t.name),
        h("p", { class: "muted" }, t.description),
        byTag.get(t.name),
      )
    ),
  );
}

/** Loads the document and renders it; asks for a token when the runtime requires one. */
async function load() {
  const res = await fetch("/api/openapi.json", { headers: headers({ accept: "application/json" }) });
  /** @type {{ error?: string } | null} */
  const body = await res.json().catch(() => null);
  if (res.status === 401 || res.status === 403) {
    const ask = tokenForm(body?.error ?? res.statusText, (given) => {
      token = given;
      load();
    });
    return /** @type {HTMLElement} */ (document.getElementById("docs")).replaceChildren(ask);
  }
  if (!res.ok) {
    /** @type {HTMLElement} */ (document.getElementById("docs")).replaceChildren(
      h("p", { class: "state error" }, `Could not load the API document: ${body?.error ?? res.statusText}`),
    );
    return;
  }
  render(/** @type {OpenApiDocument} */ (body));
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}

load();
