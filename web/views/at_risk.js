// @ts-check
/// <reference lib="dom" />
/**
 * The "At risk" view: the users churn scores highest (by its baseline, or by a trained model), with why, 50 at a time
 * (`#/at-risk/offset=50` for the next page).
 * @module
 */
import { keepRange } from "../range.js";
import { h } from "../dom.js";
import { note, pct, reasons, section, table, time, userLink } from "../widgets.js";

/** @import { ViewContext } from "../app.js" */

/** Users per page. */
const PAGE = 50;

/**
 * `GET /api/churn/at-risk`: `kind` says what scored (the baseline, or a model and its `model_version`).
 * @typedef {object} AtRisk
 * @property {number | null} model_version
 * @property {"baseline" | "cart" | "logistic"} kind
 * @property {string | null} as_of
 * @property {number} total
 * @property {{ user_id: string, score: number, reasons: string[] }[]} users
 * @property {number | null} next_offset
 */

/**
 * The users at risk, highest score first, and what scored them; a page at a time.
 * @param {ViewContext} ctx
 * @param {string} [arg] `offset=<n>`
 * @returns {Promise<Node[]>}
 */
export async function atRiskView(ctx, arg) {
  const offset = Math.max(0, Math.floor(Number(new URLSearchParams(arg ?? "").get("offset") ?? 0)) || 0);
  const query = new URLSearchParams({ limit: String(PAGE), min_score: "0", offset: String(offset) });
  const r = /** @type {AtRisk} */ (await ctx.api(`/api/churn/at-risk?${query}`));
  const by = r.kind === "baseline" ? "the baseline: recency against each user's rhythm" : `model v${r.model_version}`;
  return [section(
    `Users at risk (scored by ${by}, as of ${time(r.as_of)})`,
    r.users.length === 0
      ? [
        note("empty", "Nobody at risk."),
        offset > 0 ? h("a", { href: keepRange("#/at-risk"), rel: "first" }, "First page") : null,
      ]
      : [
        h("p", { class: "total", "data-value": r.total }, `${r.total.toLocaleString("en-US")} users scored`),
        table(
          `highest score first, ${offset + 1}–${offset + r.users.length}`,
          [["user_id", "user", userLink], ["score", "score", pct], ["reasons", "why", reasons]],
          r.users,
          { path: "/api/churn/at-risk?limit=1000&min_score=0" },
        ),
        h(
          "nav",
          { class: "pages", "aria-label": "Pages" },
          offset > 0 ? h("a", { href: keepRange("#/at-risk"), rel: "first" }, "First page") : null,
          r.next_offset !== null
            ? h("a", { href: keepRange(`#/at-risk/offset=${r.next_offset}`), rel: "next" }, "Next page")
            : null,
        ),
      ],
  )];
}
