import assert from "node:assert/strict";
import { MAX_BATCH, MAX_BODY_BYTES } from "../core/ingest.ts";
import {
  BACKENDS,
  getJson,
  type Json,
  pageView,
  pluginsFolder,
  postJson,
  waitForCatchUp,
  withRuntime,
} from "../../tests/support/harness.ts";

for (const backend of BACKENDS) {
  const test = (name: string, fn: (rt: Parameters<Parameters<typeof withRuntime>[2]>[0]) => Promise<void>) =>
    Deno.test({
      name: `[${backend.name}] ${name}`,
      ignore: !backend.enabled,
      sanitizeOps: false,
      sanitizeResources: false,
      async fn() {
        await withRuntime(backend, { pluginsDir: await pluginsFolder([{ name: "counter" }]) }, fn);
      },
    });

  test("POST /v1/events answers 400 for a body that is not JSON, and stores nothing", async (rt) => {
    const res = await postJson(rt, "/v1/events", "{not json");
    assert.equal(res.status, 400);
    assert.match(res.body.error, /^body is not valid JSON/);
    assert.equal(rt.eventLog.head, 0);
  });

  test("POST /v1/events answers 413 above 1 MiB and above 1000 events", async (rt) => {
    const big = JSON.stringify({ events: [pageView("x", { properties: { page: "a".repeat(MAX_BODY_BYTES) } })] });
    const tooBig = await postJson(rt, "/v1/events", big);
    assert.equal(tooBig.status, 413);
    assert.match(tooBig.body.error, /1048576 byte limit/);
    const many = Array.from({ length: MAX_BATCH + 1 }, (_, i) => pageView(`m${i}`));
    const tooMany = await postJson(rt, "/v1/events", many);
    assert.equal(tooMany.status, 413);
    assert.equal(tooMany.body.error, "a request holds at most 1000 events, got 1001");
    const exactly = await postJson(rt, "/v1/events", many.slice(0, MAX_BATCH));
    assert.deepEqual(exactly.body, { accepted: 1000, rejected: [] });
    assert.equal(rt.eventLog.head, 1000);
  });

  test("POST /v1/events takes one event, an array, or { events }, and answers rejections by index", async (rt) => {
    assert.deepEqual((await postJson(rt, "/v1/events", pageView("a"))).body, { accepted: 1, rejected: [] });
    assert.deepEqual((await postJson(rt, "/v1/events", [pageView("b"), pageView("c")])).body, {
      accepted: 2,
      rejected: [],
    });
    const mixed = await postJson(rt, "/v1/events", {
      events: [
        pageView("d"),
        { type: "page_view", user_id: "u1", timestamp: "2026-03-01T10:00:00Z" },
        pageView("e", { timestamp: "2026-03-01 10:00" }),
        pageView("f", { type: "purchase" }),
        pageView("g", { properties: { quantity: 0 } }),
        pageView("h", { properties: { amount: -1 } }),
        pageView("i", { properties: { country: "Germany" } }),
        pageView("j", { extra: 1 }),
        pageView("k", { properties: { page: "x".repeat(33 * 1024) } }),
        "not an event",
        pageView("l", { type: "Bad-Type" }),
        pageView("m", { timestamp: "2026-03-01T10:00:00" }),
        pageView("n", { properties: [] }),
      ],
    });
    assert.equal(mixed.status, 200);
    assert.equal(mixed.body.accepted, 1);
    assert.deepEqual(mixed.body.rejected, [
      { index: 1, error: "event_id: is required" },
      { index: 2, error: "timestamp: must be ISO-8601 with a UTC offset, like 2026-01-31T12:00:00Z" },
      { index: 3, error: "properties.amount: a purchase needs an amount (or items with price and quantity)" },
      { index: 4, error: "properties.quantity: must be ≥ 1" },
      { index: 5, error: "properties.amount: must be ≥ 0" },
      { index: 6, error: "properties.country: must be an ISO 3166 alpha-2 code like 'DE'" },
      { index: 7, error: "extra: unknown field (custom data goes in properties)" },
      {
        index: 8,
        error: `event is ${
          JSON.stringify(pageView("k", { properties: { page: "x".repeat(33 * 1024) } })).length
        } bytes serialized, over the 32768 byte limit`,
      },
      { index: 9, error: "event must be a JSON object" },
      { index: 10, error: "type: must match [a-z][a-z0-9_.]{0,63}" },
      { index: 11, error: "timestamp: must be ISO-8601 with a UTC offset, like 2026-01-31T12:00:00Z" },
      { index: 12, error: "properties: must be an object" },
    ]);
  });

  test("every rejected item is kept in the dead letters with its reason and payload", async (rt) => {
    await postJson(rt, "/v1/events", [
      pageView("ok"),
      { event_id: "bad", type: "page_view" },
      42,
      pageView("nul\u0000"),
    ]);
    const { status, body } = await getJson(rt, "/api/dead-letters?limit=10");
    assert.equal(status, 200);
    assert.equal(body.total, 3);
    const items = body.items.map((
      i: { stage: string; reason: string; payload: unknown },
    ) => [i.stage, i.reason, i.payload]);
    assert.deepEqual(items, [
      ["ingest", "strings must be well-formed Unicode without NUL characters", pageView("nul\uFFFD")],
      ["ingest", "event must be a JSON object", 42],
      ["ingest", "user_id: is required", { event_id: "bad", type: "page_view" }],
    ]);
    assert.equal((await getJson(rt, "/api/dead-letters?limit=0")).status, 400);
  });

  test("a hostile item (200,000 levels deep) is rejected and dead-lettered without harming its batch", async (rt) => {
    const deep = "[".repeat(200_000) + "1" + "]".repeat(200_000);
    const res = await postJson(rt, "/v1/events", `[${JSON.stringify(pageView("fine"))}, ${deep}]`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { accepted: 1, rejected: [{ index: 1, error: "event nests deeper than 32 levels" }] });
    const letters = (await getJson(rt, "/api/dead-letters")).body;
    assert.equal(letters.total, 1);
    const kept = "[".repeat(32) + JSON.stringify("[nested deeper than 32 levels]") + "]".repeat(32);
    assert.equal(JSON.stringify(letters.items[0].payload), kept);
  });

  test("duplicates count once, in one batch or days apart, and are still acknowledged", async (rt) => {
    const first = await postJson(rt, "/v1/events", [pageView("dup"), pageView("dup"), pageView("other")]);
    assert.deepEqual(first.body, { accepted: 3, rejected: [] });
    const later = await postJson(rt, "/v1/events", pageView("dup", { timestamp: "2026-03-05T10:00:00Z" }));
    assert.deepEqual(later.body, { accepted: 1, rejected: [] });
    assert.equal(rt.eventLog.head, 2);
    await waitForCatchUp(rt);
    assert.deepEqual((await getJson(rt, "/api/counter/counts")).body.counts, { page_view: 2 });
    assert.equal(rt.metrics.value("events_duplicate_total"), 2);
  });

  test("host routes: healthz, readyz, metrics, plugins, unknown routes", async (rt) => {
    assert.deepEqual((await getJson(rt, "/healthz")).body, { status: "ok" });
    assert.deepEqual((await getJson(rt, "/readyz")).body, { status: "ready" });
    await postJson(rt, "/v1/events", [pageView("a"), pageView("b")]);
    await waitForCatchUp(rt);
    const listed = (await getJson(rt, "/api/plugins")).body;
    assert.deepEqual(
      listed.plugins.map((p: Json) => [p.name, p.version, p.status, p.processed, p.failed, p.lag, p.checkpoint]),
      [
        ["counter", "1.0.0", "running", 2, 0, 0, 2],
      ],
    );
    assert.deepEqual(listed.log, { head: 2, watermark: "2026-03-01T10:00:00.000Z" });
    const metrics = await (await rt.app.request("/metrics")).text();
    assert.match(metrics, /^events_accepted_total 2$/m);
    assert.match(metrics, /^plugin_events_processed_total\{plugin="counter"\} 2$/m);
    assert.match(metrics, /^plugin_lag_events\{plugin="counter"\} 0$/m);
    assert.match(metrics, /^plugin_batch_seconds_count\{plugin="counter"\} [1-9]/m);
    assert.match(metrics, /^plugin_custom_total\{plugin="counter",metric="batches"\} [1-9]/m);
    assert.equal((await getJson(rt, "/api/nope/x")).status, 404);
    assert.equal((await getJson(rt, "/api/dead-letters?stage=%00")).status, 400);
    assert.equal((await getJson(rt, "/api/counter/counts%00")).status, 400);
    assert.equal((await getJson(rt, "/api/counter/%E0%A4%A")).status, 400);
    assert.equal((await getJson(rt, `/api/dead-letters?stage=${"x".repeat(81)}`)).status, 400);
    const huge = await rt.app.request("/api/counter/counts", { method: "POST", body: "x".repeat(MAX_BODY_BYTES + 1) });
    assert.equal(huge.status, 413);
    assert.equal((await rt.app.request("/api/counter/missing")).status, 404); // the plugin's own 404
    assert.equal((await getJson(rt, "/nowhere")).status, 404);
  });
}

