/**
 * The document of the runtime with the shipped plugins and one fixture: its operations checked against the HTTP
 * contract written out here by hand, not against what the code under test says it routes.
 * @module
 */
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { BACKENDS, getJson, type Json, pluginsFolder, REPO, withRuntime } from "./support/harness.ts";

const SHIPPED = ["alerts", "churn", "fraud", "funnel", "stats"];

/** Every operation the runtime answers with the shipped plugins and the `counter` fixture (a bare fetch function). */
const OPERATIONS = [
  "DELETE /api/alerts/rules/{name}",
  "DELETE /api/counter/{path}",
  "DELETE /api/fraud/rules/{rule_id}",
  "DELETE /api/funnel/definitions/{name}",
  "DELETE /api/webhooks/{name}",
  "GET /",
  "GET /analytics-next/bundles/{file}",
  "GET /analytics.js/v1/{writeKey}/analytics.min.js",
  "GET /api/alerts/fired",
  "GET /api/alerts/kpis",
  "GET /api/alerts/rules",
  "GET /api/churn/at-risk",
  "GET /api/churn/model",
  "GET /api/churn/users/{user_id}",
  "GET /api/counter/{path}",
  "GET /api/dead-letters",
  "GET /api/fraud/alerts",
  "GET /api/fraud/model",
  "GET /api/fraud/rules",
  "GET /api/fraud/rules/history",
  "GET /api/funnel/definitions",
  "GET /api/funnel/definitions/{name}",
  "GET /api/funnel/definitions/{name}/report",
  "GET /api/funnel/definitions/{name}/users",
  "GET /api/funnel/hot-leads",
  "GET /api/funnel/paths",
  "GET /api/funnel/summary",
  "GET /api/funnel/summary/users",
  "GET /api/funnel/users/{user_id}/sessions",
  "GET /api/openapi.json",
  "GET /api/plugins",
  "GET /api/stats/overview",
  "GET /api/stats/products",
  "GET /api/stats/products/trending",
  "GET /api/stats/properties",
  "GET /api/stats/retention",
  "GET /api/stats/retention/users",
  "GET /api/stats/revenue",
  "GET /api/stats/segments",
  "GET /api/stats/segments/{segment}/users",
  "GET /api/stats/sessions",
  "GET /api/stats/timeseries",
  "GET /api/stats/users/{user_id}",
  "GET /api/stats/videos",
  "GET /api/stream",
  "GET /api/webhooks",
  "GET /api/webhooks/{name}/deliveries",
  "GET /assets/{file}",
  "GET /docs",
  "GET /healthz",
  "GET /metrics",
  "GET /readyz",
  "GET /v1/projects/{writeKey}/settings",
  "PATCH /api/counter/{path}",
  "POST /api/churn/score",
  "POST /api/churn/train",
  "POST /api/counter/{path}",
  "POST /api/dead-letters/replay",
  "POST /api/fraud/labels",
  "POST /api/fraud/model/train",
  "POST /api/fraud/score",
  "POST /api/funnel/definitions",
  "POST /api/funnel/report",
  "POST /v1/a",
  "POST /v1/alias",
  "POST /v1/b",
  "POST /v1/batch",
  "POST /v1/events",
  "POST /v1/g",
  "POST /v1/group",
  "POST /v1/i",
  "POST /v1/identify",
  "POST /v1/m",
  "POST /v1/p",
  "POST /v1/page",
  "POST /v1/s",
  "POST /v1/screen",
  "POST /v1/sources/{plugin}",
  "POST /v1/t",
  "POST /v1/track",
  "PUT /api/alerts/rules/{name}",
  "PUT /api/counter/{path}",
  "PUT /api/fraud/rules/{rule_id}",
  "PUT /api/fraud/threshold",
  "PUT /api/webhooks/{name}",
];

/** Every operation of a document, as `METHOD /path`. */
function operations(doc: Json): string[] {
  return Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
    Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`)
  );
}

Deno.test({
  name: "/api/openapi.json is valid OpenAPI 3.1 and lists every route of the host and of each plugin",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const plugins = [...SHIPPED.map((name) => ({ name, from: new URL("plugins/", REPO) })), { name: "counter" }];
    await withRuntime(BACKENDS[0], { pluginsDir: await pluginsFolder(plugins) }, async (rt) => {
      const { status, body: doc } = await getJson(rt, "/api/openapi.json");
      assert.equal(status, 200);
      const result = await new Validator().validate(doc);
      assert.deepEqual(result, { valid: true });
      assert.equal(doc.openapi, "3.1.0");
      assert.deepEqual(doc.tags.map((t: Json) => t.name), [
        "host",
        "alerts",
        "churn",
        "counter",
        "fraud",
        "funnel",
        "stats",
      ]);
      assert.deepEqual(operations(doc).sort(), OPERATIONS);

      // Each operation under its owner's tag, and described by its code (the bare-fetch fixture aside).
      for (const op of OPERATIONS) {
        const [method, path] = op.split(" ");
        const described = doc.paths[path][method.toLowerCase()];
        const owner = /^\/api\/([a-z_]+)\//.exec(path)?.[1];
        const tag = owner && [...SHIPPED, "counter"].includes(owner) ? owner : "host";
        assert.deepEqual(described.tags, [tag], `${op} is tagged ${tag}`);
        if (tag !== "counter") {
          assert.notEqual(described.summary, "Not described by its code", `${op} describes itself`);
        }
      }

      // Every GET under /api that answers JSON takes format and table (CSV exports); nothing else does.
      const names = (op: Json) => (op.parameters ?? []).map((p: Json) => p.name);
      for (const path of ["/api/stats/products", "/api/dead-letters", "/api/alerts/fired"]) {
        assert.ok(names(doc.paths[path].get).includes("format"), path);
        assert.ok(names(doc.paths[path].get).includes("table"), path);
        assert.ok(doc.paths[path].get.responses["200"].content["text/csv"], path);
      }
      assert.ok(!names(doc.paths["/api/stream"].get).includes("format"));
      assert.ok(!names(doc.paths["/api/funnel/definitions"].post).includes("format"));

      // A plugin with a bare fetch function: one undescribed catch-all, which the server does answer.
      assert.equal(doc.paths["/api/counter/{path}"].get.summary, "Not described by its code");
      assert.equal((await getJson(rt, "/api/counter/counts")).status, 200);

      // Every listed GET without path parameters answers with a status its route documents (a 404 only where it
      // says so).
      for (const op of OPERATIONS) {
        const [method, path] = op.split(" ");
        if (method !== "GET" || path.includes("{") || path === "/api/stream") continue;
        const res = await rt.app.request(path);
        await res.body?.cancel();
        const documented = Object.keys(doc.paths[path].get.responses);
        assert.ok(documented.includes(String(res.status)), `${path} answered ${res.status}, documents ${documented}`);
      }
      assert.equal((await getJson(rt, "/api/stats/no-such-route")).status, 404);
    });
  },
});
