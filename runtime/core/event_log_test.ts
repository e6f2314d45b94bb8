import assert from "node:assert/strict";
import type { Event } from "./event.ts";
import { EventLog } from "./event_log.ts";
import { MetricsRegistry } from "../observability/metrics.ts";
import { migrateHost } from "../store/mod.ts";
import { testEachBackend } from "../../tests/support/harness.ts";

const event = (id: string, timestamp = "2026-05-01T00:00:00.000Z"): Event => ({
  event_id: id,
  type: "login",
  user_id: "u",
  timestamp,
  properties: {},
});

testEachBackend(
  "EventLog group-commits concurrent appends with dense positions and isolates a failing one",
  async (backend) => {
    const store = await backend.open();
    try {
      await migrateHost(store);
      const log = new EventLog(store, new MetricsRegistry());
      await log.open();
      let wakes = 0;
      log.onAppend(() => wakes++);
      const results = await Promise.allSettled([
        log.append([event("a"), event("b")]),
        log.append([event("c"), event("a")]),
        // Unstorable (validation would refuse it): must fail alone, not with its group.
        log.append([event("bad", "0000-01-01T00:00:00.000Z")]),
        log.append([event("d")], [{ stage: "ingest", reason: "r", payload: { x: 1 } }]),
      ]);
      assert.deepEqual(results.map((r) => r.status), ["fulfilled", "fulfilled", "rejected", "fulfilled"]);
      assert.deepEqual(results.map((r) => r.status === "fulfilled" ? r.value : null), [
        { stored: 2, duplicates: 0 },
        { stored: 1, duplicates: 1 },
        null,
        { stored: 1, duplicates: 0 },
      ]);
      const rows = await store.query<{ position: number; event_id: string }>(
        "select position, event_id from host.events order by position",
      );
      assert.deepEqual(rows.map((r) => r.position), [1, 2, 3, 4]);
      assert.deepEqual(rows.map((r) => r.event_id).sort(), ["a", "b", "c", "d"]);
      assert.equal(log.head, 4);
      assert.ok(wakes >= 1);
      assert.deepEqual((await log.read(1, 2)).map((r) => r.position), [2, 3]);
      assert.equal((await store.query("select count(*)::int8 as n from host.dead_letters"))[0].n, 1);
    } finally {
      await store.close();
    }
  },
);
