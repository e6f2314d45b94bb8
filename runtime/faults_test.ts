import assert from "node:assert/strict";
import { expectedSummary } from "../plugins/funnel/recompute.ts";
import { expectedOverview } from "../plugins/stats/recompute.ts";
import { createPgCluster, pgBin } from "./_pg_cluster.ts";
import type { Event } from "./event.ts";
import { Simulator } from "./simulator/mod.ts";
import { openPostgres } from "./store/mod.ts";
import { type Json, pluginsFolder, REPO, spawnRuntime, waitFor } from "./testing.ts";

const IN_CI = Deno.env.get("CI") === "true";
const PLUGINS = new URL("plugins/", REPO);
const ALL_PLUGINS = ["stats", "funnel", "churn", "fraud"].map((name) => ({ name, from: PLUGINS }));

/**
 * Posts simulated events to a runtime over HTTP until stopped, as a client with a buffer would: what is not
 * acknowledged is sent again (so some arrive twice), and nothing new is sent while a retry is pending.
 */
function postInBackground(url: string, sim: Simulator) {
  const acked = new Set<string>();
  const statuses = new Map<number | string, number>();
  const pending: Event[] = [];
  let running = true;
  const post = async (batch: Event[]) => {
    let status: number | string;
    try {
      const res = await fetch(`${url}/v1/events`, { method: "POST", body: JSON.stringify(batch) });
      const body = await res.json();
      status = res.status;
      if (res.status === 200) {
        assert.deepEqual(body, { accepted: batch.length, rejected: [] });
        for (const e of batch) acked.add(e.event_id);
      }
    } catch (e) {
      status = (e as Error).name;
    }
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    if (status !== 200) {
      pending.push(...batch);
      await new Promise((r) => setTimeout(r, 50)); // a client's pause before it retries
    }
  };
  const done = (async () => {
    while (running) await post(pending.length ? pending.splice(0, 500) : sim.take(40));
  })();
  return {
    acked,
    statuses,
    /** Stops sending new events, and resends what is pending until it is acknowledged. */
    async stop() {
      running = false;
      await done;
      await waitFor("every event to be acknowledged", async () => {
        if (pending.length) await post(pending.splice(0, 500));
        return pending.length === 0;
      });
    },
  };
}

/** Answers `/api/plugins` once every plugin is running and has committed the whole log. */
function caughtUp(url: string, timeoutMs = 60_000): Promise<Json> {
  return waitFor("the plugins to catch up", async () => {
    const body = await (await fetch(`${url}/api/plugins`)).json();
    return body.plugins.every((p: Json) => p.status === "running" && p.lag === 0) ? body : null;
  }, timeoutMs);
}

async function status(url: string): Promise<number> {
  const res = await fetch(url);
  await res.body?.cancel();
  return res.status;
}

Deno.test({
  name: "[postgres] PostgreSQL stopped and restarted mid-run: the runtime keeps serving, answers 503 while the " +
    "database is down, and resumes without losing or double-counting an event",
  ignore: !IN_CI && pgBin() === null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await createPgCluster();
    try {
      await cluster.start();
      const rt = spawnRuntime({
        DATABASE_URL: cluster.url,
        DATA_DIR: await Deno.makeTempDir({ prefix: "rt-data-" }),
        PLUGINS_DIR: await pluginsFolder(ALL_PLUGINS),
      });
      await rt.ready();
      const sim = new Simulator({ seed: 23, users: 150, start: new Date("2026-08-01T00:00:00Z") });
      const posting = postInBackground(rt.url, sim);
      await waitFor("some events to be acknowledged", () => posting.acked.size > 500);

      await cluster.crash();
      await waitFor("/readyz to answer 503", async () => await status(`${rt.url}/readyz`) === 503);
      await waitFor("ingest to answer 503", () => posting.statuses.get(503)! >= 3);
      assert.equal(await status(`${rt.url}/healthz`), 200);
      const down = await fetch(`${rt.url}/api/stats/overview`);
      assert.equal(down.status, 503, await down.text());

      await cluster.start();
      await waitFor("/readyz to answer 200", async () => await status(`${rt.url}/readyz`) === 200);
      const before = posting.acked.size;
      await waitFor("ingest to resume", () => posting.acked.size > before + 500);
      await posting.stop();
      // Every answer was an acknowledgement or a 503 (never a 500, never a dropped connection).
      assert.deepEqual([...posting.statuses.keys()].sort(), [200, 503]);

      const { plugins } = await caughtUp(rt.url);
      const overview = await (await fetch(`${rt.url}/api/stats/overview`)).json();
      const summary = await (await fetch(`${rt.url}/api/funnel/summary`)).json();
      const letters = await (await fetch(`${rt.url}/api/dead-letters`)).json();
      rt.child.kill("SIGTERM");
      assert.equal((await rt.child.status).code, 0, "graceful shutdown");

      // A batch the outage interrupted is retried, not counted as the plugin's failure.
      assert.deepEqual(plugins.map((p: Json) => [p.name, p.status, p.failed]), [
        ["churn", "running", 0],
        ["fraud", "running", 0],
        ["funnel", "running", 0],
        ["stats", "running", 0],
      ]);
      assert.equal(letters.total, 0, JSON.stringify(letters.items.slice(0, 3)));
      const store = await openPostgres(cluster.url);
      try {
        const logged = (await store.query<{ event_id: string }>("select event_id from host.events"))
          .map((r) => r.event_id);
        assert.equal(logged.length, posting.acked.size);
        assert.deepEqual(new Set(logged), posting.acked);
        assert.deepEqual(overview, await expectedOverview(store, null, null));
        assert.deepEqual(summary, await expectedSummary(store, null, null));
      } finally {
        await store.close();
      }
    } finally {
      await cluster.destroy();
    }
  },
});