Deno.test({
  name: "INGEST_KEYS and API_TOKENS are required on /v1 and /api when set",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "attacker" }]);
    await withRuntime(BACKENDS[0], { pluginsDir, ingestKeys: ["w1"], apiTokens: ["r1"] }, async (rt) => {
      const post = (auth?: string) =>
        rt.app.request("/v1/events", {
          method: "POST",
          body: JSON.stringify(pageView("k1")),
          headers: auth ? { authorization: `Bearer ${auth}` } : {},
        });
      assert.equal((await post()).status, 401);
      assert.equal((await post("nope")).status, 401);
      assert.equal((await post("r1")).status, 403); // a read token cannot write
      assert.equal((await post("w1")).status, 200);
      const read = (path: string, token?: string) =>
        rt.app.request(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      assert.equal((await read("/api/plugins")).status, 401);
      assert.equal((await read("/api/plugins", "w1")).status, 403); // an ingest key cannot read
      assert.equal((await read("/api/plugins", "r1")).status, 200);
      // The live stream takes its token in the query (EventSource sends no headers); nothing else does.
      const stream = await read("/api/stream?access_token=r1");
      assert.equal(stream.status, 200);
      await stream.body!.cancel();
      assert.equal((await read("/api/plugins?access_token=r1")).status, 401);
      assert.equal((await read("/api/stream?access_token=w1")).status, 403);
      assert.equal((await rt.app.request("/healthz")).status, 200);
      // Plugins never see the caller's credentials.
      const seen = await rt.app.request("/api/attacker/headers", {
        headers: { authorization: "Bearer r1", cookie: "session=s", "x-trace": "t" },
      });
      assert.deepEqual(await seen.json(), { "x-trace": "t" });
    });
  },
});

