import assert from "node:assert/strict";
import { assertOverviewExact } from "./oracles/stats.ts";
import type { Event } from "../runtime/core/event.ts";
import { rng, Simulator } from "../runtime/sources/simulator/mod.ts";
import { openPglite, openPostgres } from "../runtime/store/mod.ts";
import { pluginsFolder, REPO, spawnRuntime, testEachBackend, waitFor } from "./support/harness.ts";

const ROUNDS = 10;

testEachBackend(
  "SIGKILL at random moments while posting loses no acknowledged event; stats stay exact",
  async (backend) => {
    const db = await backend.fresh();
    const env = {
      DATA_DIR: db.dataDir,
      ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
      PLUGINS_DIR: await pluginsFolder([{ name: "stats", from: new URL("plugins/", REPO) }]),
    };
    const sim = new Simulator({ seed: 11, users: 200, anonymous: 0.3, start: new Date("2026-04-01T00:00:00Z") });
    const random = rng(5);
    const sent: Event[] = [];
    const acked = new Set<string>();

    for (let round = 0; round < ROUNDS; round++) {
      const rt = spawnRuntime(env);
      await rt.ready();
      let killed = false;
      const poster = async () => {
        while (!killed) {
          const fresh = sim.take(50 + Math.floor(random() * 150));
          const again = sent.filter(() => random() < 0.02); // re-sent: duplicates across crashes
          sent.push(...fresh);
          const batch = [...fresh, ...again];
          let answer: { status: number; body: { accepted?: number } };
          try {
            const res = await fetch(`${rt.url}/v1/events`, { method: "POST", body: JSON.stringify(batch) });
            answer = { status: res.status, body: await res.json() };
          } catch {
            continue; // the process died mid-request: not acknowledged
          }
          if (answer.status === 200) {
            assert.equal(answer.body.accepted, batch.length);
            for (const e of batch) acked.add(e.event_id);
          }
        }
      };
      const posters = [poster(), poster()];
      await new Promise((r) => setTimeout(r, 150 + random() * 1200));
      rt.child.kill("SIGKILL");
      killed = true;
      await rt.child.status;
      await Promise.all(posters);
    }
    assert.ok(acked.size > 1000, `only ${acked.size} events acknowledged`);

    // Start once more and let the plugins catch up with whatever the log holds.
    const rt = spawnRuntime(env);
    await rt.ready();
    await waitFor("stats to catch up", async () => {
      const { plugins } = await (await fetch(`${rt.url}/api/plugins`)).json();
      return plugins.length === 1 && plugins[0].status === "running" && plugins[0].lag === 0;
    }, 60_000);
    const overview = await (await fetch(`${rt.url}/api/stats/overview`)).json();
    rt.child.kill("SIGTERM");
    await rt.child.status;

    const store = db.databaseUrl ? await openPostgres(db.databaseUrl) : await openPglite(db.dataDir);
    try {
      await assertOverviewExact(store, acked, overview);
    } finally {
      await store.close();
    }
  },
);
