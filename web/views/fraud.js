// @ts-check
/// <reference lib="dom" />
/**
 * The "Fraud" view: the latest purchases the fraud rules flagged.
 * @module
 */
import { note, reasons, section, table, time, userLink } from "../widgets.js";

/** @import { FraudAlert } from "../api.js" */
/** @import { ViewContext } from "../app.js" */

/**
 * The 50 newest alerts, or an empty state saying where they come from.
 * @param {ViewContext} ctx
 * @returns {Promise<Node[]>}
 */
export async function fraudView(ctx) {
  const { alerts } = /** @type {{ alerts: FraudAlert[] }} */ (await ctx.api("/api/fraud/alerts?limit=50"));
  return [section(
    "Fraud alerts",
    alerts.length === 0
      ? note("empty", "No alerts.", "Purchases that trip the rules appear here within a second.")
      : table(
        "newest first",
        [["event_time", "when", time], ["user_id", "user", userLink], ["amount", "amount"], [
          "score",
          "score",
        ], ["reasons", "reasons", reasons]],
        alerts,
        { path: "/api/fraud/alerts?limit=1000" },
      ),
  )];
}
