// @ts-check
/// <reference lib="dom" />
/**
 * The dashboard: one view at a time, chosen by the URL's hash (`#/<view>/<arg>`), refreshed when /api/stream
 * says the data changed. The views are in `views/`, one module each; this module routes to them and keeps what
 * they share: the read token, the stream's latest snapshot, and when to render again.
 * @module
 */
import { getJson } from "./api.js";
import { savedToken } from "./dom.js";
import { rangeBar, rangeParams, resolveRange } from "./range.js";
import { alertsView } from "./views/alerts.js";
import { atRiskView } from "./views/at_risk.js";
import { fraudView } from "./views/fraud.js";
import { funnelView } from "./views/funnel.js";
import { liveView } from "./views/live.js";
import { audienceView } from "./views/audience.js";
import { pathsView } from "./views/paths.js";
import { peopleView } from "./views/people.js";
import { pipelineView } from "./views/pipeline.js";
import { retentionView } from "./views/retention.js";
import { pluginPanelsView } from "./views/plugin_panels.js";
import { productsView } from "./views/products.js";
import { usersView } from "./views/users.js";
import { failure } from "./widgets.js";

/** @import { Snapshot } from "./api.js" */
/** @import { Range } from "./range.js" */

/**
 * What the views share across renders.
 * @typedef {object} DashboardState
 * @property {Snapshot | null} snapshot the latest from /api/stream; null until the first
 * @property {{ t: number, head: number }[]} heads the log's head at the last few snapshots (`t` in ms)
 * @property {string} selectedFunnel the custom funnel the funnel view shows; "" for the first
 */

/**
 * What a view is given.
 * @typedef {object} ViewContext
 * @property {(path: string) => Promise<unknown>} api the JSON answer to `GET path`, with the read token;
 *   throws an `ApiError` unless a 2xx
 * @property {(error: unknown) => HTMLElement} failure the state to show for a failed request
 * @property {DashboardState} state
 * @property {() => void} render renders the view again, as after a change of its own controls
 * @property {Range | null} range the range of event time the hash asks for, in a view that reads one
 * @property {URLSearchParams} params the hash's parameters (after `?`)
 * @property {string} route the hash without its parameters
 */

/**
 * A view: the contents of `#view` for `#/<name>/<arg>`.
 * @typedef {(ctx: ViewContext, arg?: string) => Promise<Node[]>} View
 */

/**
 * The views that read a range of event time: the range when the hash names none, and whether they compare periods.
 * Audience's segments are of now (each user's latest tier): its devices, sessions and videos read a range.
 * @type {Record<string, (arg: string | undefined) => { fallback: string, compare: boolean } | null>}
 */
const RANGED = {
  live: () => ({ fallback: "1h", compare: true }),
  funnel: () => ({ fallback: "all", compare: true }),
  retention: () => ({ fallback: "all", compare: false }),
  paths: () => ({ fallback: "all", compare: false }),
  products: () => ({ fallback: "all", compare: true }),
  audience: (arg) => ["devices", "sessions", "videos"].includes(arg ?? "") ? { fallback: "all", compare: true } : null,
};

/**
 * The views by their name in the hash; an unknown name shows `live`.
 * @type {Record<string, View>}
 */
const VIEWS = {
  live: liveView,
  funnel: funnelView,
  retention: retentionView,
  paths: pathsView,
  people: peopleView,
  users: usersView,
  audience: audienceView,
  "at-risk": atRiskView,
  fraud: fraudView,
  alerts: alertsView,
  products: productsView,
  pipeline: pipelineView,
  plugins: pluginPanelsView,
};

const main = /** @type {HTMLElement} */ (document.getElementById("view"));
const connection = /** @type {HTMLElement} */ (document.getElementById("connection"));
/** One render at a time; `dirty` when the data changed during one, `pending` while a later one waits. */
const renders = {
  rendering: false,
  dirty: false,
  lastRender: 0,
  /** @type {ReturnType<typeof setTimeout> | null} */
  pending: null,
};

let token = savedToken();

/** @type {ViewContext} */
const context = {
  api: (path) => getJson(path, token),
  failure: (error) =>
    failure(error, (given) => {
      token = given;
      connect();
      render();
    }),
  state: { snapshot: null, heads: [], selectedFunnel: "" },
  render,
  range: null,
  params: new URLSearchParams(),
  route: "#/",
};

