// @ts-check
/// <reference lib="dom" />
/**
 * The "Pipeline" view: events per second, each plugin's status, lag and storage, and the latest dead letters.
 * @module
 */
import { h } from "../dom.js";
import { mib, note, section, table, tiles, time } from "../widgets.js";

/** @import { Plugin, PluginList } from "../api.js" */
/** @import { DashboardState, ViewContext } from "../app.js" */

/**
 * `GET /api/dead-letters`.
 * @typedef {{ total: number, items: { created_at: string, stage: string, reason: string }[] }} DeadLetterList
 */

/**
 * The pipeline's numbers, its plugins and its dead letters.
 * @param {ViewContext} ctx
 * @returns {Promise<Node[]>}
 */
export async function pipelineView(ctx) {
  const [{ plugins, source }, letters] = await Promise.all([
    /** @type {Promise<PluginList>} */ (ctx.api("/api/plugins")),
    /** @type {Promise<DeadLetterList>} */ (ctx.api("/api/dead-letters?limit=20")),
  ]);
  /** @param {string} s */
  const status = (s) => h("span", { class: `status-${s}` }, s);
  /**
   * @param {number} bytes
   * @param {Plugin} p
   */
  const storage = (bytes, p) => `${mib(bytes)} of ${mib(p.storage_limit_bytes)} MiB`;
  return [
    section(
      "Pipeline",
      tiles([["events_per_second", eventsPerSecond(ctx.state)], ["events_in_log", ctx.state.snapshot?.head ?? 0], [
        "dead_letters",
        letters.total,
      ]]),
      h("p", {}, `Source: ${source.kind}`),
    ),
    section(
      "Plugins",
      table("status, lag and work done", [
        ["name", "plugin"],
        ["status", "status", status],
        ["lag", "lag"],
        ["processed", "processed"],
        ["failed", "failed"],
        ["storage_bytes", "storage", storage],
        ["error", "last error"],
      ], plugins),
    ),
    section(
      "Dead letters",
      letters.total === 0 ? note("empty", "No dead letters: nothing was rejected.") : table(
        "newest first",
        [["created_at", "when", time], ["stage", "stage"], ["reason", "reason"]],
        letters.items,
      ),
    ),
  ];
}

/**
 * Events per second over the last few stream updates.
 * @param {DashboardState} state
 * @returns {number}
 */
function eventsPerSecond(state) {
  const [first, last] = [state.heads[0], state.heads.at(-1)];
  if (!first || !last || last.t === first.t) return 0;
  return Math.round(((last.head - first.head) / (last.t - first.t)) * 1000);
}
