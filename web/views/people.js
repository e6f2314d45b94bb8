// @ts-check
/// <reference lib="dom" />
/**
 * The "People" view: the users behind a number, a page at a time, each linking to the user's view. The number is named
 * in the hash, as the API's query (`#/people/of=segment&segment=at_risk`): an RFM segment, a retention cell, a step of
 * a custom funnel or of the default funnel. The Audience, Retention and Funnel views link here.
 * @module
 */
import { conditionText } from "../breakdown.js";
import { h } from "../dom.js";
import { note, section, table, time, userLink } from "../widgets.js";

/** @import { ViewContext } from "../app.js" */
/** @import { Column } from "../widgets.js" */

/**
 * A page of users: each with `user_id` and the list's own columns.
 * @typedef {{ total: number, users: Record<string, string | number>[], next: string | null }} People
 */

/**
 * Each list: the route answering it (from the hash's parameters), what it is called, and its columns beyond the user.
 * @type {Record<string, {
 *   route: (p: URLSearchParams) => string, title: (p: URLSearchParams) => string, columns: [string, string][]
 * }>}
 */
const LISTS = {
  segment: {
    route: (p) => `/api/stats/segments/${encodeURIComponent(p.get("segment") ?? "")}/users`,
    title: (p) => `Users in the ${p.get("segment")} segment`,
    columns: [["events", "events"], ["purchases", "purchases"], ["spent", "spent"], ["last_seen", "last seen"]],
  },
  retention: {
    route: () => "/api/stats/retention/users",
    title: (p) => {
      const unit = p.get("interval") === "week" ? "week" : "day";
      const k = Number(p.get("period") ?? 0);
      const first = p.get("start_event") ? `first ${p.get("start_event")}` : `first seen`;
      const back = k === 0
        ? ""
        : `, back ${p.get("return_event") ? `with ${p.get("return_event")} ` : ""}in ${unit} ${k}`;
      return `Cohort ${first} in the ${unit} of ${p.get("cohort")}${back}`;
    },
    columns: [["events", "events"], ["purchases", "purchases"], ["first_seen", "first seen"], [
      "last_seen",
      "last seen",
    ]],
  },
  funnel: {
    route: (p) => `/api/funnel/definitions/${encodeURIComponent(p.get("name") ?? "")}/users`,
    title: (p) => {
      const where = p.getAll("where").map(conditionText).join(" and ");
      const outcome = p.get("outcome") === "reached" ? "reached" : "dropped before";
      return `Funnel ${p.get("name")}: ${outcome} step ${p.get("step")}${
        where ? `, counting events where ${where}` : ""
      }`;
    },
    columns: [["furthest_step", "furthest step"], ["entered_at", "entered"], ["last_step_at", "last step"]],
  },
  summary: {
    route: () => "/api/funnel/summary/users",
    title: (p) =>
      `Shopping funnel: sessions that ${p.get("outcome") === "reached" ? "reached" : "stopped before"} ${
        p.get("step")
      }`,
    columns: [["sessions", "sessions"], ["last_session_at", "last session"]],
  },
};

/** The query parameters each list names its number by; the rest (`after`, `limit`) page through it. */
const PAGING = ["after", "limit"];

/**
 * The hash of a list's page: the query as the API takes it, encoded once more, since the dashboard decodes the hash.
 * @param {URLSearchParams} params
 * @returns {string}
 */
export const peopleHref = (params) => `#/people/${encodeURIComponent(params.toString())}`;

/**
 * The page of users `arg` (a query string) names.
 * @param {ViewContext} ctx
 * @param {string} [arg]
 * @returns {Promise<Node[]>}
 */
export async function peopleView(ctx, arg) {
  const params = new URLSearchParams(arg ?? "");
  const of = params.get("of") ?? "";
  if (!Object.hasOwn(LISTS, of)) {
    return [
      section(
        "People",
        note(
          "empty",
          "Choose a number to see the users behind it.",
          "Open a segment, a retention cell or a funnel step.",
        ),
      ),
    ];
  }
  const list = LISTS[of];
  const query = new URLSearchParams([...params].filter(([k]) => k !== "of"));
  const page = /** @type {People} */ (await ctx.api(`${list.route(params)}?${query}`));
  /** @type {Column<Record<string, string | number>>[]} */
  const columns = [
    ["user_id", "user", (id) => userLink(String(id))],
    ...list.columns.map(([key, label]) => /** @type {Column<Record<string, string | number>>} */ ([
      key,
      label,
      key.endsWith("_at") || key.endsWith("_seen") ? (t) => time(String(t)) : undefined,
    ])),
  ];
  const next = new URLSearchParams(params);
  if (page.next !== null) next.set("after", page.next);
  const first = new URLSearchParams([...params].filter(([k]) => !PAGING.includes(k) || k === "limit"));
  return [section(
    list.title(params),
    h("p", { class: "total", "data-value": page.total }, `${page.total.toLocaleString("en-US")} users`),
    page.users.length === 0 ? note("empty", "No users here.") : table(
      "by user id; each links to the user's page",
      columns,
      page.users,
      {
        path: `${list.route(params)}?${new URLSearchParams([...[...query].filter(([k]) => !PAGING.includes(k)), [
          "limit",
          "1000",
        ]])}`,
      },
    ),
    h(
      "nav",
      { class: "pages", "aria-label": "Pages" },
      params.has("after") ? h("a", { href: peopleHref(first), rel: "first" }, "First page") : null,
      page.next !== null ? h("a", { href: peopleHref(next), rel: "next" }, "Next page") : null,
    ),
  )];
}
