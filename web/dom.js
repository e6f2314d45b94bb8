// What the dashboard and the docs page share: making elements, and asking for the read token.

/** Creates an element: `h("td", { class: "num" }, "3")`; children may be strings, nodes or arrays. */
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

/** The read token (API_TOKENS), when the runtime asks for one; kept for this browser tab only. */
export function savedToken() {
  return sessionStorage.getItem("apiToken");
}

/** A form asking for an API token, shown when the runtime answers 401; `use(token)` runs once one is given. */
export function tokenForm(message, use) {
  const form = h(
    "form",
    {},
    h("label", { for: "api-token" }, "API token"),
    h("input", { id: "api-token", name: "token", type: "password", autocomplete: "off", required: "" }),
    h("button", { type: "submit" }, "Use it"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = form.token.value.trim();
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
