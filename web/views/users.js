// @ts-check
/// <reference lib="dom" />
/**
 * The "Users" view: a lookup form, and for the user in the hash (`#/users/<id>`) their stats, churn risk,
 * latest sessions and fraud alerts, each part failing on its own.
 * @module
 */
import { keepRange } from "../range.js";
import { h } from "../dom.js";
import { note, pct, reasons, section, table, tiles, time } from "../widgets.js";

/** @import { FraudAlert } from "../api.js" */
/** @import { ViewContext } from "../app.js" */
/** @import { Child } from "../dom.js" */

/**
 * `GET /api/stats/users/:user_id`.
 * @typedef {object} UserStats
 * @property {number} events
 * @property {number} purchases
 * @property {number} spent
 * @property {number} sessions
 * @property {number} engagement_score
 * @property {string} segment
 */

/**
 * A session as `GET /api/funnel/users/:user_id/sessions` lists it, newest first.
 * @typedef {object} UserSession
 * @property {string} started_at
 * @property {number} duration_s
 * @property {number} events
 * @property {string | null} furthest_step
 */

/**
 * `GET /api/churn/users/:user_id`: the score, by the baseline or a model (`kind`).
 * @typedef {{ score: number, kind: string, reasons: string[] }} ChurnScore
 */

/**
 * The lookup form, then the user's parts; without an id, what to enter.
 * @param {ViewContext} ctx
 * @param {string} [id]
 * @returns {Promise<Node[]>}
 */
export async function usersView(ctx, id) {
  const input = h("input", { id: "user-id", name: "user", value: id ?? "", required: "" });
  const form = h(
    "form",
    { role: "search" },
    h("label", { for: "user-id" }, "User id"),
    input,
    h("button", { type: "submit" }, "Look up"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = keepRange(`#/users/${encodeURIComponent(input.value.trim())}`);
  });
  if (!id) {
    return [form, note("empty", "Enter a user id to see their stats, sessions, churn score and fraud alerts.")];
  }
  const u = encodeURIComponent(id);
  const [stats, sessions, churn, alerts] = await Promise.allSettled([
    /** @type {Promise<UserStats>} */ (ctx.api(`/api/stats/users/${u}`)),
    /** @type {Promise<{ sessions: UserSession[] }>} */ (ctx.api(`/api/funnel/users/${u}/sessions?limit=10`)),
    /** @type {Promise<ChurnScore>} */ (ctx.api(`/api/churn/users/${u}`)),
    /** @type {Promise<{ alerts: FraudAlert[] }>} */ (ctx.api(`/api/fraud/alerts?user_id=${u}&limit=20`)),
  ]);
  /**
   * A section showing one answer, or why it failed.
   * @template T
   * @param {string} title
   * @param {PromiseSettledResult<T>} result
   * @param {(value: T) => Child} show
   */
  const part = (title, result, show) =>
    section(title, result.status === "fulfilled" ? show(result.value) : ctx.failure(result.reason));
  return [
    form,
    part(
      "Stats",
      stats,
      (s) =>
        tiles([["events", s.events], ["purchases", s.purchases], ["spent", s.spent], ["sessions", s.sessions], [
          "engagement_score",
          s.engagement_score,
        ], ["segment", s.segment, s.segment]]),
    ),
    part(
      "Churn risk",
      churn,
      (c) => h("div", {}, tiles([["churn_score", c.score, `${pct(c.score)} (${c.kind})`]]), reasons(c.reasons)),
    ),
    part(
      "Session timeline",
      sessions,
      (s) =>
        table(
          "newest first",
          [["started_at", "started", time], ["duration_s", "seconds"], ["events", "events"], [
            "furthest_step",
            "furthest step",
          ]],
          s.sessions,
          { path: `/api/funnel/users/${u}/sessions?limit=200` },
        ),
    ),
    part(
      "Fraud alerts",
      alerts,
      (a) =>
        a.alerts.length === 0 ? note("empty", "No alerts for this user.") : table(
          "newest first",
          [["event_time", "when", time], ["amount", "amount"], ["score", "score"], [
            "reasons",
            "reasons",
            reasons,
          ]],
          a.alerts,
          { path: `/api/fraud/alerts?user_id=${u}&limit=1000` },
        ),
    ),
  ];
}
