/**
 * What a plugin's notices may take, end to end: a plugin flooding notices (`tests/fixtures/plugins/flooder`, with a
 * 2 MiB storage quota) is refused past the host's budget per minute and past its quota, whose count includes its
 * stored notices, while the host serves and other plugins' notices commit; a scheduled run's notices commit together.
 */
import assert from "node:assert/strict";
import { NOTICE_BUDGET_BYTES, NOTICE_RETENTION_MS, pruneNotices } from "../runtime/notices/mod.ts";
import { createLogger } from "../runtime/observability/logger.ts";
import type { Runtime } from "../runtime/runtime.ts";
import {
  getJson,
  type Json,
  pageView,
  pluginsFolder,
  postJson,
  testEachBackend,
  waitFor,
  withRuntime,
} from "./support/harness.ts";

/** A logger keeping the lines of warnings and errors, parsed. */
function keptLogs(): { logger: ReturnType<typeof createLogger>; lines: Json[] } {
  const lines: Json[] = [];
  return { logger: createLogger("warn", {}, (line) => lines.push(JSON.parse(line))), lines };
}

const flooder = (rt: Runtime) => rt.plugins.list().find((p) => p.name === "flooder")!;

async function noticesOf(rt: Runtime, plugin: string): Promise<number> {
  const [{ n }] = await rt.store.query<{ n: number }>(
    "select count(*)::int as n from host.notices where plugin = $1",
    [plugin],
  );
  return n;
}

testEachBackend(
  "a scheduled run flooding 1,000 notices of 15 KB is refused whole; nothing is stored, the host serves, others' notices commit",
  async (backend) => {
    const { logger, lines } = keptLogs();
    const pluginsDir = await pluginsFolder([{ name: "flooder" }, { name: "notifier" }]);
    const pluginSettings = { flooder: { perRun: 1000, bytes: 15_000 } };
    await withRuntime(backend, { pluginsDir, pluginSettings, logger }, async (rt) => {
      const failures = () => rt.metrics.value("plugin_scheduled_failures_total", { plugin: "flooder" });
      await waitFor("two refused runs", () => failures() >= 2);
      const refused = lines.filter((l) => l.plugin === "flooder" && l.msg === "scheduled work failed");
      assert.equal(
        refused[0].error,
        `plugin flooder: notify: over ${NOTICE_BUDGET_BYTES} bytes of notices in one call, the plugin's notice budget per minute`,
      );
      assert.equal(await noticesOf(rt, "flooder"), 0);
      assert.equal(flooder(rt).storage_bytes, 0);
      assert.equal((await getJson(rt, "/healthz")).status, 200);
      await postJson(rt, "/v1/events", [pageView("n1", { properties: { notify: "ok" } })]);
      await waitFor("the notifier's notice", async () => await noticesOf(rt, "notifier") === 1);
    });
  },
);

testEachBackend(
  "a plugin's stored notices count against its quota: past it they are refused until old ones are deleted; a run's notices commit together",
  async (backend) => {
    const { logger, lines } = keptLogs();
    const pluginsDir = await pluginsFolder([{ name: "flooder" }]);
    // 1.1 MB a run: three runs in a minute are under the budget.
    const pluginSettings = { flooder: { perRun: 75, bytes: 15_000 } };
    await withRuntime(backend, { pluginsDir, pluginSettings, logger }, async (rt) => {
      // The first run is under the 2 MiB quota, the second takes it over (as a write may), the third is refused.
      await waitFor("the plugin over its quota", () => flooder(rt).status === "degraded");
      assert.match(
        flooder(rt).error!,
        /^storage quota exceeded: 2\.\d MiB used of 2\.0 MiB, 2\.\d MiB of it notices; its writes and notices are refused until it is under$/,
      );
      await waitFor("a refused run", () => lines.some((l) => l.msg === "scheduled work failed"));
      const refused = lines.find((l) => l.msg === "scheduled work failed");
      assert.match(
        refused.error,
        /^plugin flooder: notify: over its storage quota: 2\.\d MiB used of 2\.0 MiB, 2\.\d MiB of it notices; its notices are refused until it is under$/,
      );
      const runs = await rt.store.query<{ run: string; n: number; transactions: number }>(
        `select payload->>'run' as run, count(*)::int as n, count(distinct xmin::text)::int as transactions
         from host.notices where plugin = 'flooder' group by 1 order by 1`,
      );
      assert.deepEqual(runs, [{ run: "1", n: 75, transactions: 1 }, { run: "2", n: 75, transactions: 1 }]);
      assert.ok(flooder(rt).storage_bytes > 2 * 1024 * 1024, `${flooder(rt).storage_bytes} bytes`);

      // Retention deletes them (as it would a week later): the plugin is under again, and notifies again.
      await rt.store.exec("update host.notices set created_at = now() - interval '8 days'");
      assert.equal(await pruneNotices(rt.store, NOTICE_RETENTION_MS), 150);
      await waitFor("the plugin under its quota", () => flooder(rt).status === "running" && flooder(rt).error === null);
      await waitFor("a later run's notices", async () => await noticesOf(rt, "flooder") === 75);
    });
  },
);

testEachBackend(
  "a batch whose notices are over the plugin's budget waits for the next minute: neither failed nor dead-lettered",
  async (backend) => {
    const pluginsDir = await pluginsFolder([{ name: "flooder" }]);
    await withRuntime(backend, { pluginsDir }, async (rt) => {
      // This minute's budget spent; the next one begins in about 3 s.
      await rt.store.query(
        `insert into host.notice_usage (plugin, window_start, window_bytes) values ('flooder', now() - interval '57 s', $1)
         on conflict (plugin) do update set window_start = excluded.window_start, window_bytes = excluded.window_bytes`,
        [NOTICE_BUDGET_BYTES],
      );
      const started = performance.now();
      await postJson(rt, "/v1/events", [pageView("b1")]);
      await waitFor("the batch waiting", () => flooder(rt).status === "degraded");
      assert.match(
        flooder(rt).error!,
        /^plugin flooder: notify: over its notice budget of 4\.0 MiB per minute: 4194304 bytes stored this minute, 17 more refused; the budget renews in [1-3] s$/,
      );
      assert.equal((await getJson(rt, "/healthz")).status, 200);
      await waitFor("the batch committed", () => flooder(rt).lag === 0);
      assert.ok(performance.now() - started > 1000, "not before the next minute");
      const [notice] = await rt.store.query("select channel, payload from host.notices where plugin = 'flooder'");
      assert.deepEqual(notice, { channel: "seen", payload: { event_id: "b1" } });
      assert.deepEqual([flooder(rt).status, flooder(rt).failed, flooder(rt).processed], ["running", 0, 1]);
      assert.equal((await getJson(rt, "/api/dead-letters?stage=plugin:flooder")).body.total, 0);
    });
  },
);
