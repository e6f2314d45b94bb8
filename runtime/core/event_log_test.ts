import assert from "node:assert/strict";
import type { Event } from "./event.ts";
import { EventLog } from "./event_log.ts";
import { partitionOf } from "./partitions.ts";
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

testEachBackend(
  "EventLog.read() with partitions leaves out the JSON of other partitions' entries, and serves from memory what it can",
  async (backend) => {
    const store = await backend.open();
    try {
      await migrateHost(store);
      const writer = new EventLog(store, new MetricsRegistry());
      await writer.open();
      // Users in partitions 0..2 by Kafka's hash, found by trying ids (partitionOf is tested against kafkajs).
      const users = new Map<number, string>();
      for (let i = 0; users.size < 3; i++) {
        const part = partitionOf(`user-${i}`);
        if (part < 3 && !users.has(part)) users.set(part, `user-${i}`);
      }
      const events = [0, 1, 2, 0, 1].map((part, i) => ({ ...event(`e${i}`), user_id: users.get(part)! }));
      await writer.append(events);
      const [{ parts }] = await store.query<{ parts: number[] }>(
        "select array_agg(part order by position) as parts from host.events",
      );
      assert.deepEqual(parts, [0, 1, 2, 0, 1], "each entry is logged with its user's partition");

      const reader = new EventLog(store, new MetricsRegistry()); // another process: nothing in memory
      await reader.open();
      const mine = await reader.read(0, 10, new Set([0, 2]));
      assert.deepEqual(mine.map((e) => [e.position, e.part, e.json === null]), [
        [1, 0, false],
        [2, 1, true],
        [3, 2, false],
        [4, 0, false],
        [5, 1, true],
      ]);
      assert.equal(JSON.parse(mine[2].json!).event_id, "e2");
      // Kept in memory: read again for the same partitions, from the database it would fail.
      await store.exec("alter table host.events rename to gone");
      assert.deepEqual((await reader.read(0, 10, new Set([0]))).map((e) => e.position), [1, 2, 3, 4, 5]);
      // A reader that needs partition 1's JSON cannot be served entries read without it.
      await assert.rejects(reader.read(0, 10), /gone|does not exist/);
      await store.exec("alter table host.gone rename to events");
      assert.deepEqual((await reader.read(0, 10)).map((e) => JSON.parse(e.json).event_id), [
        "e0",
        "e1",
        "e2",
        "e3",
        "e4",
      ]);
    } finally {
      await store.close();
    }
  },
);
