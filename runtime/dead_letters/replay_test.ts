import assert from "node:assert/strict";
import { testEachBackend } from "../../tests/support/harness.ts";
import type { Transform } from "../core/transform.ts";
import { MetricsRegistry } from "../observability/metrics.ts";
import type { PluginHost } from "../plugin/mod.ts";
import { migrateHost } from "../store/mod.ts";
import { letterItems, replay, type ReplayParts } from "./replay.ts";

Deno.test("letterItems() finds the item of an HTTP letter and the events of a Kafka message's letter", () => {
  const kafka = { topic: "t", partition: 0, offset: 7 };
  assert.deepEqual(letterItems({ reason: "user_id: is required", payload: { event_id: "a" } }), [{ event_id: "a" }]);
  assert.deepEqual(letterItems({ reason: "t/0@7: user_id: is required", payload: { kafka, item: { a: 1 } } }), [
    { a: 1 },
  ]);
  assert.deepEqual(letterItems({ reason: "t/0@7: message is not JSON: x", payload: { kafka, value: '[{"a":1},2]' } }), [
    { a: 1 },
    2,
  ]);
  assert.deepEqual(letterItems({ reason: "t/0@7: message is not JSON: x", payload: { kafka, value: "{x" } }), ["{x"]);
  assert.equal(letterItems({ reason: "t/0@7: empty message", payload: { kafka, value: null } }), null);
  // Without a Kafka reason, an item that happens to look like one is taken as it is.
  assert.deepEqual(letterItems({ reason: "unknown field", payload: { kafka: 1, item: 2 } }), [{ kafka: 1, item: 2 }]);
});

testEachBackend(
  "replay() counts a transform that cannot run as a failed retry, and still records the other letters' failures",
  async (backend) => {
    const store = await backend.open();
    try {
      await migrateHost(store);
      const [ingest, transform] = await store.query<{ id: number }>(
        `insert into host.dead_letters (stage, reason, payload) values
           ('ingest', 'user_id: is required', '{"event_id": "e1", "type": "page_view"}'),
           ('transform:shop', 'refused', '{"item": {"order": 1}}')
         returning id`,
      );
      // The plugin's transform is there, but its sandbox is restarting: running it throws.
      const restarting: Transform = {
        name: "shop",
        run: () => Promise.reject(new Error("plugin shop is starting: try again shortly")),
      };
      const parts = {
        store,
        plugins: { transform: () => restarting } as unknown as PluginHost,
        metrics: new MetricsRegistry(),
        money: { base: "EUR", rates: {} },
      } as unknown as ReplayParts;
      const result = await replay(parts, { ids: [ingest.id, transform.id], after: 0, limit: 100 }, {
        retries: 5,
        baseMs: 60_000,
      });
      assert.deepEqual(result.failed, [
        { id: ingest.id, error: "user_id: is required" },
        { id: transform.id, error: "plugin shop is starting: try again shortly" },
      ]);
      const rows = await store.query<{ id: number; state: string; retries: number }>(
        "select id, state, retries from host.dead_letters order by id",
      );
      assert.deepEqual(rows, [
        { id: ingest.id, state: "dead", retries: 1 }, // refused as an event: it always will be
        { id: transform.id, state: "retrying", retries: 1 },
      ]);
    } finally {
      await store.close();
    }
  },
);
