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
      assert.deepEqual((await log.read(1, 2)).entries.map((r) => r.position), [2, 3]);
      assert.equal((await store.query("select count(*)::int8 as n from host.dead_letters"))[0].n, 1);
    } finally {
      await store.close();
    }
  },
);

testEachBackend(
  "EventLog.read() of some partitions sends only their entries, with the event times of all, and serves memory first",
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
      // The entries of partition 1 carry the latest times: a reader of 0 and 2 must still see them pass.
      const times = ["01:00", "05:00", "02:00", "03:00", "09:00"].map((t) => `2026-05-01T${t}:00.000Z`);
      const events = [0, 1, 2, 0, 1].map((part, i) => ({ ...event(`e${i}`, times[i]), user_id: users.get(part)! }));
      await writer.append(events);
      const [{ parts }] = await store.query<{ parts: number[] }>(
        "select array_agg(part order by position) as parts from host.events",
      );
      assert.deepEqual(parts, [0, 1, 2, 0, 1], "each entry is logged with its user's partition");

      const metrics = new MetricsRegistry();
      const reader = new EventLog(store, metrics); // another process: nothing in memory
      await reader.open();
      const mine = await reader.read(0, 10, new Set([0, 2]));
      assert.deepEqual(mine.entries.map((e) => [e.position, e.part, JSON.parse(e.json).event_id]), [
        [1, 0, "e0"],
        [3, 2, "e2"],
        [4, 0, "e3"],
      ]);
      assert.deepEqual(mine.before, [null, times[1], times[1]]);
      assert.equal(mine.upTo, 5);
      assert.equal(mine.latest, times[4]);
      const middle = await reader.read(1, 2, new Set([0])); // positions 2 and 3: none of partition 0
      assert.deepEqual([middle.entries, middle.upTo, middle.latest], [[], 3, times[1]]);
      assert.deepEqual(await reader.read(5, 10, new Set([0])), { entries: [], before: [], upTo: 5, latest: null });

      // Appends of this process and another's interleave: the database sends only the JSON this one does not hold.
      await reader.append([{ ...event("e5", times[0]), user_id: users.get(0)! }]); // position 6, kept in memory
      await writer.append([{ ...event("e6", times[0]), user_id: users.get(0)! }]); // position 7
      await reader.refresh();
      const interleaved = await reader.read(0, 10, new Set([0]));
      assert.deepEqual(interleaved.entries.map((e) => JSON.parse(e.json).event_id), ["e0", "e3", "e5", "e6"]);
      const read = (from: string) => metrics.value("log_entries_read_total", { from });
      assert.deepEqual([read("memory"), read("database")], [1, 3 + 3]); // e5; e0, e3, e6 (and e0, e2, e3 above)

      // A reader of every partition reads every entry, and keeps them in memory for the next readers: the table gone,
      // they are still served.
      assert.deepEqual((await reader.read(0, 10)).entries.map((e) => e.position), [1, 2, 3, 4, 5, 6, 7]);
      await store.exec("alter table host.events rename to gone");
      const again = await reader.read(0, 10, new Set([1]));
      assert.deepEqual([again.entries.map((e) => e.position), again.before, again.latest], [
        [2, 5],
        [times[0], times[1]],
        times[4],
      ]);
      await store.exec("alter table host.gone rename to events");
    } finally {
      await store.close();
    }
  },
);
