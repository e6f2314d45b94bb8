import assert from "node:assert/strict";
import { testEachBackend } from "../../tests/support/harness.ts";
import { migrateHost, type Store } from "../store/mod.ts";
import { claimDue, recordFailures } from "./lifecycle.ts";

/** Stores letters of `stages`, each `ageMs` old; answers their ids in that order. */
async function letters(store: Store, stages: string[], ageMs: number): Promise<number[]> {
  const rows = await store.query<{ id: number }>(
    `insert into host.dead_letters (stage, reason, payload, created_at)
     select s, 'refused', '{}'::jsonb, now() - $2::float8 * interval '1 millisecond' from unnest($1::text[]) s
     returning id`,
    [stages, ageMs],
  );
  return rows.map((r) => r.id);
}

type Row = { id: number; state: string; retries: number; last_error: string | null; wait_s: number | null };

async function rows(store: Store, ids: number[]): Promise<Row[]> {
  return await store.query<Row>(
    `select id, state, retries, last_error,
       round(extract(epoch from next_retry_at - now()))::int as wait_s
     from host.dead_letters where id = any($1::int8[]) order by id`,
    [ids],
  );
}

testEachBackend(
  "claimDue() claims letters due for a retry once: of ingest and transforms, not dead, resolved or new ones",
  async (backend) => {
    const store = await backend.open();
    try {
      await migrateHost(store);
      const policy = { retries: 5, baseMs: 60_000 };
      const [ingest, , transform] = await letters(
        store,
        ["ingest", "plugin:p", "transform:t", "webhook:w"],
        120_000,
      );
      await letters(store, ["ingest"], 1_000); // stored a second ago: its first retry is in a minute
      const [dead, resolved, retryingDue, retryingLater, older] = await letters(
        store,
        Array(5).fill("ingest"),
        120_000,
      );
      await store.query("update host.dead_letters set state = 'dead', retries = 5 where id = $1", [dead]);
      await store.query("update host.dead_letters set state = 'resolved', replayed_at = now() where id = $1", [
        resolved,
      ]);
      // Resolved by a process of the version before, which sets only replayed_at.
      await store.query("update host.dead_letters set replayed_at = now() where id = $1", [older]);
      await store.query(
        `update host.dead_letters set state = 'retrying', retries = 1,
           next_retry_at = now() + case when id = $1 then interval '-1 second' else interval '1 hour' end
         where id = any($2::int8[])`,
        [retryingDue, [retryingDue, retryingLater]],
      );
      assert.deepEqual(await claimDue(store, policy, 100), [ingest, transform, retryingDue]);
      // Claimed: another process's retrier does not take them while this one retries them.
      assert.deepEqual(await claimDue(store, policy, 100), []);

      // Two processes at once: letters one is claiming (locked) are skipped by the other, not waited for or taken.
      if (backend.name === "postgres") {
        const [a, b] = await letters(store, ["ingest", "ingest"], 120_000);
        await store.transaction(async (tx) => {
          await tx.query("select id from host.dead_letters where id = $1 for update", [a]);
          assert.deepEqual(await claimDue(store, policy, 100), [b]);
        });
        assert.deepEqual(await claimDue(store, policy, 100), [a]);
      }
    } finally {
      await store.close();
    }
  },
);

testEachBackend(
  "recordFailures() makes a letter retrying with a fourfold backoff, dead once its retries are spent, final or not retried",
  async (backend) => {
    const store = await backend.open();
    try {
      await migrateHost(store);
      const policy = { retries: 3, baseMs: 60_000 };
      const [a, b, c, done, older] = await letters(store, Array(5).fill("ingest"), 0);
      const [plugin, webhook] = await letters(store, ["plugin:p", "webhook:w"], 0);
      await store.query("update host.dead_letters set state = 'resolved', replayed_at = now() where id = $1", [done]);
      await store.query("update host.dead_letters set replayed_at = now() where id = $1", [older]); // an older process
      const fail = (ids: number[], final = false) =>
        recordFailures(store, ids.map((id) => ({ id, error: `failed ${id}`, final })), policy);
      await fail([a, b, done, older, plugin, webhook]);
      await fail([c], true);
      assert.deepEqual(await rows(store, [a, b, c, done, older, plugin, webhook]), [
        { id: a, state: "retrying", retries: 1, last_error: `failed ${a}`, wait_s: 240 },
        { id: b, state: "retrying", retries: 1, last_error: `failed ${b}`, wait_s: 240 },
        { id: c, state: "dead", retries: 1, last_error: `failed ${c}`, wait_s: null },
        { id: done, state: "resolved", retries: 0, last_error: null, wait_s: null },
        { id: older, state: "pending", retries: 0, last_error: null, wait_s: null },
        // Not of a stage the retrier takes: an operator replays them.
        { id: plugin, state: "dead", retries: 1, last_error: `failed ${plugin}`, wait_s: null },
        { id: webhook, state: "dead", retries: 1, last_error: `failed ${webhook}`, wait_s: null },
      ]);
      await fail([a]);
      assert.deepEqual(await rows(store, [a]), [
        { id: a, state: "retrying", retries: 2, last_error: `failed ${a}`, wait_s: 960 },
      ]);
      await fail([a]);
      assert.deepEqual(await rows(store, [a]), [{
        id: a,
        state: "dead",
        retries: 3,
        last_error: `failed ${a}`,
        wait_s: null,
      }]);
      // A dead letter replayed by hand and failing again stays dead, counting the retry.
      await fail([a]);
      assert.deepEqual((await rows(store, [a]))[0].retries, 4);
      assert.deepEqual((await rows(store, [a]))[0].state, "dead");
    } finally {
      await store.close();
    }
  },
);

testEachBackend(
  "migrateHost() gives the letters of an older version a state: resolved once replayed, else pending",
  async (backend) => {
    const store = await backend.open();
    try {
      await migrateHost(store);
      await store.exec(
        `alter table host.dead_letters drop column state, drop column retries, drop column last_error,
         drop column last_retry_at, drop column next_retry_at`,
      );
      const [old, replayed] = await letters(store, ["ingest", "ingest"], 0);
      await store.query("update host.dead_letters set replayed_at = now() where id = $1", [replayed]);
      await migrateHost(store);
      assert.deepEqual(await rows(store, [old, replayed]), [
        { id: old, state: "pending", retries: 0, last_error: null, wait_s: null },
        { id: replayed, state: "resolved", retries: 0, last_error: null, wait_s: null },
      ]);
    } finally {
      await store.close();
    }
  },
);
