import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import * as api from "./schemas.ts";
import { Hono } from "hono";
import { z } from "zod";
import { describedRoutes, describeRoute, openApiPath, openApiPaths, queryTime } from "./openapi.ts";
import { answerHttpError } from "./errors.ts";
import {
  BACKENDS,
  getJson,
  pageView,
  pluginsFolder,
  postJson,
  waitForCatchUp,
  withRuntime,
} from "../../tests/support/harness.ts";

const embedded = BACKENDS[0];
const options = { sanitizeOps: false, sanitizeResources: false };

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

Deno.test("describedRoutes() finds a route's description under two nested sub-apps that each have onError", () => {
  const inner = new Hono().onError((err, c) => c.json({ error: err.message }, 500));
  inner.get("/deep", describeRoute({ summary: "Deep" }), (c) => c.text("deep"));
  const middle = new Hono().onError((err, c) => c.json({ error: err.message }, 500));
  middle.route("/b", inner);
  const app = new Hono().route("/a", middle);
  assert.deepEqual(describedRoutes(app).map((r) => [r.method, r.path, r.spec?.summary ?? null]), [
    ["GET", "/a/b/deep", "Deep"],
  ]);
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
        const hook = { url: "https://example.com/hooks", secret: "x".repeat(24), plugin: "counter", channel: "seen" };
        const saved = await rt.app.request("/api/webhooks/ops", { method: "PUT", body: JSON.stringify(hook) });
        assert.equal(saved.status, 200);
        api.Webhook.parse(await saved.json());
        assert.equal(api.WebhookList.parse((await getJson(rt, "/api/webhooks")).body).webhooks.length, 1);
        api.DeliveryList.parse((await getJson(rt, "/api/webhooks/ops/deliveries?status=dead")).body);
      });
    },
  });
}

Deno.test("openApiPath() writes Hono's path parameters, patterns and optional marks the OpenAPI way", () => {
  assert.equal(openApiPath("/users/:id{[0-9]+}"), "/users/{id}");
  assert.equal(openApiPath("/a/:x/b/:y?"), "/a/{x}/b/{y}");
  assert.equal(openApiPath("/plain"), "/plain");
});

Deno.test("describeRoute() validates the query with its schema: parsed values for the handler, a 400 naming each problem", async () => {
  const query = z.object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    sort: z.enum(["a", "b"]).optional(),
    from: queryTime("the start"),
  });
  const app = new Hono().onError(answerHttpError);
  app.get("/items", describeRoute({ summary: "Items", query }), (c) => c.json(c.req.valid("query")));
  const answer = async (path: string) => {
    const res = await app.request(path);
    return [res.status, await res.json()];
  };
  assert.deepEqual(await answer("/items"), [200, { limit: 20 }]);
  assert.deepEqual(await answer("/items?limit=&sort="), [200, { limit: 20 }]); // empty values count as absent
  assert.deepEqual(await answer("/items?limit=7&sort=b&from=2026-01-01T01:00:00%2B01:00"), [
    200,
    { limit: 7, sort: "b", from: "2026-01-01T00:00:00.000Z" },
  ]);
  const [status, body] = await answer("/items?limit=500&sort=c&from=10000-01-01");
  assert.equal(status, 400);
  assert.match(
    body.error,
    /^limit: .*100.*, got '500'; sort: .*, got 'c'; from: must be an ISO-8601 time within the years 1000 to 8999, got '10000-01-01'$/,
  );
  assert.deepEqual(await answer("/items?limit=1.5"), [400, {
    error: "limit: Invalid input: expected int, received number, got '1.5'",
  }]);
});

Deno.test("describeRoute() gives a list parameter every value it is repeated with, any other its first", async () => {
  const query = z.object({ tag: z.array(z.string().max(3)).max(2).default([]), sort: z.string().optional() });
  const app = new Hono().onError(answerHttpError);
  app.get("/items", describeRoute({ summary: "Items", query }), (c) => c.json(c.req.valid("query")));
  const answer = async (path: string) => {
    const res = await app.request(path);
    return [res.status, await res.json()];
  };
  assert.deepEqual(await answer("/items"), [200, { tag: [] }]);
  assert.deepEqual(await answer("/items?tag=a&tag=&tag=b&sort=x&sort=y"), [200, { tag: ["a", "b"], sort: "x" }]);
  assert.deepEqual(await answer("/items?tag=a&tag=long"), [400, {
    error: "tag: Too big: expected string to have <=3 characters, got 'long'",
  }]);
  assert.equal((await answer("/items?tag=a&tag=b&tag=c"))[0], 400);
});
