// @ts-check
/// <reference lib="dom" />
/**
 * The "At risk" view: the users churn scores highest (by its baseline, or by a trained model), with why.
 * @module
 */
import { note, pct, reasons, section, table, time, userLink } from "../widgets.js";

/** @import { ViewContext } from "../app.js" */

/**
 * `GET /api/churn/at-risk`: `kind` says what scored (the baseline, or a model and its `model_version`).
 * @typedef {object} AtRisk
 * @property {number | null} model_version
 * @property {"baseline" | "cart" | "logistic"} kind
 * @property {string | null} as_of
 * @property {{ user_id: string, score: number, reasons: string[] }[]} users
 */

/**
 * The users at risk, highest score first, and what scored them.
 * @param {ViewContext} ctx
 * @returns {Promise<Node[]>}
 */
export async function atRiskView(ctx) {
  const r = /** @type {AtRisk} */ (await ctx.api("/api/churn/at-risk?limit=50&min_score=0"));
  const by = r.kind === "baseline" ? "the baseline: recency against each user's rhythm" : `model v${r.model_version}`;
  return [section(
    `Users at risk (scored by ${by}, as of ${time(r.as_of)})`,
    r.users.length === 0
      ? note("empty", "Nobody at risk.")
      : table("highest score first", [["user_id", "user", userLink], ["score", "score", pct], [
        "reasons",
        "why",
        reasons,
      ]], r.users),
  )];
}
