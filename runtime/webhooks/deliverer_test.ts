import assert from "node:assert/strict";
import { waitFor } from "../../tests/support/harness.ts";
import { storeNotices } from "../notices/mod.ts";
import { createLogger } from "../observability/logger.ts";
import { MetricsRegistry } from "../observability/metrics.ts";
import { migrateHost, openPglite, type Store } from "../store/mod.ts";
import { type WebhookPolicy } from "./backoff.ts";
import { WebhookDeliverer } from "./deliverer.ts";

const SECRET = "a-secret-of-twenty-four-chars-or-more";
// Receivers and the embedded database outlive single ops by design; each test stops what it started.
const options = { sanitizeOps: false, sanitizeResources: false };

/** An embedded database with the host's tables, `webhooks` (name → url) subscribed to `demo`'s `ping`, and one notice. */
async function database(webhooks: Record<string, string>): Promise<Store> {
  const store = await openPglite("memory://");
  await migrateHost(store);
  for (const [name, url] of Object.entries(webhooks)) {
    await store.query(
      "insert into host.webhooks (name, url, secret, plugin, channel) values ($1, $2, $3, 'demo', 'ping')",
      [name, url, SECRET],
    );
  }
  await store.transaction((tx) => storeNotices(tx, "demo", [{ channel: "ping", payload: { n: 1 } }]));
  return store;
}

function deliverer(store: Store, policy: Partial<WebhookPolicy>): WebhookDeliverer {
  // The receivers are local: allowed by name, as WEBHOOK_ALLOW_HOSTS would.
  const allowed = { allowHosts: ["127.0.0.1"], ...policy };
  return new WebhookDeliverer({
    store,
    logger: createLogger("error"),
    metrics: new MetricsRegistry(),
    policy: allowed,
  });
}

/** A receiver on a free local port answering with `answer`, counting its requests. */
function serve(answer: () => Response | Promise<Response>) {
  let hits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    hits++;
    await req.body?.cancel();
    return await answer();
  });
  return { url: `http://127.0.0.1:${server.addr.port}/`, hits: () => hits, close: () => server.shutdown() };
}

type Row = { webhook: string; status: string; attempts: number; last_status: number | null; last_error: string | null };

function log(store: Store): Promise<(Row & { wait_ms: number | null })[]> {
  return store.query(
    `select webhook, status, attempts, last_status, last_error,
       (extract(epoch from next_attempt_at - now()) * 1000)::float8 as wait_ms
     from host.webhook_deliveries order by webhook`,
  );
}

Deno.test({
  name: "WebhookDeliverer: a redirect is not followed and a receiver too slow to answer times out; both are retried",
  ...options,
  async fn() {
    const target = serve(() => new Response("moved here"));
    const redirect = serve(() => new Response(null, { status: 307, headers: { location: target.url } }));
    let release = () => {};
    const slow = serve(() => new Promise((resolve) => release = () => resolve(new Response("late"))));
    const store = await database({ moved: redirect.url, slow: slow.url });
    const d = deliverer(store, { retryBaseMs: 60_000, maxAttempts: 5, timeoutMs: 300 });
    try {
      d.start();
      await waitFor("both attempts recorded", async () => (await log(store)).every((r) => r.status === "retrying"));
      const rows = await log(store);
      assert.deepEqual(rows.map((r) => [r.webhook, r.attempts, r.last_status, r.last_error]), [
        ["moved", 1, 307, "HTTP 307: redirects are not followed; point the webhook at the URL that answers"],
        ["slow", 1, null, "no answer within 300 ms"],
      ]);
      assert.ok(rows.every((r) => r.wait_ms! > 25_000), "the next attempt is half the base or more away");
      assert.equal(target.hits(), 0);
    } finally {
      release();
      await d.stop();
      await store.close();
      await Promise.all([target.close(), redirect.close(), slow.close()]);
    }
  },
});

Deno.test({
  name: "WebhookDeliverer: a receiver's Retry-After puts the next attempt at least that far off",
  ...options,
  async fn() {
    const busy = serve(() => new Response("slow down", { status: 429, headers: { "retry-after": "120" } }));
    const store = await database({ busy: busy.url });
    const d = deliverer(store, { retryBaseMs: 20, maxAttempts: 5 });
    try {
      d.start();
      await waitFor("the attempt recorded", async () => (await log(store))[0].status === "retrying");
      const [row] = await log(store);
      assert.deepEqual([row.status, row.last_status, row.last_error], ["retrying", 429, "HTTP 429"]);
      assert.ok(row.wait_ms! > 110_000 && row.wait_ms! <= 120_000, `${row.wait_ms}`);
      assert.equal(busy.hits(), 1);
    } finally {
      await d.stop();
      await store.close();
      await busy.close();
    }
  },
});

