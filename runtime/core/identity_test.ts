import assert from "node:assert/strict";
import type { Event, EventProperties } from "./event.ts";
import { EventLog } from "./event_log.ts";
import { resolveLogged } from "./identity.ts";
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
      ["$merge@4", "u1", "a1"],
      ["e3", "u1", "a1"],
      ["e4", "u1", null],
      ["e5", "u2", null],
    ]);

    // An alias links a guest id that never signed in; signed-in ids cannot be taken, whoever names them.
    await log.append([
      ev("guest-7"),
      ev("u3", { previous_id: "guest-7" }, "alias"),
      ev("guest-7"),
      ev("mallory", { anonymous_id: "u1" }, "identify"), // u1 signed in: not anyone's anonymous id
      ev("mallory", { previous_id: "u2" }, "alias"), // u2 signed in (its identify) too
      ev("mallory", { anonymous_id: "a1" }), // a1 is u1's already
      ev("u1", { anonymous_id: "mallory" }), // mallory signed in: not merged into u1 either
      ev("a5", { anonymous_id: "u1" }), // a5 as the user: u1 is known, so a5 cannot take it
    ]);
    assert.deepEqual((await logged()).slice(7), [
      ["e6", "guest-7", null],
      ["e7", "u3", null],
      ["$merge@10", "u3", "guest-7"],
      ["e8", "u3", "guest-7"],
      ["e9", "mallory", null],
      ["e10", "mallory", null],
      ["e11", "mallory", null],
      ["e12", "u1", null],
      ["e13", "a5", null],
    ]);
    assert.deepEqual(
      await store.query("select id, person, known from host.identities order by id"),
      [
        { id: "a1", person: "u1", known: false },
        { id: "a5", person: "a5", known: true },
        { id: "guest-7", person: "u3", known: false },
        { id: "mallory", person: "mallory", known: true },
        { id: "u1", person: "u1", known: true },
        { id: "u2", person: "u2", known: true },
        { id: "u3", person: "u3", known: true },
      ],
    );
    assert.equal(log.head, 16);
    const fresh = new EventLog(store, new MetricsRegistry()); // another process, same links
    await fresh.open();
    await fresh.append([ev("guest-7"), ev("a1")]);
    assert.deepEqual((await logged()).slice(16), [["e14", "u3", "guest-7"], ["e15", "u1", "a1"]]);

    // An event logged before its id was linked (a dead letter replayed now) is read back under the person.
    const [first] = (await log.read(0, 1)).entries;
    assert.deepEqual(JSON.parse((await resolveLogged(store, first)).json), {
      event_id: "e1",
      type: "page_view",
      user_id: "u1",
      timestamp: first.timestamp,
      properties: { original_user_id: "a1" },
    });
    const [unlinked] = (await log.read(4, 1)).entries; // e3, of u1: nothing to resolve
    assert.equal(await resolveLogged(store, unlinked), unlinked);
  } finally {
    await store.close();
  }
});
