import assert from "node:assert/strict";
import { letterItems } from "./dead_letters.ts";
import type { Runtime } from "../runtime.ts";
import {
  getJson,
  type Json,
  pageView,
  pluginsFolder,
  postJson,
  testEachBackend,
  waitFor,
  waitForCatchUp,
  withRuntime,
} from "../../tests/support/harness.ts";

const late = { event_id: "late", type: "login", user_id: "u1", timestamp: "2026-03-01 10:05" };

const replay = (rt: Runtime, body: unknown) => postJson(rt, "/api/dead-letters/replay", body);

testEachBackend(
  "dead letters replay once the cause is fixed: ingest items (as sent or corrected) and plugin events, exactly once",
  async (backend) => {
    const store = await backend.open();
    const pluginsDir = await pluginsFolder([{ name: "picky" }]);
    try {
      await withRuntime(backend, { pluginsDir, store }, async (rt) => {
        const posted = await postJson(rt, "/v1/events", [
          pageView("e1"),
          pageView("bad1", { properties: { bad: true } }),
          pageView("e2"),
          late,
        ]);
        assert.equal(posted.body.accepted, 3);
        await waitFor("bad1 in the dead letters", async () => {
          return (await getJson(rt, "/api/dead-letters?stage=plugin:picky")).body.total === 1;
        });
        await waitForCatchUp(rt);
        assert.deepEqual((await getJson(rt, "/api/picky/seen")).body, { e1: 1, e2: 1 });
        assert.equal(rt.metrics.value("dead_letters_total", { stage: "plugin:picky" }), 1);
        // Before the fix, a replay fails, says why, and changes nothing.
        const early = await replay(rt, { stage: "plugin:picky" });
        assert.equal(early.body.replayed, 0);
        assert.match(early.body.failed[0].error, /cannot take bad1/);
        const asSent = await replay(rt, { stage: "ingest" });
        assert.deepEqual(asSent.body.failed.map((f: Json) => f.error), [
          "timestamp: must be ISO-8601 with a UTC offset, like 2026-01-31T12:00:00Z",
        ]);
        assert.equal((await getJson(rt, "/api/dead-letters?state=pending")).body.total, 2);
      });

      // The fix deployed: the same database, and picky now takes bad events.
      const fixed = { pluginsDir, store, pluginSettings: { picky: { takeBad: true } } };
      await withRuntime(backend, fixed, async (rt) => {
        const pending = (await getJson(rt, "/api/dead-letters?state=pending")).body.items;
        const plugin = pending.find((l: Json) => l.stage === "plugin:picky");
        const ingest = pending.find((l: Json) => l.stage === "ingest");
        // Two replays of one letter at once: one runs the event through picky, the other finds it done.
        const both = await Promise.all([replay(rt, { ids: [plugin.id] }), replay(rt, { ids: [plugin.id] })]);
        assert.deepEqual(both.map((r) => r.status), [200, 200]);
        assert.deepEqual(both.map((r) => r.body.replayed).sort(), [0, 1]);
        assert.deepEqual(both.flatMap((r) => r.body.skipped), [{ id: plugin.id, reason: "already replayed" }]);
        assert.deepEqual((await getJson(rt, "/api/picky/seen")).body, { bad1: 1, e1: 1, e2: 1 });

        // The ingest letter, its timestamp corrected by the operator.
        const corrected = await replay(rt, {
          ids: [ingest.id],
          payloads: { [ingest.id]: { ...late, timestamp: "2026-03-01T10:05:00Z" } },
        });
        assert.deepEqual(corrected.body, { replayed: 1, events: 1, skipped: [], failed: [], last_id: ingest.id });
        await waitForCatchUp(rt);
        assert.deepEqual((await getJson(rt, "/api/picky/seen")).body, { bad1: 1, e1: 1, e2: 1, late: 1 });

        // Nothing is left, and nothing runs twice.
        assert.deepEqual((await replay(rt, { stage: "ingest" })).body.last_id, null);
        assert.deepEqual((await replay(rt, { ids: [ingest.id, plugin.id, 999_999] })).body, {
          replayed: 0,
          events: 0,
          skipped: [{ id: ingest.id, reason: "already replayed" }, { id: plugin.id, reason: "already replayed" }],
          failed: [{ id: 999_999, error: "no dead letter has this id" }],
          last_id: plugin.id,
        });
        await waitForCatchUp(rt);
        assert.deepEqual((await getJson(rt, "/api/picky/seen")).body, { bad1: 1, e1: 1, e2: 1, late: 1 });
        assert.equal((await getJson(rt, "/api/dead-letters?state=pending")).body.total, 0);
        const done = (await getJson(rt, "/api/dead-letters?state=replayed")).body;
        assert.equal(done.total, 2);
        assert.ok(done.items.every((l: Json) => typeof l.replayed_at === "string"));
        assert.equal(rt.metrics.value("dead_letters_replayed_total", { stage: "plugin:picky" }), 1);
        assert.equal(rt.metrics.value("dead_letters_replayed_total", { stage: "ingest" }), 1);

        for (const bad of [{}, { ids: [1], stage: "ingest" }, { ids: [] }, { stage: "ingest", limit: 0 }, "{"]) {
          assert.equal((await replay(rt, bad)).status, 400, JSON.stringify(bad));
        }
        assert.equal((await getJson(rt, "/api/dead-letters?state=done")).status, 400);
      });
    } finally {
      await store.close();
    }
  },
);

testEachBackend(
  "an ingest letter stored altered (NUL, broken Unicode or deep nesting replaced) replays only corrected",
  async (backend) => {
    await withRuntime(backend, { pluginsDir: await pluginsFolder([]) }, async (rt) => {
      const nested = pageView("deep", { properties: { a: JSON.parse("[".repeat(40) + "]".repeat(40)) } });
      const posted = await postJson(rt, "/v1/events", [pageView("nul\u0000"), pageView("lone\ud800"), nested]);
      assert.equal(posted.body.rejected.length, 3);
      const asStored = await replay(rt, { stage: "ingest" });
      assert.equal(asStored.body.replayed, 0);
      assert.deepEqual(asStored.body.failed.map((f: Json) => f.error), [
        "the payload was stored with NUL, broken Unicode or deep nesting replaced: give a corrected payload",
        "the payload was stored with NUL, broken Unicode or deep nesting replaced: give a corrected payload",
        "the payload was stored with NUL, broken Unicode or deep nesting replaced: give a corrected payload",
      ]);
      assert.equal(rt.eventLog.head, 0);
      const [first] = asStored.body.failed;
      const corrected = await replay(rt, { ids: [first.id], payloads: { [first.id]: pageView("nul") } });
      assert.deepEqual(corrected.body.replayed, 1);
      assert.equal(rt.eventLog.head, 1);
    });
  },
);

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
