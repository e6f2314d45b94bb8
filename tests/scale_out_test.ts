/**
 * Several runtime processes on one PostgreSQL database split each plugin's log partitions, and the totals stay exact
 * when processes are killed, restarted and replaced while events pour in.
 */
import assert from "node:assert/strict";
import { assertOverviewExact } from "./oracles/stats.ts";
import { ALL_PARTITIONS, partitionOf } from "../runtime/core/partitions.ts";
import type { Event } from "../runtime/core/event.ts";
import { rng, Simulator } from "../runtime/sources/simulator/mod.ts";
import { openPostgres } from "../runtime/store/mod.ts";
import type { Runtime } from "../runtime/runtime.ts";
import {
  BACKENDS,
  getJson,
  pageView,
  pluginsFolder,
  postJson,
  REPO,
  type RuntimeProcess,
  spawnRuntime,
  startTestRuntime,
  waitFor,
} from "./support/harness.ts";

const POSTGRES = BACKENDS[1];

/** What `/api/plugins` says of stats in one process. */
async function statsIn(rt: RuntimeProcess): Promise<{ status: string; lag: number; partitions: number[] }> {
  const { plugins } = await (await fetch(`${rt.url}/api/plugins`)).json();
  return plugins.find((p: { name: string }) => p.name === "stats");
}

for (const processes of [1, 2, 4]) {
  Deno.test({
    name: `[postgres] ${processes} processes share stats' partitions; SIGKILLs and restarts leave its totals exact`,
    ignore: !POSTGRES.enabled,
    async fn() {
      const db = await POSTGRES.fresh();
      const env = {
        DATA_DIR: db.dataDir,
        DATABASE_URL: db.databaseUrl!,
        PLUGINS_DIR: await pluginsFolder([{ name: "stats", from: new URL("plugins/", REPO) }]),
      };
      const sim = new Simulator({ seed: 23, users: 300, anonymous: 0.3, start: new Date("2026-05-01T00:00:00Z") });
      const random = rng(processes);
      const live: RuntimeProcess[] = [];
      const start = async () => {
        const rt = spawnRuntime(env);
        await rt.ready();
        live.push(rt);
      };
      await Promise.all(Array.from({ length: processes }, start));

      // Apart from a rebalance, the live processes run disjoint partitions that cover the log.
      const split = () =>
        waitFor(`${processes} processes to split the partitions`, async () => {
          const owned = (await Promise.all(live.map(statsIn))).map((s) => s.partitions);
          const all = owned.flat().sort((a, b) => a - b);
          return owned.every((p) => p.length > 0) && all.length === ALL_PARTITIONS.length &&
            all.every((p, i) => p === ALL_PARTITIONS[i]);
        });
      await split();

      const sent: Event[] = [];
      const acked = new Set<string>();
      let posting = true;
      const poster = async () => {
        while (posting) {
          if (live.length === 0) { // the only process was killed: wait for its replacement
            await new Promise((r) => setTimeout(r, 20));
            continue;
          }
          const fresh = sim.take(50 + Math.floor(random() * 150));
          const again = sent.filter(() => random() < 0.01); // re-sent: duplicates across crashes
          sent.push(...fresh);
          const batch = [...fresh, ...again];
          const rt = live[Math.floor(random() * live.length)];
          try {
            const res = await fetch(`${rt.url}/v1/events`, { method: "POST", body: JSON.stringify(batch) });
            const body = await res.json();
            if (res.status !== 200) continue;
            assert.equal(body.accepted, batch.length);
            for (const e of batch) acked.add(e.event_id);
          } catch {
            // The process died mid-request: not acknowledged.
          }
        }
      };
      const posters = [poster(), poster()];
      for (let round = 0; round < 3; round++) {
        await new Promise((r) => setTimeout(r, 400 + random() * 1200));
        const victim = live.splice(Math.floor(random() * live.length), 1)[0];
        victim.child.kill("SIGKILL");
        await victim.child.status;
        await start(); // a replacement joins; the dead member's partitions wait out its time to live
      }
      await new Promise((r) => setTimeout(r, 500));
      posting = false;
      await Promise.all(posters);
      assert.ok(acked.size > 1000, `only ${acked.size} events acknowledged`);

      await split();
      await waitFor("stats to catch up in every process", async () => {
        const states = await Promise.all(live.map(statsIn));
        return states.every((s) => s.status === "running" && s.lag === 0);
      }, 60_000);
      const overview = await (await fetch(`${live[0].url}/api/stats/overview`)).json();
      for (const rt of live) rt.child.kill("SIGTERM");
      await Promise.all(live.map((rt) => rt.child.status));

      const store = await openPostgres(db.databaseUrl!);
      try {
        const [{ merges }] = await store.query<{ merges: number }>(
          "select count(*)::int as merges from host.events where type = '$merge'",
        );
        assert.ok(merges > 10, `only ${merges} identity merges: the test needs users who sign in`);
        await assertOverviewExact(store, acked, overview);
      } finally {
        await store.close();
      }
    },
  });
}

