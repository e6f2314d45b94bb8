import assert from "node:assert/strict";
import type { Money } from "../core/money.ts";
import type { Runtime } from "../runtime.ts";
import { BACKENDS, type Json, pluginsFolder, withRuntime } from "../../tests/support/harness.ts";

const options = { sanitizeOps: false, sanitizeResources: false };

/** A runtime with the counter fixture and the given keys and origins. */
const withKeys = async (
  opts: { ingestKeys?: string[]; apiTokens?: string[]; corsOrigins?: string[]; money?: Money },
  fn: (rt: Runtime) => Promise<void>,
) => withRuntime(BACKENDS[0], { pluginsDir: await pluginsFolder([{ name: "counter" }]), ...opts }, fn);

/** The events in the log, oldest first: type, user and event_id. */
async function logged(rt: Runtime): Promise<string[]> {
  const rows = await rt.store.query<{ type: string; user_id: string; event_id: string }>(
    "select type, user_id, event_id from host.events order by position",
  );
  return rows.map((r) => `${r.type} ${r.user_id} ${r.event_id}`);
}

/** A POST as analytics.js sends it: JSON as text/plain, the write key in the body. */
async function post(rt: Runtime, path: string, body: Json, headers: Record<string, string> = {}) {
  const res = await rt.app.request(path, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "text/plain", ...headers },
  });
  return [res.status, await res.json()];
}

const track = (id: string, extra: Json = {}) => ({
  type: "track",
  event: "Order Completed",
  messageId: id,
  anonymousId: "anon-1",
  timestamp: "2026-03-01T10:00:00Z",
  properties: { total: 42.5, currency: "EUR" },
  ...extra,
});

Deno.test({
  name: "analytics.js' short paths (/v1/t, /v1/p, …, /v1/b) ingest their call, sent as text/plain JSON",
  ...options,
  async fn() {
    await withKeys({}, async (rt) => {
      const ok = { success: true, accepted: 1, rejected: [] };
      assert.deepEqual(await post(rt, "/v1/t", track("m1")), [200, ok]);
      assert.deepEqual(await post(rt, "/v1/p", { ...track("m2"), type: "page", event: undefined }), [200, ok]);
      assert.deepEqual(await post(rt, "/v1/i", { messageId: "m3", userId: "u1", traits: { plan: "pro" } }), [200, ok]);
      assert.deepEqual(await post(rt, "/v1/s", { messageId: "m4", userId: "u1", name: "Home" }), [200, ok]);
      assert.deepEqual(await post(rt, "/v1/g", { messageId: "m5", userId: "u1", groupId: "g1" }), [200, ok]);
      assert.deepEqual(await post(rt, "/v1/a", { messageId: "m6", userId: "u1", previousId: "anon-1" }), [200, ok]);
      const batch = { writeKey: "any", batch: [track("m7"), track("m8")], sentAt: "2026-03-01T10:00:01Z" };
      assert.deepEqual(await post(rt, "/v1/b", batch), [200, { success: true, accepted: 2, rejected: [] }]);
      assert.deepEqual(await logged(rt), [
        "purchase anon-1 m1",
        "page_view anon-1 m2",
        "identify u1 m3",
        "screen_view u1 m4",
        "group u1 m5",
        "alias u1 m6",
        "$merge u1 $merge@7", // the alias linked anon-1 to u1: its later calls are u1's
        "purchase u1 m7",
        "purchase u1 m8",
      ]);
      // Its client metrics are accepted and dropped: nothing is stored.
      assert.deepEqual(await post(rt, "/v1/m", { series: [{ type: "Counter", metric: "analytics_js.invoke" }] }), [
        200,
        { success: true },
      ]);
      assert.equal(rt.eventLog.head, 9);
    });
  },
});

Deno.test({
  name: "with INGEST_KEYS, Segment's routes take the write key from the body or the settings path, and refuse the rest",
  ...options,
  async fn() {
    await withKeys({ ingestKeys: ["wk-1"], apiTokens: ["read-1"] }, async (rt) => {
      for (const path of ["/v1/t", "/v1/b", "/v1/track", "/v1/batch"]) {
        const body = path.endsWith("b") || path.endsWith("batch")
          ? { batch: [track(`${path}-x`)] }
          : track(`${path}-x`);
        assert.deepEqual(await post(rt, path, body), [
          401,
          {
            error:
              "/v1 requires 'Authorization: Bearer <token>' (or Segment's 'Basic', the key as user name, or its writeKey)",
          },
        ], path);
        assert.deepEqual(
          await post(rt, path, { ...body, writeKey: "nope" }),
          [401, { error: "/v1: unknown token" }],
          path,
        );
        assert.deepEqual(
          await post(rt, path, { ...body, writeKey: "read-1" }),
          [403, { error: "/v1 needs an ingest key, not the other kind" }],
          path,
        );
        const [status] = await post(rt, path, { ...body, writeKey: "wk-1" });
        assert.equal(status, 200, path);
      }
      // Our own route takes its key in the headers only.
      assert.equal((await post(rt, "/v1/events", { writeKey: "wk-1" }))[0], 401);
      // A header credential still works, and wins over the body's.
      const basic = { authorization: `Basic ${btoa("wk-1:")}` };
      assert.equal((await post(rt, "/v1/t", { ...track("h1"), writeKey: "nope" }, basic))[0], 200);
      assert.equal(rt.eventLog.head, 5);

      const settings = await rt.app.request("http://shop.test:8000/v1/projects/wk-1/settings");
      assert.equal(settings.status, 200);
      const doc = await settings.json();
      assert.deepEqual(doc.integrations, {
        "Segment.io": {
          apiKey: "wk-1",
          apiHost: "shop.test:8000/v1",
          protocol: "http",
          unbundledIntegrations: [],
          addBundledMetadata: true,
          maybeBundledConfigIds: {},
        },
      });
      assert.deepEqual([doc.metrics, doc.remotePlugins], [{ sampleRate: 0 }, []]);
      const proxied = await rt.app.request("http://shop.test/v1/projects/wk-1/settings", {
        headers: { "x-forwarded-proto": "https" },
      });
      assert.equal((await proxied.json()).integrations["Segment.io"].protocol, "https");
      assert.equal((await rt.app.request("/v1/projects/nope/settings")).status, 401);
      assert.equal((await rt.app.request("/v1/projects/read-1/settings")).status, 403);
    });
  },
});