Deno.test({
  name: "WebhookDeliverer.stop() cuts an attempt short and gives the delivery back, due at once and not counted",
  ...options,
  async fn() {
    let release = () => {};
    const hanging = serve(() => new Promise((resolve) => release = () => resolve(new Response("late"))));
    const store = await database({ hanging: hanging.url });
    const d = deliverer(store, { timeoutMs: 10_000 });
    try {
      d.start();
      await waitFor("the attempt under way", () => hanging.hits() === 1);
      const started = performance.now();
      await d.stop();
      assert.ok(performance.now() - started < 2000, "stopping does not wait for the receiver");
      const [row] = await log(store);
      assert.deepEqual([row.status, row.attempts, row.last_error], ["pending", 0, null]);
      assert.ok(row.wait_ms! <= 0, "due again at once");
    } finally {
      release();
      await store.close();
      await hanging.close();
    }
  },
});

Deno.test({
  name: "WebhookDeliverer: two deliverers on one database make each delivery once",
  ...options,
  async fn() {
    const hook = serve(() => new Response(null, { status: 204 }));
    const store = await database({ one: hook.url, two: hook.url });
    await store.transaction((tx) =>
      storeNotices(tx, "demo", Array.from({ length: 30 }, (_, n) => ({ channel: "ping", payload: { n } })))
    );
    const both = [deliverer(store, {}), deliverer(store, {})];
    try {
      for (const d of both) d.start();
      await waitFor("every delivery made", async () => (await log(store)).every((r) => r.status === "delivered"));
      assert.equal((await log(store)).length, 62);
      assert.equal(hook.hits(), 62);
    } finally {
      for (const d of both) await d.stop();
      await store.close();
      await hook.close();
    }
  },
});

Deno.test({
  name: "WebhookDeliverer refuses a receiver that is not at a public address unless it is allowed by name",
  ...options,
  async fn() {
    const inside = serve(() => new Response("AccessKeyId=AKIAINTERNAL", { status: 403 }));
    const store = await database({ inside: inside.url });
    const d = new WebhookDeliverer({
      store,
      logger: createLogger("error"),
      metrics: new MetricsRegistry(),
      policy: { retryBaseMs: 60_000, maxAttempts: 5 }, // no WEBHOOK_ALLOW_HOSTS
    });
    try {
      d.start();
      await waitFor("the attempt recorded", async () => (await log(store))[0].status === "retrying");
      const [row] = await log(store);
      assert.deepEqual([row.last_status, row.last_error], [
        null,
        "refused: 127.0.0.1 is not a public address (allow it in WEBHOOK_ALLOW_HOSTS)",
      ]);
      assert.equal(inside.hits(), 0, "nothing was sent");
    } finally {
      await d.stop();
      await store.close();
      await inside.close();
    }
  },
});

Deno.test({
  name: "WebhookDeliverer: a receiver that never answers does not hold up another webhook's deliveries",
  ...options,
  async fn() {
    const waiting: (() => void)[] = [];
    // Answers only once the test is over.
    const stuck = serve(() => new Promise<Response>((resolve) => waiting.push(() => resolve(new Response("late")))));
    const good = serve(() => new Response(null, { status: 204 }));
    const store = await database({});
    for (const [name, url, channel] of [["stuck", stuck.url, "flood"], ["good", good.url, "ping"]]) {
      await store.query(
        "insert into host.webhooks (name, url, secret, plugin, channel) values ($1, $2, $3, 'demo', $4)",
        [name, url, SECRET, channel],
      );
    }
    // Forty notices for the stuck receiver, older than the good one's: oldest first, they would take every slot.
    const flood = Array.from({ length: 40 }, (_, n) => ({ channel: "flood", payload: { n } }));
    await store.transaction((tx) => storeNotices(tx, "demo", flood));
    await store.transaction((tx) => storeNotices(tx, "demo", [{ channel: "ping", payload: { n: 41 } }]));
    const d = deliverer(store, { retryBaseMs: 60_000, maxAttempts: 5, timeoutMs: 5_000 });
    try {
      d.start();
      await waitFor("the good receiver's delivery", () => good.hits() === 1, 2_000); // well before any timeout
      assert.equal(stuck.hits(), 4, "the stuck receiver has its four slots, no more");
    } finally {
      await d.stop();
      for (const release of waiting) release();
      await store.close();
      await Promise.all([stuck.close(), good.close()]);
    }
  },
});
