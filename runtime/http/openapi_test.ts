import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import * as api from "./schemas.ts";
import { Hono } from "hono";
import { z } from "zod";
import { describedRoutes, describeRoute, openApiPath, openApiPaths, type RoutedApp } from "./openapi.ts";
import type { PluginDefinition } from "../sdk/mod.ts";
import {
  BACKENDS,
  getJson,
  type Json,
  pageView,
  pluginsFolder,
  postJson,
  REPO,
  waitForCatchUp,
  withRuntime,
} from "../../tests/support/harness.ts";

const SHIPPED = ["churn", "fraud", "funnel", "stats"];
const embedded = BACKENDS[0];
const options = { sanitizeOps: false, sanitizeResources: false };

/** Every operation of a document, as `METHOD /path`. */
function operations(doc: Json): string[] {
  return Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
    Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`)
  );
}

Deno.test("describedRoutes() finds each route once, through sub-apps, and leaves middleware out", () => {
  const sub = new Hono();
  sub.onError((err, c) => c.json({ error: err.message }, 500)); // Hono then wraps the sub-app's handlers
  sub.get(
    "/items/:id{[0-9]+}",
    describeRoute({ summary: "One item", response: z.object({ id: z.number() }) }),
    (c) => c.json({ id: Number(c.req.param("id")) }),
  );
  const app = new Hono();
  app.use("*", async (_c, next) => await next());
  app.get("/plain", (c) => c.text("no description"));
  app.route("/v2", sub);
  const routes = describedRoutes(app);
  assert.deepEqual(routes.map((r) => [r.method, r.path, r.spec?.summary ?? null]), [
    ["GET", "/plain", null],
    ["GET", "/v2/items/:id{[0-9]+}", "One item"],
  ]);
  const paths = openApiPaths(routes, "/api/demo", "demo");
  assert.deepEqual(Object.keys(paths), ["/api/demo/plain", "/api/demo/v2/items/{id}"]);
  assert.deepEqual(paths["/api/demo/v2/items/{id}"].get.parameters, [
    { name: "id", in: "path", required: true, schema: { type: "string" } },
  ]);
  assert.deepEqual(paths["/api/demo/v2/items/{id}"].get.responses["200"].content["application/json"].schema, {
    type: "object",
    properties: { id: { type: "number" } },
    required: ["id"],
    additionalProperties: false,
  });
  assert.equal(paths["/api/demo/plain"].get.summary, "Not described by its code");
});

Deno.test({
  name: "/api/openapi.json is valid OpenAPI 3.1 and lists every route of the host and of each plugin",
  ...options,
  async fn() {
    const plugins = [...SHIPPED.map((name) => ({ name, from: new URL("plugins/", REPO) })), { name: "counter" }];
    await withRuntime(embedded, { pluginsDir: await pluginsFolder(plugins) }, async (rt) => {
      const { status, body: doc } = await getJson(rt, "/api/openapi.json");
      assert.equal(status, 200);
      const result = await new Validator().validate(doc);
      assert.deepEqual(result, { valid: true });
      assert.equal(doc.openapi, "3.1.0");
      assert.deepEqual(doc.tags.map((t: Json) => t.name), ["host", "churn", "counter", "fraud", "funnel", "stats"]);
      const listed = new Set(operations(doc));

      // The host: every route its app answers (middleware and the plugins' catch-all aside), each described.
      const host = describedRoutes(rt.app);
      assert.ok(host.length >= 15, `the host answers ${host.length} routes`);
      for (const r of host) {
        assert.ok(listed.has(`${r.method} ${openApiPath(r.path)}`), `${r.method} ${r.path} is listed`);
        assert.ok(r.spec, `${r.method} ${r.path} describes itself`);
      }
      for (const path of ["/v1/events", "/v1/batch", "/v1/track", "/api/plugins", "/api/dead-letters", "/docs"]) {
        assert.ok(doc.paths[path], `${path} is listed`);
      }

      // Each shipped plugin: every route of its app, under /api/<name> and its tag, each described.
      for (const name of SHIPPED) {
        const plugin = (await import(new URL(`plugins/${name}/mod.ts`, REPO).href)).default as PluginDefinition;
        assert.equal(typeof plugin.fetch, "object", `${name} hands over its Hono app`);
        const routes = describedRoutes(plugin.fetch as RoutedApp);
        assert.ok(routes.length > 0);
        for (const r of routes) {
          const path = openApiPath(`/api/${name}${r.path === "/" ? "" : r.path}`);
          const op = doc.paths[path]?.[r.method.toLowerCase()];
          assert.ok(op, `${r.method} ${path} is listed`);
          assert.deepEqual(op.tags, [name]);
          assert.ok(r.spec, `${name}: ${r.method} ${r.path} describes itself`);
          assert.equal(op.summary, r.spec.summary);
        }
        const ours = operations(doc).filter((o) => o.split(" ")[1].startsWith(`/api/${name}/`));
        assert.equal(ours.length, routes.length, `${name} lists only its own routes`);
      }

      // A plugin with a bare fetch function: one undescribed catch-all, which the server does answer.
      assert.deepEqual(Object.keys(doc.paths).filter((p) => p.startsWith("/api/counter")), ["/api/counter/{path}"]);
      assert.equal(doc.paths["/api/counter/{path}"].get.summary, "Not described by its code");
      assert.equal((await getJson(rt, "/api/counter/counts")).status, 200);

      // Every listed GET without path parameters answers with a status its route documents (a 404 only where it
      // says so).
      for (const op of listed) {
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

Deno.test({
  name: "the document says which token each route needs when the runtime requires tokens",
  ...options,
  async fn() {
    const opts = { pluginsDir: await pluginsFolder([{ name: "counter" }]), apiTokens: ["read"], ingestKeys: ["in"] };
    await withRuntime(embedded, opts, async (rt) => {
      const res = await rt.app.request("/api/openapi.json", { headers: { authorization: "Bearer read" } });
      const doc = await res.json();
      assert.deepEqual(doc.paths["/v1/events"].post.security, [{ ingestKey: [] }, { writeKey: [] }]);
      assert.deepEqual(doc.paths["/api/plugins"].get.security, [{ apiToken: [] }]);
      assert.equal(doc.paths["/healthz"].get.security, undefined);
      assert.deepEqual((await new Validator().validate(doc)).valid, true);
    });
  },
});

for (const backend of BACKENDS) {
  Deno.test({
    name: `[${backend.name}] the host's answers match the schemas its document publishes`,
    ignore: !backend.enabled,
    ...options,
    async fn() {
      await withRuntime(backend, { pluginsDir: await pluginsFolder([{ name: "counter" }]) }, async (rt) => {
        const ingested = await postJson(rt, "/v1/events", [pageView("a"), { type: "bad" }]);
        api.IngestAnswer.parse(ingested.body);
        assert.equal(ingested.body.rejected.length, 1);
        const segment = await postJson(rt, "/v1/batch", {
          batch: [{
            type: "track",
            messageId: "s1",
            userId: "u1",
            event: "Product Viewed",
            timestamp: "2026-01-01T00:00:00Z",
          }],
        });
        api.SegmentAnswer.parse(segment.body);
        await waitForCatchUp(rt);
        api.Health.parse((await getJson(rt, "/healthz")).body);
        api.Ready.parse((await getJson(rt, "/readyz")).body);
        const plugins = api.PluginList.parse((await getJson(rt, "/api/plugins")).body);
        assert.equal(plugins.plugins[0].processed, 2);
        const letters = api.DeadLetterList.parse((await getJson(rt, "/api/dead-letters")).body);
        assert.equal(letters.items.length, 1);
        const replay = await postJson(rt, "/api/dead-letters/replay", { ids: [letters.items[0].id] });
        api.ReplayAnswer.parse(replay.body);
        assert.equal(replay.body.failed.length, 1); // the item is still invalid
      });
    },
  });
}
