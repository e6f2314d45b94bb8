// @ts-check
/// <reference lib="dom" />
/**
 * The "Pipeline" view: events per second, each plugin's status, lag and storage, and the latest dead letters, with
 * how many are in each state; the state shown is in the hash (`#/pipeline/<state>`), so a filtered view can be shared.
 * @module
 */
import { keepRange } from "../range.js";
import { h } from "../dom.js";
import { mib, note, section, table, tiles, time } from "../widgets.js";

/** @import { Plugin, PluginList } from "../api.js" */
/** @import { DashboardState, ViewContext } from "../app.js" */

/**
 * A dead letter, as `GET /api/dead-letters` lists it.
 * @typedef {{
 *   id: number, created_at: string, stage: string, state: string, retries: number, reason: string,
 *   last_error: string | null, next_retry_at: string | null
 * }} DeadLetter
 */

/**
 * `GET /api/dead-letters`.
 * @typedef {{ total: number, by_state: Record<string, number>, items: DeadLetter[] }} DeadLetterList
 */

/** The states a dead letter goes through, as the API names them. */
const STATES = ["pending", "retrying", "dead", "resolved"];

/**
 * The pipeline's numbers, its plugins and its dead letters (of one state, when `state` names one).
 * @param {ViewContext} ctx
 * @param {string} [state]
 * @returns {Promise<Node[]>}
 */
export async function pipelineView(ctx, state) {
  const chosen = state !== undefined && STATES.includes(state) ? state : "";
  const [{ plugins, source }, letters] = await Promise.all([
    /** @type {Promise<PluginList>} */ (ctx.api("/api/plugins")),
    /** @type {Promise<DeadLetterList>} */ (ctx.api(`/api/dead-letters?limit=20${chosen && `&state=${chosen}`}`)),
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
      tiles([
        ["events_per_second", eventsPerSecond(ctx.state)],
        ["events_in_log", ctx.state.snapshot?.head ?? 0],
        ["dead_letters_to_resolve", letters.by_state.pending + letters.by_state.retrying + letters.by_state.dead],
      ]),
      h("p", {}, `Source: ${source.kind}`),
    ),
    section(
      "Plugins",
      table(
        "status, lag and work done",
        [
          ["name", "plugin"],
          ["status", "status", status],
          ["lag", "lag"],
          ["processed", "processed"],
          ["failed", "failed"],
          ["storage_bytes", "storage", storage],
          ["error", "last error"],
        ],
        plugins,
        { path: "/api/plugins" },
      ),
    ),
    section(
      "Dead letters",
      stateFilter(chosen, letters.by_state),
      letters.total === 0
        ? note("empty", chosen ? `No dead letters are ${chosen}.` : "No dead letters: nothing was rejected.")
        : table(
          "newest first",
          [
            ["created_at", "when", time],
            ["stage", "stage"],
            ["state", "state"],
            ["retries", "retries"],
            ["reason", "reason"],
            ["last_error", "last error", (/** @type {string | null} */ e) => e ?? "—"],
            ["next_retry_at", "next retry", time],
          ],
          letters.items,
          { path: `/api/dead-letters?limit=1000${chosen && `&state=${chosen}`}` },
        ),
    ),
  ];
}

/**
 * Links to the letters of each state, with how many there are; the chosen one marked current.
 * @param {string} chosen
 * @param {Record<string, number>} byState
 * @returns {HTMLElement}
 */
function stateFilter(chosen, byState) {
  const all = Object.values(byState).reduce((a, b) => a + b, 0);
  /** @type {[string, string, number][]} */
  const links = [["", "all", all], ...STATES.map((s) => /** @type {[string, string, number]} */ ([s, s, byState[s]]))];
  return h(
    "nav",
    { class: "filters", "aria-label": "Dead letters by state" },
    links.map(([state, label, n]) =>
      h("a", {
        href: keepRange(state ? `#/pipeline/${state}` : "#/pipeline"),
        "data-state": label,
        "aria-current": state === chosen ? "page" : undefined,
      }, `${label} (${n})`)
    ),
  );
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
