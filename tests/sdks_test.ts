/**
 * The official tracking SDKs from npm, unchanged, against the started runtime over real HTTP: Segment's Node SDK
 * (JSON, basic auth, the key also in the body) and RudderStack's (gzipped JSON labelled as a form, basic auth).
 * @module
 */
import assert from "node:assert/strict";
import { Analytics } from "@segment/analytics-node";
import RudderAnalytics from "@rudderstack/rudder-sdk-node";
import type { Runtime } from "../runtime/runtime.ts";
import { BACKENDS, pluginsFolder, REPO, waitForCatchUp, withRuntime } from "./support/harness.ts";

const options = { sanitizeOps: false, sanitizeResources: false };

/** The runtime served over HTTP on a free port while `fn` runs, with one ingest key (and the counter, or `plugins`). */
async function served(
  fn: (rt: Runtime, url: string) => Promise<void>,
  plugins: { name: string; from?: URL }[] = [{ name: "counter" }],
): Promise<void> {
  const pluginsDir = await pluginsFolder(plugins);
  const money = { base: "EUR", rates: { USD: 0.9 } };
  await withRuntime(BACKENDS[0], { pluginsDir, ingestKeys: ["wk-sdk"], apiTokens: ["read"], money }, async (rt) => {
    const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, rt.app.fetch);
    try {
      await fn(rt, `http://127.0.0.1:${server.addr.port}`);
    } finally {
      await server.shutdown();
    }
  });
}

/** The log as `type user amount currency` (what each has of them), oldest first. */
async function logged(rt: Runtime): Promise<string[]> {
  const rows = await rt.store.query<{ type: string; user_id: string; properties: Record<string, unknown> }>(
    "select type, user_id, body->'properties' as properties from host.events order by position",
  );
  return rows.map((r) => [r.type, r.user_id, r.properties.amount, r.properties.currency].filter((x) => x).join(" "));
}

Deno.test({
  name: "Segment's Node SDK (@segment/analytics-node) delivers every call, authenticated by its write key",
  ...options,
  async fn() {
    await served(async (rt, url) => {
      const analytics = new Analytics({ writeKey: "wk-sdk", host: url, flushInterval: 50 });
      const failures: unknown[] = [];
      analytics.on("error", (e) => failures.push(e));
      analytics.identify({ userId: "u1", traits: { plan: "pro" } });
      analytics.page({ userId: "u1", name: "Home", properties: { path: "/" } });
      analytics.track({ userId: "u1", event: "Product Viewed", properties: { product_id: "p1", price: 20 } });
      analytics.track({
        userId: "u1",
        event: "Order Completed",
        properties: { revenue: 40, currency: "eur", products: [{ product_id: "p1", price: 20, quantity: 2 }] },
      });
      await analytics.closeAndFlush({ timeout: 20_000 });
      assert.deepEqual(failures, []);
      assert.deepEqual(await logged(rt), ["identify u1", "page_view u1", "product_view u1 EUR", "purchase u1 40 EUR"]);
      await waitForCatchUp(rt);
      const counts = await rt.app.request("/api/counter/counts", { headers: { authorization: "Bearer read" } });
      assert.deepEqual((await counts.json()).counts, { identify: 1, page_view: 1, product_view: 1, purchase: 1 });
    });
  },
});

Deno.test({
  name: "RudderStack's Node SDK (@rudderstack/rudder-sdk-node) delivers gzipped batches, authenticated by its key",
  ...options,
  async fn() {
    await served(async (rt, url) => {
      const failures: unknown[] = [];
      const client = new RudderAnalytics("wk-sdk", {
        dataPlaneUrl: url,
        flushInterval: 50,
        errorHandler: (e: unknown) => failures.push(e),
      });
      const sent = (call: (done: (err?: unknown) => void) => void) =>
        new Promise<void>((resolve, reject) => call((err) => err ? reject(err) : resolve()));
      await sent((done) => client.identify({ userId: "u2", traits: { plan: "free" } }, done));
      const more = [
        sent((done) => client.page({ userId: "u2", name: "Home", properties: { path: "/" } }, done)),
        sent((done) =>
          client.track({ userId: "u2", event: "Product Added", properties: { product_id: "p9", price: 5 } }, done)
        ),
        sent((done) =>
          client.track({ userId: "u2", event: "Order Completed", properties: { total: 5, currency: "USD" } }, done)
        ),
      ];
      await client.flush();
      await Promise.all(more);
      assert.deepEqual(failures, []);
      assert.deepEqual((await logged(rt)).sort(), [
        "add_to_cart u2 EUR",
        "identify u2",
        "page_view u2",
        "purchase u2 4.5 EUR",
      ]);
      const letters = await rt.app.request("/api/dead-letters", { headers: { authorization: "Bearer read" } });
      assert.equal((await letters.json()).total, 0);
    });
  },
});

Deno.test({
  name: "Segment's Node SDK: a checkout handler's events in one millisecond make every funnel step, in arrival order",
  ...options,
  async fn() {
    await served(async (rt, url) => {
      // One batch: the SDK sends batches concurrently, and arrival is the order the runtime keeps.
      const analytics = new Analytics({ writeKey: "wk-sdk", host: url, flushAt: 100, flushInterval: 60_000 });
      // Each user views, then one handler adds to cart, starts checkout and completes the order in the same
      // millisecond; the SDK gives each a random messageId, so only arrival says which came first.
      const users = Array.from({ length: 12 }, (_, i) => `buyer-${i}`);
      for (const [i, userId] of users.entries()) {
        const at = new Date(Date.UTC(2026, 2, 1, 10, i));
        analytics.track({ userId, event: "Product Viewed", timestamp: at, properties: { product_id: "p1", price: 9 } });
        const same = new Date(at.getTime() + 60_000);
        analytics.track({
          userId,
          event: "Product Added",
          timestamp: same,
          properties: { product_id: "p1", price: 9 },
        });
        analytics.track({ userId, event: "Checkout Started", timestamp: same, properties: {} });
        analytics.track({ userId, event: "Order Completed", timestamp: same, properties: { revenue: 9 } });
      }
      await analytics.closeAndFlush({ timeout: 20_000 });
      await waitForCatchUp(rt);
      const res = await rt.app.request("/api/funnel/summary", { headers: { authorization: "Bearer read" } });
      const summary = await res.json();
      assert.deepEqual(
        summary.steps.map((s: { step: string; sessions: number }) => [s.step, s.sessions]),
        [["view", 12], ["add_to_cart", 12], ["checkout", 12], ["purchase", 12]],
      );
    }, [{ name: "funnel", from: new URL("plugins/", REPO) }]);
  },
});
