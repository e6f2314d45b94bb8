import assert from "node:assert/strict";
import { describedRoutes } from "../../runtime/openapi.ts";
import { type PluginHarness, testPlugin } from "../../runtime/plugin_test_kit.ts";
import { simulateHistory } from "../../runtime/simulator/mod.ts";
import { type Json, waitFor } from "../../runtime/testing.ts";
import plugin from "./mod.ts";

/** Calls each described route as `METHOD /path` and checks its answer with the route's own response schema. */
function routeChecker(h: PluginHarness) {
  assert.ok(typeof plugin.fetch === "object", "fetch is the plugin's Hono app, so its routes are described");
  const specs = new Map(describedRoutes(plugin.fetch).map((r) => [`${r.method} ${r.path}`, r.spec]));
  const called = new Set<string>();
  return {
    async call(route: string, url: string, body?: unknown): Promise<Json> {
      const spec = specs.get(route);
      assert.ok(spec, `${route} is a described route`);
      if (body !== undefined) spec.body!.parse(body); // what the test sends is what the document asks for
      const [method] = route.split(" ");
      const res = await h.runtime.app.request(`/api/${h.name}${url}`, {
        method,
        headers: { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      assert.equal(res.status, spec.status ?? 200, `${route}: ${text}`);
      called.add(route);
      if (spec.status === 204) return assert.equal(text, "");
      return spec.response!.parse(JSON.parse(text));
    },
    assertAllCalled() {
      assert.deepEqual([...called].sort(), [...specs.keys()].sort());
    },
  };
}

/** Fails on a null or an empty array or object anywhere in `value`, except at the paths in `mayBeNull`. */
function assertFilled(value: unknown, where: string, mayBeNull: string[] = []): void {
  if (value === null) return assert.ok(mayBeNull.includes(where), `${where} is null`);
  if (typeof value !== "object") return;
  const entries = Object.entries(value);
  assert.ok(entries.length > 0, `${where} is empty`);
  for (const [k, v] of entries) assertFilled(v, Array.isArray(value) ? `${where}[]` : `${where}.${k}`, mayBeNull);
}

Deno.test({
  name: "churn: every route answers what its described response schema says, field by field",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using h = await testPlugin(new URL("./", import.meta.url));
    const routes = routeChecker(h);
    const { events } = simulateHistory({ seed: 1, users: 400, start: new Date("2026-01-01T00:00:00Z"), days: 84 });
    for (let i = 0; i < events.length; i += 900) await h.send(events.slice(i, i + 900));
    // The scheduled check trains the first model on its own; two trainings at once would refuse one.
    await waitFor("the scheduled first model", async () => (await h.get("/model")).status === 200, 60_000);

    // Trained twice: the second is judged against a live model, so its `holdout.live` is filled in.
    await routes.call("POST /train", "/train");
    const trained = await routes.call("POST /train", "/train");
    assertFilled(trained, "train");
    const model = await routes.call("GET /model", "/model");
    assert.equal(model.model_version, trained.model_version);
    assertFilled(model, "model");

    const atRisk = await routes.call("GET /at-risk", "/at-risk?limit=20&min_score=0");
    assert.equal(atRisk.users.length, 20);
    assertFilled(atRisk, "at-risk");
    const user = await routes.call("GET /users/:user_id", `/users/${atRisk.users[0].user_id}`);
    assertFilled(user, "user");
    const scored = await routes.call("POST /score", "/score", { features: user.features });
    assert.deepEqual(scored, { model_version: model.model_version, score: user.score, reasons: user.reasons });
    routes.assertAllCalled();
  },
});
