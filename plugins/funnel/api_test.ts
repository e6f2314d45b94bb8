import assert from "node:assert/strict";
import type { ZodType } from "zod";
import { describedRoutes, ErrorBody, jsonSchema, type RoutedApp } from "../../runtime/openapi.ts";
import type { Runtime } from "../../runtime/runtime.ts";
import { Simulator } from "../../runtime/simulator/mod.ts";
import {
  type Json,
  pluginsFolder,
  postJson,
  REPO,
  testEachBackend,
  waitForCatchUp,
  withRuntime,
} from "../../runtime/testing.ts";
import plugin from "./mod.ts";

/** A request to one of the plugin's routes: its path under `/api/funnel` with the query, and a JSON body. */
type Call = { path: string; body?: unknown };

async function call(rt: Runtime, method: string, { path, body }: Call): Promise<{ status: number; body: Json }> {
  const res = await rt.app.request(`/api/funnel${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === "" ? null : JSON.parse(text) };
}

/** Fails unless `res` has status `expected` (quoting the start of its body), and an error's body is an error's. */
function assertStatus(res: { status: number; body: Json }, expected: number, what: string): void {
  if (res.status !== expected) {
    assert.fail(`${what}: expected ${expected}, got ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  }
  if (expected >= 400) ErrorBody.parse(res.body);
}

/**
 * Marks each part of `value` by path (array items as `[]`): filled when it is an array or object with items, or a
 * value other than null. A schema is only proven on the fields the answers fill somewhere.
 */
function markFilled(value: unknown, path: string, filled: Map<string, boolean>): void {
  const items = Array.isArray(value) ? value : value !== null && typeof value === "object" ? Object.values(value) : [];
  filled.set(path, (filled.get(path) ?? false) || (typeof value === "object" ? items.length > 0 : value !== null));
  if (Array.isArray(value)) { for (const v of value) markFilled(v, `${path}[]`, filled); }
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) markFilled(v, `${path}.${k}`, filled);
  }
}

/** Values of a query parameter the handler must answer 200 to, and values it must answer 400 to. */
function probes(schema: Json): { good: string[]; bad: string[] } {
  if (schema.enum) return { good: schema.enum, bad: ["nope"] };
  if (schema.type === "integer") {
    return {
      good: [schema.minimum, schema.maximum].map(String),
      bad: [schema.minimum - 1, schema.maximum + 1, 1.5, "x"],
    };
  }
  if (schema.pattern) return { good: ["country"], bad: ["not a name"] }; // a property name
  return { good: ["2026-02-01T08:30:00Z"], bad: ["yesterday"] }; // the time parameters
}

const PLUGINS = new URL("plugins/", REPO);

/** A custom funnel whose report fills every field: a filtered step, users who drop, a breakdown. */
const FUNNEL = {
  name: "desktop-buyers",
  steps: ["product_view", { type: "add_to_cart", where: { device: "desktop" } }, "purchase"],
  window_seconds: 3600,
};

