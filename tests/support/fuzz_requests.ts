/**
 * The requests the fuzz test (`fuzz_test.ts`) makes: bodies for `POST /v1/events`, and requests to every route of
 * the host and of the shipped plugins, each starting from a valid request and made odd with {@linkcode Fuzz}.
 */
import { Fuzz, fuzzBody, fuzzHeaders, type FuzzRequest } from "./fuzz.ts";

/** A body for `POST /v1/events`, as JSON (one event, an array, or `{ events }`) or as malformed raw input. */
export function fuzzIngestBody(f: Fuzz, id: () => string): NonNullable<FuzzRequest["body"]> {
  const r = f.random();
  if (r < 0.12) return fuzzBody(f, undefined);
  if (r < 0.13) return { json: Array.from({ length: 1001 }, () => f.event(id())) }; // too many: 413
  if (r < 0.135) return { text: JSON.stringify({ events: [f.event(id()), { page: "x".repeat(1024 * 1024) }] }) };
  const items = Array.from({ length: f.chance(0.3) ? 1 : 1 + f.int(25) }, () => {
    const k = f.random();
    if (k < 0.3) return f.event(id());
    if (k < 0.45) return f.edgeEvent(id());
    if (k < 0.9) return f.mutate(f.event(id()));
    return f.value(3);
  });
  const shape = f.random();
  const json = shape < 0.3 && items.length === 1 ? items[0] : shape < 0.7 ? items : { events: items };
  if (f.chance(0.05)) {
    // A number JSON.stringify cannot write: an infinity once parsed.
    return { text: JSON.stringify(json).replace(/"price":[0-9.]+/, '"price":1e400') };
  }
  return { json };
}

/** Query parameters each route reads, with odd values worth trying on them. */
const PARAM_VALUES = [
  "",
  "0",
  "1",
  "-1",
  "5",
  "1000",
  "1001",
  "1e3",
  "0x10",
  "1.5",
  "0.5",
  "99999999999999999999",
  "2026-05-01T00:00:00Z",
  "2026-05-10T00:00:00Z",
  "2026-05-04",
  "2026-05-01T10:30:00Z",
  "product_view",
  "previous",
  "week",
  "dropped",
  "1970-01-01T00:00:00Z",
  "9999-12-31T23:59:59.999Z",
  "0001-01-01T00:00:00Z",
  "0000-01-01T00:00:00Z",
  "+275760-09-13T00:00:00Z",
  "-000001-01-01T00:00:00Z",
  "2026-02-30",
  "yesterday",
  "minute",
  "hour",
  "day",
  "week",
  "views",
  "revenue",
  "purchases",
  "country",
  "category",
  "device",
  "ingest",
  "plugin:stats",
  "pending",
  "replayed",
  "csv",
  "json",
  "CSV",
  "nodes",
  "top_paths",
  "conversion_rate",
  "events.search",
];

/** A route of the API: method, path (`:x` for a parameter), its query parameters and a valid body. */
export interface RouteSpec {
  method: string;
  path: string;
  query?: string[];
  body?: unknown;
  /** How often it is picked relative to the others (default 1): training a model is slow. */
  weight?: number;
}

const replacement = {
  event_id: "fz-replayed",
  type: "page_view",
  user_id: "fz1",
  timestamp: "2026-05-03T10:00:00Z",
};
const rule = { kind: "velocity", params: { window_s: 60, max_count: 5 }, points: 10, enabled: true };
const definition = { name: "fz", steps: ["page_view", { type: "purchase", where: { country: "US" } }], order: "any" };
const alertRule = { kpi: "conversion_rate", window: "hour", condition: "falls_by", threshold: 0.3, min_events: 5 };
const candidate = {
  user_id: "fz1",
  timestamp: "2026-05-02T10:00:00Z",
  properties: { amount: 12.5, country: "US", device: "mobile" },
};

