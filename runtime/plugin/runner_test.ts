import assert from "node:assert/strict";
import {
  BACKENDS,
  copyPlugin,
  FIXTURES,
  getJson,
  pluginsFolder,
  postJson,
  startTestRuntime,
  tempDir,
  testEachBackend,
  waitFor,
  waitForCatchUp,
  withRuntime,
} from "../../tests/support/harness.ts";
import type { Runtime } from "../runtime.ts";

const event = (id: string, properties: Record<string, unknown> = {}, timestamp = "2026-03-01T10:00:00Z") => ({
  event_id: id,
  type: "page_view",
  user_id: "u1",
  timestamp,
  properties,
});

testEachBackend(
  "a poison event goes to the plugin's dead letters; its batch-mates commit exactly once",
  async (backend) => {
    const pluginsDir = await pluginsFolder([{ name: "poison" }, { name: "counter" }]);
    await withRuntime(backend, { pluginsDir }, async (rt) => {
      const events = ["e1", "e2", "e3", "e4", "e5"].map((id) => event(id, { poison: id === "e3" }));
      assert.equal((await postJson(rt, "/v1/events", events)).body.accepted, 5);
      await waitFor("poison to get past e3", () => rt.plugins.list().find((p) => p.name === "poison")!.lag === 0);
      // Every failed try rolled back its inserts (a primary key would reject a second insert of e1).
      assert.deepEqual((await getJson(rt, "/api/poison/seen")).body.ids, ["e1", "e2", "e4", "e5"]);
      const letters = (await getJson(rt, "/api/dead-letters?stage=plugin:poison")).body;
      assert.equal(letters.total, 1);
      assert.equal(letters.items[0].payload.event_id, "e3");
      assert.equal(letters.items[0].reason, "plugin poison: cannot digest e3");
      const poison = rt.plugins.list().find((p) => p.name === "poison")!;
      assert.equal(poison.status, "running");
      assert.equal(poison.processed, 4);
      await waitForCatchUp(rt);
      assert.deepEqual((await getJson(rt, "/api/counter/counts")).body.counts, { page_view: 5 });
    });
  },
);

testEachBackend("a plugin dropped in later is migrated, routed and backfilled from the log", async (backend) => {
  const pluginsDir = await pluginsFolder([{ name: "poison" }]);
  const store = await backend.open();
  const first = await startTestRuntime(backend, { pluginsDir, store });
  const events = Array.from(
    { length: 2500 },
    (_, i) => event(`b${i}`, {}, new Date(Date.UTC(2026, 2, 1, 0, i)).toISOString()),
  );
  for (let i = 0; i < events.length; i += 1000) await postJson(first, "/v1/events", events.slice(i, i + 1000));
  await first.plugins.stop();
  assert.equal((await getJson(first, "/api/counter/counts")).status, 404);

  await copyPlugin(new URL("counter/", FIXTURES), `${pluginsDir}/counter`);
  const second = await startTestRuntime(backend, { pluginsDir, store });
  try {
    await waitForCatchUp(second);
    const { body } = await getJson(second, "/api/counter/counts");
    assert.deepEqual(body.counts, { page_view: 2500 });
    assert.equal(body.watermark, events[2499].timestamp);
    const listed = (await getJson(second, "/api/plugins")).body.plugins.map((p: { name: string }) => p.name);
    assert.deepEqual(listed, ["counter", "poison"]);
    assert.deepEqual(
      (await store.query("select plugin, name from host.migrations order by plugin, name")).map((
        r,
      ) => [r.plugin, r.name]),
      [["counter", "001_counts.sql"], ["poison", "001_seen.sql"], ["poison", "002_spins.sql"]],
    );
  } finally {
    await second.stop();
  }
});

Deno.test({
  name: "a batch caught in a sandbox stopped for a runaway request is retried, not counted as failed",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "poison" }]);
    await withRuntime(BACKENDS[0], { pluginsDir }, async (rt) => {
      const spin = getJson(rt, "/api/poison/spin");
      const spinning = async () =>
        (await rt.store.query<{ n: number }>("select count(*)::int as n from poison.spins"))[0];
      await waitFor("the sandbox busy with the runaway request", async () => (await spinning()).n === 1);
      await postJson(rt, "/v1/events", [event("x1"), event("x2")]);
      const { status, body } = await spin;
      assert.equal(status, 502);
      assert.match(body.error, /fetch exceeded the 1500 ms time limit/);
      await waitForCatchUp(rt);
      assert.deepEqual((await getJson(rt, "/api/poison/seen")).body.ids, ["x1", "x2"]);
      const poison = rt.plugins.list()[0];
      assert.deepEqual([poison.status, poison.failed, poison.processed], ["running", 0, 2]);
      assert.equal(rt.metrics.value("plugin_restarts_total", { plugin: "poison" }), 1);
    });
  },
});