testEachBackend("every funnel route answers what its OpenAPI description says", async (backend) => {
  assert.equal(typeof plugin.fetch, "object", "funnel hands over its Hono app");
  // Deleting goes last: the routes after it read the funnel it deletes.
  const routes = describedRoutes(plugin.fetch as RoutedApp)
    .sort((a, b) => Number(a.method === "DELETE") - Number(b.method === "DELETE"));
  await withRuntime(backend, { pluginsDir: await pluginsFolder([{ name: "funnel", from: PLUGINS }]) }, async (rt) => {
    const sim = new Simulator({ seed: 11, users: 60, start: new Date("2026-02-01T08:00:00Z") });
    const events = sim.take(2500);
    for (let i = 0; i < events.length; i += 1000) {
      const batch = events.slice(i, i + 1000);
      assert.deepEqual((await postJson(rt, "/v1/events", batch)).body, { accepted: batch.length, rejected: [] });
    }
    await waitForCatchUp(rt);
    // The user with the most sessions, and the one with the most events outside any explicit session.
    const [explicit, inferred] = await Promise.all(["is not null", "is null"].map(async (test) => {
      const [row] = await rt.store.query<{ user_id: string }>(
        `select user_id from funnel.events where session_id ${test} group by 1 order by count(*) desc, 1 limit 1`,
      );
      return row.user_id;
    }));
    const range = `from=${events[100].timestamp}&to=${events[2000].timestamp}`;
    const report = `breakdown=country&dropped_limit=1000`;
    const calls: Record<string, Call[]> = {
      "GET /summary": [{ path: "/summary" }, { path: `/summary?${range}` }],
      "GET /hot-leads": [{ path: "/hot-leads?limit=1000&hours=24" }],
      "GET /users/:user_id/sessions": [explicit, inferred].map((u) => ({ path: `/users/${u}/sessions?limit=200` })),
      "POST /definitions": [{ path: "/definitions", body: FUNNEL }],
      "GET /definitions": [{ path: "/definitions" }],
      "GET /definitions/:name": [{ path: `/definitions/${FUNNEL.name}` }],
      "DELETE /definitions/:name": [{ path: `/definitions/${FUNNEL.name}` }],
      "GET /definitions/:name/report": [
        { path: `/definitions/${FUNNEL.name}/report?${report}` },
        { path: `/definitions/${FUNNEL.name}/report?${report}&${range}` },
      ],
      "POST /report": [`/report?${report}`, `/report?${report}&${range}`].map((path) => ({ path, body: FUNNEL })),
    };
    const unknown: Record<string, Call> = {
      "GET /users/:user_id/sessions": { path: "/users/nobody/sessions" },
      "GET /definitions/:name": { path: "/definitions/nope" },
      "DELETE /definitions/:name": { path: "/definitions/nope" },
      "GET /definitions/:name/report": { path: "/definitions/nope/report" },
    };
    assert.deepEqual(routes.map((r) => `${r.method} ${r.path}`).sort(), Object.keys(calls).sort(), "every route");

    for (const { method, path, spec } of routes) {
      const route = `${method} ${path}`;
      assert.ok(spec, `${route} describes itself`);
      const answered = new Set<number>();
      const filled = new Map<string, boolean>();
      for (const c of calls[route]) {
        const res = await call(rt, method, c);
        assertStatus(res, spec.status ?? 200, `${route}: ${c.path}`);
        if (spec.status === 204) assert.equal(res.body, null, `${route} answers no body`);
        else {
          (spec.response as ZodType).parse(res.body);
          markFilled(res.body, "", filled);
        }
      }
      const empty = [...filled].filter(([, full]) => !full).map(([p]) => p);
      assert.deepEqual(empty, [], `${route}: every field is filled by some answer`);
      // Each documented query parameter takes the values its description names and refuses the others.
      const query = spec.query ? jsonSchema(spec.query, "input").properties as Record<string, Json> : {};
      for (const [name, schema] of Object.entries(query)) {
        const { good, bad } = probes(schema);
        for (const value of [...good, ...bad]) {
          const url = new URL(calls[route][0].path, "http://x");
          url.searchParams.set(name, value);
          const res = await call(rt, method, { ...calls[route][0], path: url.pathname + url.search });
          assertStatus(res, good.includes(value) ? 200 : 400, `${route}: ${name}=${value}`);
          answered.add(res.status);
        }
      }
      if (spec.body) {
        const res = await call(rt, method, { ...calls[route][0], body: { name: "x", steps: ["page_view"] } });
        assertStatus(res, 400, `${route} with a one-step funnel`);
        answered.add(res.status);
      }
      if (unknown[route]) {
        const res = await call(rt, method, unknown[route]);
        assertStatus(res, 404, `${route}: ${unknown[route].path}`);
        answered.add(res.status);
      }
      for (const status of spec.errors ?? []) assert.ok(answered.has(status), `${route} answers ${status}`);
    }
  });
});
