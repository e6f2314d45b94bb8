// @ts-check
/// <reference lib="dom" />
/**
 * The "At risk" view: the users the live churn model scores highest, with why.
 * @module
 */
import { note, pct, reasons, section, table, time, userLink } from "../widgets.js";

/** @import { ViewContext } from "../app.js" */

/**
 * `GET /api/churn/at-risk`: `model_version` is null before the first model.
 * @typedef {object} AtRisk
 * @property {number | null} model_version
 * @property {string | null} as_of
 * @property {{ user_id: string, score: number, reasons: string[] }[]} users
 */

/**
 * The users at risk, highest score first; before a model is trained, how to train one.
 * @param {ViewContext} ctx
 * @returns {Promise<Node[]>}
 */
export async function atRiskView(ctx) {
  const r = /** @type {AtRisk} */ (await ctx.api("/api/churn/at-risk?limit=50&min_score=0"));
  if (r.model_version === null) {
    return [
      note(
        "empty",
        "No churn model yet.",
        "Load history (deno task simulate --history 84), then POST /api/churn/train.",
      ),
    ];
  }
  return [section(
    `Users at risk (model v${r.model_version}, as of ${time(r.as_of)})`,
    r.users.length === 0
      ? note("empty", "Nobody at risk.")
      : table("highest score first", [["user_id", "user", userLink], ["score", "score", pct], [
        "reasons",
        "why",
        reasons,
      ]], r.users),
  )];
}