Deno.test({
  name: "a plugin resumes from its checkpoint after a restart and never sees an event twice",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await tempDir("rt-data-");
    const pluginsDir = await pluginsFolder([{ name: "poison" }]);
    const run = async (ids: string[]) => {
      const rt = await startTestRuntime(BACKENDS[0], { pluginsDir, dataDir, store: undefined });
      try {
        await postJson(rt, "/v1/events", ids.map((id) => event(id)));
        await waitForCatchUp(rt);
        return (await getJson(rt, "/api/poison/seen")).body.ids;
      } finally {
        await rt.stop();
      }
    };
    assert.deepEqual(await run(["r1", "r2"]), ["r1", "r2"]);
    assert.deepEqual(await run(["r2", "r3"]), ["r1", "r2", "r3"]);
  },
});

testEachBackend("two runtimes on one database split the work and never count an event twice", async (backend) => {
  const pluginsDir = await pluginsFolder([{ name: "counter" }]);
  const store = await backend.open();
  const a = await startTestRuntime(backend, { pluginsDir, store });
  const b = await startTestRuntime(backend, { pluginsDir, store });
  try {
    for (let i = 0; i < 20; i++) {
      const batch = Array.from({ length: 50 }, (_, j) => event(`t${i}-${j}`));
      await postJson(i % 2 ? a : b, "/v1/events", batch);
    }
    await waitFor("both runtimes to see the whole log", async () => {
      const [{ committed }] = await store.query<{ committed: number }>(
        "select min(committed)::int8 as committed from host.checkpoints where plugin = 'counter'",
      );
      return committed === 1000;
    });
    assert.deepEqual((await getJson(a, "/api/counter/counts")).body.counts, { page_view: 1000 });
    assert.deepEqual((await getJson(b, "/api/counter/counts")).body.counts, { page_view: 1000 });
    await waitFor("b's lag to reach 0", () => b.plugins.list()[0].lag === 0 && a.plugins.list()[0].lag === 0);
  } finally {
    await a.stop();
    await b.stop();
    await store.close();
  }
});

Deno.test({
  name: "a plugin that cannot load is listed as failed with its reason, readyz says so, the others serve",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "broken" }, { name: "counter" }]);
    await copyPlugin(new URL("counter/", FIXTURES), `${pluginsDir}/Bad-Name`);
    await withRuntime(BACKENDS[0], { pluginsDir }, async (rt) => {
      const plugins = (await getJson(rt, "/api/plugins")).body.plugins;
      assert.deepEqual(plugins.map((p: { name: string; status: string }) => [p.name, p.status]), [
        ["Bad-Name", "failed"],
        ["broken", "failed"],
        ["counter", "running"],
      ]);
      assert.match(plugins[0].error, /^a plugin name must match/);
      assert.match(
        plugins[1].error,
        /sandbox exited \(code 1\): error: Uncaught \(in promise\) Error: broken on purpose/,
      );
      const ready = await getJson(rt, "/readyz");
      assert.equal(ready.status, 503);
      assert.equal(ready.body.problems.length, 2);
      assert.equal((await getJson(rt, "/api/broken/x")).status, 503);
      assert.equal((await getJson(rt, "/api/counter/counts")).status, 200);
    });
  },
});

Deno.test({
  name: "a plugin's settings come from PLUGIN_<NAME>, validated by its own schema",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "counter" }]);
    await withRuntime(BACKENDS[0], { pluginsDir, pluginSettings: { counter: { label: "tallies" } } }, async (rt) => {
      assert.equal((await getJson(rt, "/api/counter/counts")).body.label, "tallies");
    });
    await withRuntime(BACKENDS[0], { pluginsDir, pluginSettings: { counter: { label: "" } } }, (rt) => {
      const [counter] = rt.plugins.list();
      assert.equal(counter.status, "failed");
      assert.match(counter.error!, /plugin counter: invalid settings: label: /);
      return Promise.resolve();
    });
  },
});

Deno.test({
  name: "scheduled work runs on its period with the watermark; a failed run is logged and the next one runs",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "ticker" }]);
    await withRuntime(BACKENDS[0], { pluginsDir }, async (rt) => {
      await postJson(rt, "/v1/events", [event("e1", {}, "2026-03-01T10:00:00Z")]);
      const ticks = await waitFor("two ticks", async () => {
        const { body } = await getJson(rt, "/api/ticker/ticks");
        return body.ticks.length >= 2 ? body.ticks : null;
      });
      assert.equal(ticks[0].watermark, "2026-03-01T10:00:00.000Z");
      assert.equal(rt.plugins.list()[0].status, "running");
      const metrics = await (await rt.app.request("/metrics")).text();
      assert.match(metrics, /plugin_scheduled_failures_total\{plugin="ticker"\} 1\n/);
    });
  },
});

