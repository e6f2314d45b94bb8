import assert from "node:assert/strict";
import { expectedSessions, expectedSummary } from "./oracles/funnel.ts";
import { expectedOverview, expectedUser } from "./oracles/stats.ts";
import { createPgCluster, pgBin } from "./support/pg_cluster.ts";
import type { Event } from "../runtime/core/event.ts";
import { rng, Simulator } from "../runtime/sources/simulator/mod.ts";
import { openPostgres } from "../runtime/store/mod.ts";
import {
  getJson,
  type Json,
  pluginsFolder,
  postJson,
  REPO,
  spawnRuntime,
  tempDir,
  testEachBackend,
  waitFor,
  waitForCatchUp,
  withRuntime,
} from "./support/harness.ts";

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
    if (body.plugins.every((p: Json) => p.status === "running" && p.lag === 0)) return body;
    // Said on a timeout: where each plugin stands.
    throw new Error(JSON.stringify(body.plugins.map((p: Json) => [p.name, p.status, p.lag, p.error])));
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
        DATA_DIR: await tempDir("rt-data-"),
        PLUGINS_DIR: await pluginsFolder(ALL_PLUGINS),
      });
      await rt.ready();
      const sim = new Simulator({ seed: 23, users: 150, anonymous: 0.3, start: new Date("2026-08-01T00:00:00Z") });
      const posting = postInBackground(rt.url, sim);
      await waitFor("some events to be acknowledged", () => posting.acked.size > 500);

      await cluster.crash();
      await waitFor("/readyz to answer 503", async () => await status(`${rt.url}/readyz`) === 503);
      await waitFor("ingest to answer 503", () => posting.statuses.get(503)! >= 3);
      assert.equal(await status(`${rt.url}/healthz`), 200);
      assert.equal(await status(`${rt.url}/api/plugins`), 200); // what the runtime knows without the database
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
        const logged =
          (await store.query<{ event_id: string }>("select event_id from host.events where type <> '$merge'"))
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

testEachBackend(
  "a slow plugin beside a fast one: the fast one keeps its pace, the slow one catches up later, totals exact",
  async (backend) => {
    // `slow` takes 100 ms per 10 events; stats takes hundreds in one batch.
    const pluginsDir = await pluginsFolder([{ name: "slow" }, { name: "stats", from: PLUGINS }]);
    await withRuntime(backend, { pluginsDir }, async (rt) => {
      const events = new Simulator({ seed: 29, users: 80, start: new Date("2026-08-10T00:00:00Z") }).take(600);
      for (let i = 0; i < events.length; i += 100) {
        assert.equal((await postJson(rt, "/v1/events", events.slice(i, i + 100))).body.accepted, 100);
      }
      const lag = (name: string) => rt.plugins.list().find((p) => p.name === name)!.lag;
      await waitFor("stats to catch up", () => lag("stats") === 0);
      const behind = lag("slow");
      assert.ok(behind > events.length / 2, `slow was ${behind} events behind when stats had caught up`);
      assert.deepEqual((await getJson(rt, "/api/stats/overview")).body, await expectedOverview(rt.store, null, null));

      await waitForCatchUp(rt);
      const [{ n }] = await rt.store.query<{ n: number }>("select count(*)::int8 as n from slow.seen");
      assert.equal(n, events.length);
      assert.deepEqual(rt.plugins.list().map((p) => [p.name, p.status, p.failed]), [
        ["slow", "running", 0],
        ["stats", "running", 0],
      ]);
    });
  },
);

testEachBackend(
  "one user sending half the traffic, out of order and with duplicates: every plugin keeps up, totals exact",
  async (backend) => {
    const pluginsDir = await pluginsFolder(ALL_PLUGINS);
    await withRuntime(backend, { pluginsDir }, async (rt) => {
      const start = new Date("2026-09-01T00:00:00Z");
      const crowd = new Simulator({ seed: 41, users: 300, start });
      // One user in a dozen sessions at once, some without a session_id (so they merge by inactivity).
      const whale = new Simulator({ seed: 42, users: 1, userPrefix: "whale", concurrency: 12, start });
      const random = rng(43);
      const events = Array.from({ length: 4000 }, () => random() < 0.5 ? whale.next() : crowd.next());
      const batches: Event[][] = [];
      for (let i = 0; i < events.length; i += 200) {
        const window = events.slice(i, i + 200).sort(() => random() - 0.5);
        batches.push([...window, ...window.filter(() => random() < 0.05)]);
      }
      // Two clients at once.
      for (let i = 0; i < batches.length; i += 2) {
        const answers = await Promise.all(batches.slice(i, i + 2).map((b) => postJson(rt, "/v1/events", b)));
        answers.forEach((a, k) => assert.deepEqual(a.body, { accepted: batches[i + k].length, rejected: [] }));
      }
      await waitForCatchUp(rt, 120_000);

      const [{ share }] = await rt.store.query<{ share: number }>(
        "select (count(*) filter (where user_id = 'whale0'))::float8 / count(*) as share from host.events",
      );
      assert.ok(share > 0.45 && share < 0.55, `whale0 sent ${share} of the events`);
      assert.deepEqual(rt.plugins.list().map((p) => [p.name, p.status, p.failed]), [
        ["churn", "running", 0],
        ["fraud", "running", 0],
        ["funnel", "running", 0],
        ["stats", "running", 0],
      ]);
      assert.equal((await getJson(rt, "/api/dead-letters")).body.total, 0);
      const middle = events[2000].timestamp;
      for (const [from, to] of [[null, null], [null, middle], [middle, null]]) {
        const q = new URLSearchParams({ ...(from ? { from } : {}), ...(to ? { to } : {}) });
        const overview = (await getJson(rt, `/api/stats/overview?${q}`)).body;
        assert.deepEqual(overview, await expectedOverview(rt.store, from, to), `overview ${q}`);
        assert.deepEqual(
          (await getJson(rt, `/api/funnel/summary?${q}`)).body,
          await expectedSummary(rt.store, from, to),
        );
      }
      const { engagement_score: _, segment: __, ...numbers } = (await getJson(rt, "/api/stats/users/whale0")).body;
      assert.deepEqual(numbers, await expectedUser(rt.store, "whale0"));
      const sessions = (await getJson(rt, "/api/funnel/users/whale0/sessions?limit=200")).body.sessions;
      assert.deepEqual(
        sessions.map((s: Json) => [s.session_key, s.started_at, s.ended_at, s.events, s.timeline.length]),
        (await expectedSessions(rt.store, "whale0")).slice(0, 200).map((s) => [
          s.session_key,
          s.started_at,
          s.ended_at,
          s.events,
          s.timeline.length,
        ]),
      );
    });
  },
);