Deno.test({
  name: "RATE_LIMIT answers 429 with Retry-After per key, and CORS_ORIGINS lets only the listed origins in",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([]);
    const opts = { pluginsDir, ingestKeys: ["w1", "w2"], rateLimit: 2, corsOrigins: ["https://shop.example"] };
    await withRuntime(BACKENDS[0], opts, async (rt) => {
      const post = (key: string) =>
        rt.app.request("/v1/events", {
          method: "POST",
          body: JSON.stringify(pageView(crypto.randomUUID())),
          headers: { authorization: `Bearer ${key}` },
        });
      const statuses = [(await post("w1")).status, (await post("w1")).status];
      const limited = await post("w1");
      assert.deepEqual([...statuses, limited.status], [200, 200, 429]);
      assert.equal(limited.headers.get("retry-after"), "1");
      assert.match((await limited.json()).error, /rate limit: 2 requests per second per key; retry in 1 s/);
      assert.equal((await post("w2")).status, 200); // another key is not held back

      const preflight = await rt.app.request("/v1/events", {
        method: "OPTIONS",
        headers: { origin: "https://shop.example", "access-control-request-method": "POST" },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("access-control-allow-origin"), "https://shop.example");
      assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /authorization/);
      const foreign = await rt.app.request("/v1/events", {
        method: "OPTIONS",
        headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
      });
      assert.equal(foreign.headers.get("access-control-allow-origin"), null);
    });
  },
});