Deno.test({
  name: "a plugin's SQL parameter holding NaN is refused with a message, not sent as null",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withRuntime(BACKENDS[0], { pluginsDir: await pluginsFolder([{ name: "counter" }]) }, async (rt) => {
      assert.deepEqual((await getJson(rt, "/api/counter/nan")).body, {
        error: "SQL parameter $1 holds NaN or an infinity",
      });
    });
  },
});

Deno.test("a plugin far under its quota has its storage measured every few seconds, not after each batch", async () => {
  const pluginsDir = await pluginsFolder([{ name: "counter" }]);
  const inner = await BACKENDS[0].open();
  let measures = 0;
  const counted = (text: string) => void (text.includes("pg_total_relation_size") && measures++);
  const store = {
    ...inner,
    query: <T extends Record<string, unknown>>(text: string, params?: unknown[], opts?: { timeoutMs?: number }) => (
      counted(text), inner.query<T>(text, params, opts)
    ),
  };
  const rt = await startTestRuntime(BACKENDS[0], { pluginsDir, store });
  try {
    await waitForCatchUp(rt);
    const before = measures;
    // Ten batches, one after the other, within a second or two.
    for (let i = 0; i < 10; i++) {
      await postJson(rt, "/v1/events", [event(`m${i}`)]);
      await waitForCatchUp(rt);
    }
    assert.deepEqual((await getJson(rt, "/api/counter/counts")).body.counts, { page_view: 10 });
    assert.ok(measures - before <= 1, `${measures - before} measurements for 10 batches`);
  } finally {
    await rt.stop();
    await inner.close();
  }
});

/** The batches `plugin` committed so far (the count of its batch-time histogram). */
const batchesOf = (rt: Runtime, plugin: string) => rt.metrics.value("plugin_batch_seconds", { plugin });

Deno.test("a runner keeping up with a trickle gathers it for the batch wait; an event after a quiet spell waits not", async () => {
  const pluginsDir = await pluginsFolder([{ name: "counter" }]);
  await withRuntime(BACKENDS[0], { pluginsDir, batchWaitMs: 3000 }, async (rt) => {
    const before = batchesOf(rt, "counter");
    const taken = async (ids: string[]) => {
      const started = performance.now();
      await postJson(rt, "/v1/events", ids.map((id) => event(id)));
      await waitForCatchUp(rt);
      return performance.now() - started;
    };
    const first = await taken(["t0"]);
    assert.ok(first < 1500, `the first event took ${Math.round(first)} ms`);
    // Ten more, 200 ms apart, within the wait that follows the first batch: one batch, once that wait is over (not a
    // wait from the last of them).
    const started = performance.now();
    for (let i = 1; i <= 10; i++) {
      await postJson(rt, "/v1/events", [event(`t${i}`)]);
      await new Promise((r) => setTimeout(r, 200));
    }
    await waitForCatchUp(rt);
    const gathered = performance.now() - started;
    // The wait runs from when the first batch was taken, at most `first` before the trickle started.
    assert.ok(gathered > 2900 - first && gathered < 4500, `the trickle was committed after ${Math.round(gathered)} ms`);
    assert.equal(batchesOf(rt, "counter") - before, 2);
    // After a quiet spell longer than the wait, an event is taken at once again.
    await new Promise((r) => setTimeout(r, 3100));
    const after = await taken(["t11"]);
    assert.ok(after < 1500, `the event after a quiet spell took ${Math.round(after)} ms`);
    assert.deepEqual((await getJson(rt, "/api/counter/counts")).body.counts, { page_view: 12 });
    assert.equal(batchesOf(rt, "counter") - before, 3);
  });
});

Deno.test("a runner takes full batches without waiting: a backlog is not slowed by the batch wait", async () => {
  const pluginsDir = await pluginsFolder([{ name: "slow" }]); // 10 events per batch
  await withRuntime(BACKENDS[0], { pluginsDir, batchWaitMs: 5000 }, async (rt) => {
    await postJson(rt, "/v1/events", [event("f0")]);
    await waitForCatchUp(rt);
    const started = performance.now();
    await postJson(rt, "/v1/events", Array.from({ length: 40 }, (_, i) => event(`f${i + 1}`)));
    await waitForCatchUp(rt);
    const took = performance.now() - started;
    // Four full batches back to back; waiting between them would take 20 s.
    assert.ok(took < 4000, `40 events in full batches took ${Math.round(took)} ms`);
    assert.equal(batchesOf(rt, "slow"), 5);
  });
});