/** Renders the view the hash names; one render at a time, again if data changed meanwhile. */
async function render() {
  if (renders.rendering) {
    renders.dirty = true;
    return;
  }
  renders.rendering = true;
  renders.lastRender = Date.now();
  const hash = location.hash;
  const [route, query = ""] = hash.split("?");
  const params = new URLSearchParams(query);
  const [name, arg] = route.replace(/^#\//, "").split("/");
  const view = Object.hasOwn(VIEWS, name) ? name : "live"; // not "constructor" and the like
  // The nav keeps the range: the next view shows the same time.
  const kept = rangeParams(params).toString();
  for (const a of document.querySelectorAll("header nav a")) {
    const target = /** @type {string} */ (a.getAttribute("href")).split("?")[0];
    a.setAttribute("href", kept ? `${target}?${kept}` : target);
    a.toggleAttribute("aria-current", target === `#/${view}`);
    if (target === `#/${view}`) a.setAttribute("aria-current", "page");
  }
  const decoded = arg && decodeURIComponent(arg);
  const ranged = Object.hasOwn(RANGED, view) ? RANGED[view](decoded) : null;
  context.range = null;
  context.params = params;
  context.route = route;
  /** The range's controls, above the view or above its failure: a range the API refuses can be changed back. */
  const bar = () => ranged && context.range ? [rangeBar(context.range, route, params, ranged.compare)] : [];
  try {
    if (ranged) {
      const watermark = context.state.snapshot?.watermark ??
        (/** @type {{ log: { watermark: string | null } }} */ (await context.api("/api/plugins"))).log.watermark;
      context.range = resolveRange(params, watermark, ranged.fallback);
    }
    const nodes = await VIEWS[view](context, decoded);
    const active = document.activeElement?.id;
    main.replaceChildren(...bar(), ...nodes);
    if (active) document.getElementById(active)?.focus();
  } catch (e) {
    main.replaceChildren(...bar(), context.failure(e));
  } finally {
    main.dataset.view = view;
    main.dataset.hash = hash; // what this render showed: the hash may have changed meanwhile
    main.dataset.rendered = String(Date.now());
    renders.rendering = false;
    if (renders.dirty) {
      renders.dirty = false;
      setTimeout(render, 0);
    }
  }
}

/** Re-renders on changes, at most once a second; not while someone is choosing a range (it would undo their typing). */
function changed() {
  const wait = choosing() ? 1000 : 1000 - (Date.now() - renders.lastRender);
  if (wait <= 0) render();
  else if (!renders.pending) {
    renders.pending = setTimeout(() => {
      renders.pending = null;
      changed();
    }, wait);
  }
}

/** Whether the focus is in the range's or the breakdown's controls. */
const choosing = () => document.activeElement?.closest("form.range, form.slice") != null;

/**
 * Keeps a snapshot from the stream and the log's recent heads, then re-renders.
 * @param {Snapshot} snapshot
 */
function onSnapshot(snapshot) {
  const { state } = context;
  state.snapshot = snapshot;
  state.heads.push({ t: Date.now(), head: snapshot.head });
  while (state.heads.length > 2 && Date.now() - state.heads[0].t > 5000) state.heads.shift();
  changed();
}

/** @type {EventSource | null} */
let stream = null;
/** @type {ReturnType<typeof setInterval> | undefined} */
let poll = undefined;

/** Listens on /api/stream; polls /api/plugins instead while the stream is down. */
function connect() {
  stream?.close();
  clearInterval(poll);
  poll = undefined;
  stream = new EventSource(token ? `/api/stream?access_token=${encodeURIComponent(token)}` : "/api/stream");
  stream.addEventListener("open", () => {
    connection.textContent = "live";
    clearInterval(poll);
    poll = undefined;
  });
  stream.addEventListener("update", (e) => onSnapshot(/** @type {Snapshot} */ (JSON.parse(e.data))));
  // A plugin pushed something out (a fraud alert): the view showing it renders again.
  stream.addEventListener("notice", changed);
  stream.addEventListener("error", () => {
    connection.textContent = "reconnecting… (polling every 5 s)";
    poll ??= setInterval(() => context.api("/api/plugins").then(changed, () => {}), 5000);
  });
}

addEventListener("hashchange", () => {
  // A view's own control changed the hash: the focus stays on it; a link moved to another view: the view takes it.
  const fromControl = document.activeElement?.closest("#view form") ?? null;
  render();
  if (!fromControl) main.focus();
});
connect();
render();
