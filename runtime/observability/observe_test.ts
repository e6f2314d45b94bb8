import assert from "node:assert/strict";
import { MetricsRegistry } from "./metrics.ts";
import { timedStore } from "./observe.ts";
import { openPglite } from "../store/mod.ts";
import {
  pageView,
  pluginsFolder,
  postJson,
  scrape,
  testEachBackend,
  waitFor,
  waitForCatchUp,
  withRuntime,
} from "../../tests/support/harness.ts";

testEachBackend(
  "/metrics: rejections by reason, DB latency by store, HTTP by route, the process, progress, zeros from the start",
  async (backend) => {
    await withRuntime(backend, { pluginsDir: await pluginsFolder([{ name: "counter" }]) }, async (rt) => {
      const store = backend.name;
      const before = await scrape(rt.app);
      for (const reason of ["schema", "too_large", "too_deep", "encoding", "not_json", "empty"]) {
        assert.equal(before.get(`events_rejected_total{reason="${reason}"}`), 0, reason);
      }
      for (const name of ["plugin_batch_failures_total", "plugin_restarts_total", "plugin_events_processed_total"]) {
        assert.equal(before.get(`${name}{plugin="counter"}`), 0, name);
      }
      assert.equal(before.get('dead_letters_total{stage="plugin:counter"}'), 0);

      let deep: unknown = 1;
      for (let i = 0; i < 40; i++) deep = [deep];
      const posted = await postJson(rt, "/v1/events", [
        pageView("a"),
        pageView("b"),
        { event_id: "no-user", type: "login", timestamp: "2026-03-01T10:00:00Z" },
        pageView("big", { properties: { page: "x".repeat(40_000) } }),
        pageView("deep", { properties: { a: deep } }),
        pageView("nul\u0000"),
      ]);
      assert.equal(posted.body.accepted, 2);
      await waitForCatchUp(rt);
      assert.equal((await rt.app.request("/api/counter/counts")).status, 200);
      assert.equal((await rt.app.request("/nowhere")).status, 404);
      assert.equal((await rt.app.request("/api/counter/counts", { method: "BREW" })).status, 404);
      await waitFor(
        "a memory reading of the plugin",
        () => rt.metrics.value("plugin_memory_bytes", { plugin: "counter" }),
      );

      const m = await scrape(rt.app);
      assert.equal(m.get("events_received_total"), 6);
      for (const reason of ["schema", "too_large", "too_deep", "encoding"]) {
        assert.equal(m.get(`events_rejected_total{reason="${reason}"}`), 1, reason);
      }
      assert.equal(m.get('dead_letters_total{stage="ingest"}'), 4);
      // The append and the plugin's batch are transactions; statements inside them are timed too.
      assert.ok(m.get(`db_query_seconds_count{store="${store}",op="transaction"}`)! >= 2);
      assert.ok(m.get(`db_query_seconds_count{store="${store}",op="query"}`)! >= 4);
      assert.equal(
        m.get(`db_query_seconds_bucket{store="${store}",op="transaction",le="+Inf"}`),
        m.get(
          `db_query_seconds_count{store="${store}",op="transaction"}`,
        ),
      );
      assert.equal(m.get('http_requests_total{method="POST",route="/v1/events",status="200"}'), 1);
      assert.equal(m.get('http_requests_total{method="GET",route="/api/:plugin/*",status="200"}'), 1);
      assert.equal(m.get('http_requests_total{method="GET",route="unmatched",status="404"}'), 1);
      assert.equal(m.get('http_requests_total{method="OTHER",route="/api/:plugin/*",status="404"}'), 1);
      assert.equal(m.get('http_request_seconds_count{route="/v1/events"}'), 1);
      // Progress: the log's head and watermark, the plugin's checkpoint, its batch latency and its sandbox.
      assert.equal(m.get("log_head_position"), 2);
      assert.equal(m.get("log_watermark_seconds"), Date.parse("2026-03-01T10:00:00Z") / 1000);
      assert.equal(m.get('plugin_checkpoint_position{plugin="counter"}'), 2);
      assert.equal(m.get('plugin_events_processed_total{plugin="counter"}'), 2);
      assert.ok(m.get('plugin_batch_seconds_count{plugin="counter"}')! >= 1);
      assert.ok(m.get('plugin_memory_bytes{plugin="counter"}')! > 10 * 1024 ** 2);
      // The process.
      assert.ok(m.get("process_resident_memory_bytes")! > 10 * 1024 ** 2);
      assert.ok(m.get("process_heap_used_bytes")! > 0);
      assert.ok(m.get("process_cpu_seconds_total")! > 0);
      const started = m.get("process_start_time_seconds")!;
      assert.ok(started <= Date.now() / 1000 && started > Date.now() / 1000 - 3600, `started ${started}`);
      const { deno, v8, typescript } = Deno.version;
      assert.equal(
        m.get(`runtime_info{deno="${deno}",v8="${v8}",typescript="${typescript}",store="${store}",source="http"}`),
        1,
      );
    });
  },
);

Deno.test("timedStore() times statements and transactions by store, and counts the failed ones", async () => {
  const metrics = new MetricsRegistry();
  const store = timedStore(await openPglite("memory://"), metrics);
  try {
    await store.query("select 1");
    await assert.rejects(store.query("select * from nowhere"));
    await store.transaction((tx) => tx.query("select 2"));
    await assert.rejects(store.transaction(() => Promise.reject(new Error("no"))));
    const m = await scrape({ request: () => new Response(metrics.render()) });
    assert.equal(m.get('db_query_seconds_count{store="pglite",op="query"}'), 3);
    assert.equal(m.get('db_query_seconds_count{store="pglite",op="transaction"}'), 2);
    assert.equal(m.get('db_errors_total{store="pglite",op="query"}'), 1);
    assert.equal(m.get('db_errors_total{store="pglite",op="transaction"}'), 1);
    assert.equal(store.kind, "pglite");
  } finally {
    await store.close();
  }
});