Deno.test({
  name: "[postgres] batches of two processes that deadlock on shared rows are tried again, not counted as failures",
  ignore: !POSTGRES.enabled,
  async fn() {
    // Two runtimes on one database, each running one of two partitions' users: "left" and "right" (the fixture takes
    // the shared rows in opposite orders for them).
    assert.notEqual(partitionOf("left") % 2, partitionOf("right") % 2, "the two users fall to different runtimes");
    const pluginsDir = await pluginsFolder([{ name: "deadlocker" }]);
    const store = await POSTGRES.open();
    const [a, b] = [
      await startTestRuntime(POSTGRES, { pluginsDir, store }),
      await startTestRuntime(POSTGRES, { pluginsDir, store }),
    ];
    try {
      await waitFor(
        "the runtimes to split the partitions",
        () => [a, b].every((rt) => rt.plugins.list()[0].partitions.length === 8),
      );
      await Promise.all([
        postJson(a, "/v1/events", [pageView("l1", { user_id: "left" })]),
        postJson(b, "/v1/events", [pageView("r1", { user_id: "right" })]),
      ]);
      await waitFor("both batches to commit", () => [a, b].every((rt) => rt.plugins.list()[0].lag === 0), 30_000);
      assert.deepEqual((await getJson(a, "/api/deadlocker")).body, [{ k: "a", n: 2 }, { k: "b", n: 2 }]);
      const conflicts = [a, b].map((rt) => rt.metrics.value("plugin_batch_conflicts_total", { plugin: "deadlocker" }));
      assert.equal(conflicts.reduce((x, y) => x + y, 0), 1, "PostgreSQL broke the deadlock by rolling one batch back");
      const infos = [a, b].map((rt) => rt.plugins.list()[0]);
      assert.deepEqual(infos.map((i) => [i.status, i.failed, i.processed]), [["running", 0, 1], ["running", 0, 1]]);
    } finally {
      await a.stop();
      await b.stop();
      await store.close();
    }
  },
});

Deno.test({
  name: "[postgres] a plugin's scheduled work runs on one process of two, and on the other once the first stops",
  ignore: !POSTGRES.enabled,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "ticker" }]);
    const store = await POSTGRES.open();
    const runtimes = [
      await startTestRuntime(POSTGRES, { pluginsDir, store }),
      await startTestRuntime(POSTGRES, { pluginsDir, store }),
    ];
    // Runs that succeeded (a histogram's count) and runs that failed (the ticker's first one does).
    const runs = (rt: Runtime) =>
      Number(/^plugin_scheduled_seconds_count\{plugin="ticker"\} (\S+)$/m.exec(rt.metrics.render())?.[1] ?? 0) +
      rt.metrics.value("plugin_scheduled_failures_total", { plugin: "ticker" });
    try {
      await waitFor(
        "the runtimes to split the partitions",
        () => runtimes.every((rt) => rt.plugins.list()[0].partitions.length === 8),
      );
      const first = runtimes.find((rt) => rt.plugins.list()[0].partitions.includes(0))!;
      const other = runtimes.find((rt) => rt !== first)!;
      const before = [runs(first), runs(other)];
      await waitFor("three runs", () => runs(first) >= before[0] + 3, 10_000);
      assert.equal(runs(other), before[1], "the process without partition 0 ran none");
      await first.stop();
      runtimes.splice(runtimes.indexOf(first), 1);
      await waitFor("the other process to run it", () => runs(other) > before[1], 15_000);
    } finally {
      for (const rt of runtimes) await rt.stop();
      await store.close();
    }
  },
});
