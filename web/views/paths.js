// @ts-check
/// <reference lib="dom" />
/**
 * The "Paths" view: from a chosen event, where sessions went next (or came from before), level by level, as a flow
 * chart with the steps and the most frequent whole paths as tables behind it. The choices are kept in the hash
 * (`#/paths/event=search&direction=previous&depth=4`), so a view can be shared.
 * @module
 */
import { flowChart } from "../charts.js";
import { h } from "../dom.js";
import { keepRange, rangeQuery } from "../range.js";
import { note, pct, section, table, tiles } from "../widgets.js";

/** @import { ViewContext } from "../app.js" */
/** @import { FlowLink, FlowNode } from "../charts.js" */

/**
 * `GET /api/funnel/paths`.
 * @typedef {{
 *   event: string, direction: "next" | "previous", depth: number, sessions: number,
 *   nodes: (FlowNode & { share: number })[], links: FlowLink[], top_paths: { steps: string[], sessions: number }[]
 * }} Paths
 */

/** The choices the view offers, and their defaults. */
const CHOICES = { event: "product_view", direction: "next", depth: "3", width: "5" };

/** Event types offered; any other type can be typed in. */
const TYPES = [
  "page_view",
  "product_view",
  "search",
  "add_to_cart",
  "remove_from_cart",
  "checkout",
  "purchase",
  "login",
  "logout",
  "signup",
  "video_play",
  "video_progress",
  "video_complete",
];

/**
 * The paths of the choices in `arg` (a query string).
 * @param {ViewContext} ctx
 * @param {string} [arg]
 * @returns {Promise<Node[]>}
 */
export async function pathsView(ctx, arg) {
  const given = new URLSearchParams(arg ?? "");
  /** @type {Record<keyof typeof CHOICES, string>} */
  const choice = { ...CHOICES };
  for (const k of /** @type {(keyof typeof CHOICES)[]} */ (Object.keys(CHOICES))) choice[k] = given.get(k) ?? choice[k];
  const range = ctx.range ? rangeQuery(ctx.range) : "";
  const path = `/api/funnel/paths?${new URLSearchParams(choice)}&top=20${range && `&${range}`}`;
  const p = /** @type {Paths} */ (await ctx.api(path));
  const form = controls(choice);
  const way = p.direction === "next" ? "after" : "before";
  if (p.sessions === 0) return [section("Paths", form, note("empty", `No sessions with ${p.event} yet.`))];
  return [
    section(
      "Paths",
      form,
      tiles([[`sessions_with_${p.event}`, p.sessions]]),
      flowChart(`steps ${way} the first ${p.event} of each session`, p.nodes, p.links, p.direction === "previous"),
      table(
        `steps ${way} ${p.event}, by level (level 0 is ${p.event}; a run of one event type is one step)`,
        [
          ["level", "level"],
          ["step", "step"],
          ["sessions", "sessions"],
          ["share", "share", pct],
          ["drop_off", p.direction === "next" ? "ended there" : "began there"],
        ],
        p.nodes,
        { path, table: "nodes" },
      ),
      table(
        `the most frequent paths ${way} ${p.event}${p.direction === "previous" ? ", nearest first" : ""}`,
        [
          [
            "steps",
            "path",
            (/** @type {string[]} */ steps) => steps.length === 0 ? "(session ended)" : steps.join(" → "),
          ],
          ["sessions", "sessions"],
          ["share", "share", pct],
        ],
        p.top_paths.map((t) => ({ ...t, share: t.sessions / p.sessions })),
        { path, table: "top_paths" },
      ),
    ),
  ];
}

/**
 * The choices as a form; a change goes to the hash, which renders the view again.
 * @param {Record<keyof typeof CHOICES, string>} choice
 * @returns {HTMLFormElement}
 */
function controls(choice) {
  /**
   * @param {keyof typeof CHOICES} name
   * @param {string} label
   * @param {string[]} options
   */
  const select = (name, label, options) =>
    h(
      "label",
      {},
      `${label} `,
      h(
        "select",
        { name, id: `paths-${name}` },
        options.map((value) => h("option", { value, selected: value === choice[name] ? "" : undefined }, value)),
      ),
    );
  const form = /** @type {HTMLFormElement} */ (h(
    "form",
    { class: "controls", "aria-label": "Paths choices" },
    h(
      "label",
      {},
      "event ",
      h("input", { name: "event", id: "paths-event", list: "paths-types", value: choice.event, size: 16 }),
      h("datalist", { id: "paths-types" }, TYPES.map((t) => h("option", { value: t }))),
    ),
    select("direction", "direction", ["next", "previous"]),
    select("depth", "steps", ["1", "2", "3", "4", "5", "6"]),
    select("width", "per level", ["3", "5", "8", "12"]),
  ));
  form.addEventListener("change", () => {
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form)) {
      if (v !== "" && v !== CHOICES[/** @type {keyof typeof CHOICES} */ (k)]) next.set(k, String(v));
    }
    // Encoded once more: the dashboard decodes the hash before the view reads it as a query.
    location.hash = keepRange(`#/paths/${encodeURIComponent(next.toString())}`);
  });
  form.addEventListener("submit", (e) => e.preventDefault());
  return form;
}
