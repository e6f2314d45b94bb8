import assert from "node:assert/strict";
import type { Event, EventProperties } from "./event.ts";
import { EventLog } from "./event_log.ts";
import { MetricsRegistry } from "../observability/metrics.ts";
import { migrateHost } from "../store/mod.ts";
import { testEachBackend } from "../../tests/support/harness.ts";

let seq = 0;
const at = (minute: number) => new Date(Date.UTC(2026, 4, 1, 0, minute)).toISOString();
const ev = (user_id: string, properties: EventProperties = {}, type = "page_view", event_id = `e${++seq}`): Event => ({
  event_id,
  type,
  user_id,
  timestamp: at(seq),
  properties,
});

testEachBackend("the log resolves linked ids to their person and logs a merge after each new link", async (backend) => {
  seq = 0;
  const store = await backend.open();
  try {
    await migrateHost(store);
    const log = new EventLog(store, new MetricsRegistry());
    await log.open();
    const logged = async () =>
      (await store.query<{ id: string; user: string; from: string | null; sent: string | null }>(
        `select event_id as id, user_id as "user", body->'properties'->>'from' as "from",
           body->'properties'->>'original_user_id' as sent
         from host.events order by position`,
      )).map((r) => [r.id, r.user, r.from ?? r.sent]);
    const identify = ev("u1", { anonymous_id: "a1" }, "identify", "login-1");

    await log.append([ev("a1"), ev("a1", { original_user_id: "forged" })]);
    await log.append([identify]);
    await log.append([ev("a1"), identify]); // after the link; the link replayed
    // The same link again, then a second user on a1's device: a1 is u1's already, and u2 stays u2.
    await log.append([ev("u1", { anonymous_id: "a1" }), ev("u2", { anonymous_id: "a1" }, "identify")]);
    assert.deepEqual(await logged(), [
      ["e1", "a1", null],
      ["e2", "a1", null], // the sender's original_user_id is not taken
      ["login-1", "u1", null],
      ["$merge:a1", "u1", "a1"],
      ["e3", "u1", "a1"],
      ["e4", "u1", null],
      ["e5", "u2", null],
    ]);

    // An alias moves u1, and a1 with it, to u3; a link back to a1 would be a cycle.
    await log.append([ev("u3", { previous_id: "u1" }, "alias"), ev("a1"), ev("a1", { anonymous_id: "u3" })]);
    // A chain in one append: a5 into u5, then u5 into u6.
    await log.append([ev("u5", { anonymous_id: "a5" }), ev("u6", { previous_id: "u5" }, "alias"), ev("a5")]);
    assert.deepEqual((await logged()).slice(7), [
      ["e6", "u3", null],
      ["$merge:u1", "u3", "u1"],
      ["e7", "u3", "a1"],
      ["e8", "u3", "a1"],
      ["e9", "u5", null],
      ["$merge:a5", "u5", "a5"],
      ["e10", "u6", null],
      ["$merge:u5", "u6", "u5"],
      ["e11", "u6", "a5"],
    ]);
    assert.deepEqual(
      await store.query("select id, person from host.identities order by id"),
      [{ id: "a1", person: "u3" }, { id: "a5", person: "u6" }, { id: "u1", person: "u3" }, { id: "u5", person: "u6" }],
    );
    assert.equal(log.head, 16);
    const metrics = new MetricsRegistry();
    const fresh = new EventLog(store, metrics); // another process on the same database sees the same links
    await fresh.open();
    await fresh.append([ev("a5"), ev("u1")]);
    assert.deepEqual((await logged()).slice(16), [["e12", "u6", "a5"], ["e13", "u3", "u1"]]);
  } finally {
    await store.close();
  }
});