/** Every route of the host and of the shipped plugins; some GETs with `format` and `table` (CSV exports). */
export const ROUTES: RouteSpec[] = [
  { method: "GET", path: "/healthz" },
  { method: "GET", path: "/readyz" },
  { method: "GET", path: "/metrics" },
  { method: "GET", path: "/" },
  { method: "GET", path: "/assets/:file" },
  { method: "GET", path: "/api/plugins" },
  { method: "GET", path: "/api/dead-letters", query: ["limit", "stage", "state", "before", "format"] },
  { method: "POST", path: "/api/dead-letters/replay", body: { stage: "ingest", limit: 5 } },
  // A corrected payload for a letter, which ingests it when the letter exists.
  { method: "POST", path: "/api/dead-letters/replay", body: { ids: [1, 2, 3], payloads: { "2": replacement } } },
  { method: "GET", path: "/api/stream", query: ["access_token"] },
  { method: "GET", path: "/api/stats/overview", query: ["from", "to", "format", "table"] },
  { method: "GET", path: "/api/stats/timeseries", query: ["from", "to", "bucket"] },
  { method: "GET", path: "/api/stats/products", query: ["limit", "sort"] },
  { method: "GET", path: "/api/stats/products/trending", query: ["limit"] },
  { method: "GET", path: "/api/stats/revenue", query: ["by", "from", "to"] },
  { method: "GET", path: "/api/stats/segments" },
  { method: "GET", path: "/api/stats/segments/:segment/users", query: ["limit", "after", "format"] },
  {
    method: "GET",
    path: "/api/stats/retention",
    query: ["interval", "periods", "start_event", "return_event", "from", "to"],
  },
  {
    method: "GET",
    path: "/api/stats/retention/users",
    query: ["interval", "start_event", "return_event", "cohort", "period", "limit", "after"],
  },
  { method: "GET", path: "/api/stats/videos", query: ["limit"] },
  { method: "GET", path: "/api/stats/sessions", query: ["from", "to"] },
  { method: "GET", path: "/api/stats/users/:user_id" },
  { method: "GET", path: "/api/funnel/summary", query: ["from", "to"] },
  { method: "GET", path: "/api/funnel/summary/users", query: ["step", "outcome", "from", "to", "limit", "after"] },
  { method: "GET", path: "/api/funnel/hot-leads", query: ["limit", "hours"] },
  {
    method: "GET",
    path: "/api/funnel/paths",
    query: ["event", "direction", "depth", "width", "top", "from", "to", "format", "table"],
  },
  { method: "GET", path: "/api/funnel/users/:user_id/sessions", query: ["limit"] },
  { method: "POST", path: "/api/funnel/definitions", body: definition },
  { method: "GET", path: "/api/funnel/definitions" },
  { method: "GET", path: "/api/funnel/definitions/:name" },
  { method: "DELETE", path: "/api/funnel/definitions/:name" },
  {
    method: "GET",
    path: "/api/funnel/definitions/:name/report",
    query: ["from", "to", "breakdown", "dropped_limit"],
  },
  { method: "POST", path: "/api/funnel/report", query: ["from", "to", "breakdown", "dropped_limit"], body: definition },
  {
    method: "GET",
    path: "/api/funnel/definitions/:name/users",
    query: ["step", "outcome", "from", "to", "limit", "after"],
  },
  { method: "GET", path: "/api/churn/at-risk", query: ["limit", "min_score", "offset"] },
  { method: "GET", path: "/api/churn/users/:user_id" },
  { method: "GET", path: "/api/churn/model" },
  { method: "POST", path: "/api/churn/train", weight: 0.2 },
  { method: "POST", path: "/api/churn/score", body: { features: { recency_days: 1, tenure_days: 10 } } },
  { method: "GET", path: "/api/fraud/alerts", query: ["since", "limit", "user_id"] },
  { method: "POST", path: "/api/fraud/score", body: candidate },
  { method: "GET", path: "/api/fraud/rules" },
  { method: "GET", path: "/api/fraud/rules/history" },
  { method: "PUT", path: "/api/fraud/rules/:rule_id", body: rule },
  { method: "DELETE", path: "/api/fraud/rules/:rule_id" },
  { method: "PUT", path: "/api/fraud/threshold", body: { threshold: 60 } },
  { method: "POST", path: "/api/fraud/labels", body: { labels: [{ event_id: "fz-1", fraud: true }] } },
  { method: "POST", path: "/api/fraud/model/train", weight: 0.2 },
  { method: "GET", path: "/api/fraud/model" },
  { method: "GET", path: "/api/alerts/rules", query: ["format"] },
  { method: "PUT", path: "/api/alerts/rules/:name", body: alertRule },
  { method: "DELETE", path: "/api/alerts/rules/:name" },
  { method: "GET", path: "/api/alerts/fired", query: ["rule", "limit", "before", "format"] },
  { method: "GET", path: "/api/alerts/kpis", query: ["kpi", "window", "from", "to", "format"] },
  { method: "GET", path: "/api/:plugin/:anything" },
];

/** Path parameters worth trying: known values, odd strings, broken percent-encoding, extra segments. */
const SEGMENTS = [
  "fz1",
  "fz",
  "velocity",
  "at_risk",
  "app.js",
  "index.html",
  "stats",
  "nope",
  "%",
  "%zz",
  "%00",
  "%C0%AF",
  "%ED%A0%80",
  "..",
  "%2e%2e",
  "a/b",
  "",
];

function segment(f: Fuzz): string {
  if (f.chance(0.4)) return f.pick(SEGMENTS);
  const s = f.string();
  return s.isWellFormed() ? encodeURIComponent(s) : encodeURIComponent(s.toWellFormed()) + "%ED%A0%80";
}

/** One request to a random route: usually its own method, with odd parameters, query and body. */
export function fuzzRouteRequest(f: Fuzz): FuzzRequest {
  let route = f.pick(ROUTES);
  while (!f.chance(route.weight ?? 1)) route = f.pick(ROUTES);
  const method = f.chance(0.8) ? route.method : f.pick(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]);
  const path = route.path.replace(/:[a-z_]+/g, () => segment(f));
  const names = [...(route.query ?? []), ...(f.chance(0.2) ? [f.string()] : [])];
  const query = names.filter(() => f.chance(0.6)).flatMap((name) =>
    Array.from({ length: f.chance(0.1) ? 2 : 1 }, () => {
      const value = f.chance(0.7) ? f.pick(PARAM_VALUES) : f.string();
      const enc = (s: string) => encodeURIComponent(s.toWellFormed());
      return `${enc(name)}=${f.chance(0.05) ? "%zz" : enc(value)}`;
    })
  );
  const takesBody = method !== "GET" && method !== "HEAD";
  return {
    method,
    url: path + (query.length ? `?${query.join("&")}` : ""),
    headers: fuzzHeaders(f),
    body: takesBody && f.chance(0.9) ? fuzzBody(f, route.body) : null,
  };
}
