import assert from "node:assert/strict";
import { ALL_PARTITIONS } from "../core/partitions.ts";
import { createLogger } from "../observability/logger.ts";
import { migrateHost, type Store } from "../store/mod.ts";
import { BACKENDS, waitFor } from "../../tests/support/harness.ts";
import { Members } from "./members.ts";

const POSTGRES = BACKENDS[1];
const logger = createLogger("error");

async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
  const store = await POSTGRES.open();
  try {
    await migrateHost(store);
    await fn(store);
  } finally {
    await store.close();
  }
}

Deno.test({
  name: "[postgres] Members: the processes running a plugin split its partitions; one leaving gives them back",
  ignore: !POSTGRES.enabled,
  fn: () =>
    withStore(async (store) => {
      const opts = { heartbeatMs: 50, ttlMs: 2000 };
      const a = new Members(store, logger, opts);
      const b = new Members(store, logger, opts);
      const c = new Members(store, logger, opts);
      await a.start(() => ["stats", "fraud"]);
      await b.start(() => ["stats", "fraud"]);
      await c.start(() => ["fraud"]); // it does not run stats: it gets none of stats' partitions
      try {
        await waitFor("each to see the others", () =>
          [a, b].every((m) => m.members("stats").length === 2) &&
          [a, b, c].every((m) => m.members("fraud").length === 3));
        const [ofA, ofB] = [a.owned("stats", true), b.owned("stats", true)];
        assert.equal(ofA.length, 8);
        assert.deepEqual([...ofA, ...ofB].sort((x, y) => x - y), ALL_PARTITIONS);
        // An unpartitioned plugin runs whole on exactly one of the three.
        const whole = [a, b, c].map((m) => m.owned("fraud", false).length);
        assert.deepEqual(whole.sort((x, y) => x - y), [0, 0, 16]);
        await b.stop();
        await waitFor("a to run every partition of stats", () => a.owned("stats", true).length === 16);
      } finally {
        await a.stop();
        await c.stop();
      }
    }),
});

Deno.test({
  name: "[postgres] Members: a member whose heartbeat is older than the time to live is not live",
  ignore: !POSTGRES.enabled,
  fn: () =>
    withStore(async (store) => {
      await store.query(
        `insert into host.members (member, plugin, seen_at) values
           ('dead', 'stats', now() - interval '10 seconds'), ('alive', 'stats', now() + interval '1 minute')`,
      );
      const a = new Members(store, logger, { heartbeatMs: 50, ttlMs: 5000 });
      await a.start(() => ["stats"]);
      try {
        assert.deepEqual(a.members("stats"), ["alive", a.id].sort());
        assert.equal(a.owned("stats", true).length, 8);
        const before = a.generation;
        await store.query("update host.members set seen_at = now() - interval '1 minute' where member = 'alive'");
        await waitFor("'alive' to expire", () => a.generation > before && a.owned("stats", true).length === 16);
      } finally {
        await a.stop();
      }
      const [{ n }] = await store.query<{ n: number }>(
        "select count(*)::int as n from host.members where member = $1",
        [a.id],
      );
      assert.equal(n, 0, "a stopped member leaves");
    }),
});