Deno.test({
  name: "a browser on an allowed origin gets its preflight answered for analytics.js' headers, and the answer",
  ...options,
  async fn() {
    await withKeys({ ingestKeys: ["wk-1"], corsOrigins: ["http://shop.test"] }, async (rt) => {
      const preflight = await rt.app.request("/v1/t", {
        method: "OPTIONS",
        headers: {
          origin: "http://shop.test",
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,x-retry-count",
        },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("access-control-allow-origin"), "http://shop.test");
      assert.match(preflight.headers.get("access-control-allow-headers")!, /authorization.*x-retry-count/);
      const [status] = await post(rt, "/v1/t", { ...track("c1"), writeKey: "wk-1" }, { origin: "http://shop.test" });
      assert.equal(status, 200);
      const settings = await rt.app.request("/v1/projects/wk-1/settings", { headers: { origin: "http://shop.test" } });
      assert.equal(settings.headers.get("access-control-allow-origin"), "http://shop.test");
      const other = await rt.app.request("/v1/projects/wk-1/settings", { headers: { origin: "http://evil.test" } });
      assert.equal(other.headers.get("access-control-allow-origin"), null);
    });
  },
});

Deno.test({
  name: "POST /v1/events takes the pipelines' flat events as they are, and dead-letters a bad one as it was sent",
  ...options,
  async fn() {
    await withKeys({}, async (rt) => {
      const flat = [
        {
          event_id: "f1",
          event_type: "product_view",
          user_id: 7,
          event_timestamp: "2026-03-01 10:00:00",
          product_id: "p1",
          product_price: 10,
          device_type: "desktop",
          country: "Germany",
        },
        { event_id: "f2", event_type: "purchase", user_id: 7, event_timestamp: "2026-03-01 10:05:00", total: 20 },
        { event_id: "f3", event_type: "purchase", user_id: 7, event_timestamp: "soon", total: 20 },
      ];
      const res = await rt.app.request("/v1/events", { method: "POST", body: JSON.stringify(flat) });
      assert.deepEqual(await res.json(), {
        accepted: 2,
        rejected: [{ index: 2, error: "timestamp: must be ISO-8601 with a UTC offset, like 2026-01-31T12:00:00Z" }],
      });
      const bodies = await rt.store.query<{ body: Json }>("select body from host.events order by position");
      assert.deepEqual(bodies.map((r) => r.body), [
        {
          event_id: "f1",
          type: "product_view",
          user_id: "7",
          timestamp: "2026-03-01T10:00:00.000Z",
          properties: { product_id: "p1", price: 10, device: "desktop", country: "DE", currency: "EUR" },
        },
        {
          event_id: "f2",
          type: "purchase",
          user_id: "7",
          timestamp: "2026-03-01T10:05:00.000Z",
          properties: { amount: 20, currency: "EUR" },
        },
      ]);
      const [letter] = await rt.store.query<{ payload: Json }>("select payload from host.dead_letters");
      assert.deepEqual(letter.payload, flat[2]);
    });
  },
});

Deno.test({
  name: "amounts are stored in the base currency with what was sent kept; a currency without a rate is dead-lettered",
  ...options,
  async fn() {
    await withKeys({ money: { base: "EUR", rates: { USD: 0.9 } } }, async (rt) => {
      const at = "2026-03-01T10:00:00Z";
      const items = [
        { event_id: "usd", type: "purchase", user_id: "u", timestamp: at, properties: { amount: 40, currency: "USD" } },
        { event_id: "eur", type: "purchase", user_id: "u", timestamp: at, properties: { amount: 40, currency: "EUR" } },
        { event_id: "gbp", type: "purchase", user_id: "u", timestamp: at, properties: { amount: 40, currency: "GBP" } },
      ];
      const res = await rt.app.request("/v1/events", { method: "POST", body: JSON.stringify(items) });
      const reason = "properties.currency: no rate for GBP into EUR (CURRENCY_RATES has USD)";
      assert.deepEqual(await res.json(), { accepted: 2, rejected: [{ index: 2, error: reason }] });
      const stored = await rt.store.query<{ p: Json }>(
        "select body->'properties' as p from host.events order by position",
      );
      assert.deepEqual(stored.map((r) => r.p), [
        { amount: 36, currency: "EUR", original_currency: "USD", original_amount: 40, fx_rate: 0.9 },
        { amount: 40, currency: "EUR" },
      ]);
      const [letter] = await rt.store.query<{ reason: string; payload: Json }>(
        "select reason, payload from host.dead_letters",
      );
      assert.deepEqual(letter, { reason, payload: items[2] });
    });
  },
});
