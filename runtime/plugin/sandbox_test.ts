import assert from "node:assert/strict";
import { createLogger } from "../observability/logger.ts";
import {
  BACKENDS,
  getJson,
  pluginsFolder,
  postJson,
  REPO,
  testEachBackend,
  waitFor,
  waitForCatchUp,
  withRuntime,
} from "../../tests/support/harness.ts";

const DENIED = /^Requires (read|write|env|net|run|ffi|import) access/;
const REFUSED_BY_POSTGRES = /^permission denied for (schema|language)/;
const REFUSED_BY_GUARD = /^plugins may not (run|use)/;

/** Each attempt of the attacker fixture and who must stop it. */
const ATTEMPTS: Record<string, RegExp> = {
  read: DENIED,
  read_runtime: DENIED,
  write: DENIED,
  env: DENIED,
  env_node: DENIED,
  env_proc: /^Requires (all|read) access/,
  net: DENIED,
  listen: DENIED,
  run: DENIED,
  run_path: /^Failed to spawn 'true': entity not found/, // an empty environment: not even PATH
  ffi: DENIED,
  import: DENIED,
  import_file: DENIED,
  import_npm: /--cached-only is specified/,
  host_table: REFUSED_BY_POSTGRES,
  other_schema: REFUSED_BY_POSTGRES,
  plpgsql: REFUSED_BY_GUARD,
  escaped_body: REFUSED_BY_GUARD,
  do_block: REFUSED_BY_GUARD,
  reset_role: REFUSED_BY_GUARD,
  set_role: REFUSED_BY_GUARD,
  role_in_function: REFUSED_BY_GUARD,
  commit: REFUSED_BY_GUARD,
  set_config: REFUSED_BY_GUARD,
};

const LOCKFILE = new URL("deno.lock", REPO);

testEachBackend("sandbox denies a plugin files, env, network, processes, FFI and foreign SQL", async (backend) => {
  const pluginsDir = await pluginsFolder([{ name: "attacker" }, { name: "counter" }]);
  const lockfile = await Deno.readTextFile(LOCKFILE);
  await withRuntime(backend, { pluginsDir }, async (rt) => {
    for (const [what, reason] of Object.entries(ATTEMPTS)) {
      const { status, body } = await getJson(rt, `/api/attacker/try/${what}`);
      assert.equal(status, 200, what);
      assert.equal(body.denied, true, `${what} was allowed`);
      assert.match(body.error, reason, what);
    }
    // Answers without a body, and a flood on the wire that must not exhaust the host.
    for (const code of [204, 304]) {
      assert.equal((await rt.app.request(`/api/attacker/status/${code}`)).status, code);
    }
    const flood = await getJson(rt, "/api/attacker/flood");
    assert.equal(flood.status, 502);
    assert.match(flood.body.error, /plugin attacker: sandbox broke the protocol: message over 16777216 characters/);
    // The plugin still works on its own schema, and the neighbour is unharmed.
    assert.deepEqual((await getJson(rt, "/api/attacker/mine")).body, { n: 0 });
    const posted = await postJson(rt, "/v1/events", {
      event_id: "a1",
      type: "login",
      user_id: "u",
      timestamp: "2026-01-01T00:00:00Z",
    });
    assert.equal(posted.body.accepted, 1);
    await waitForCatchUp(rt);
    assert.deepEqual((await getJson(rt, "/api/counter/counts")).body.counts, { login: 1 });
    assert.equal(rt.plugins.list().find((p) => p.name === "attacker")?.status, "running");
  });
  await assert.rejects(Deno.stat("/tmp/attacker-was-here"), Deno.errors.NotFound);
  assert.equal(await Deno.readTextFile(LOCKFILE), lockfile); // the npm import() left deno.lock alone
});

Deno.test({
  name: "sandbox output cannot flood the host: oversized answers, stderr floods, endless counters, huge log fields",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "attacker" }]);
    const lines: string[] = [];
    const logger = createLogger("info", {}, (line) => lines.push(line));
    await withRuntime(BACKENDS[0], { pluginsDir, logger }, async (rt) => {
      // The host's growth while the attacker floods it, not the test process's size (earlier tests' share of it).
      const rssBefore = Deno.memoryUsage().rss;
      const dropped = () => rt.metrics.value("plugin_log_lines_dropped_total", { plugin: "attacker" });
      // A log line's fields are cut to 2000 characters of JSON.
      assert.equal((await getJson(rt, "/api/attacker/log-fields")).status, 200);
      const big = (await waitFor("the big line", () => lines.find((l) => l.includes('"msg":"big fields"'))))!;
      assert.ok(big.length < 2500, `a ${big.length}-character line`);
      // A plugin has at most 100 counters, with well-formed names.
      assert.equal((await getJson(rt, "/api/attacker/metric-flood")).status, 200);
      const series = (await (await rt.app.request("/metrics")).text()).match(
        /^plugin_custom_total\{plugin="attacker"/gm,
      );
      assert.equal(series?.length, 100);
      assert.equal(rt.metrics.value("plugin_custom_dropped_total", { plugin: "attacker" }), 901);
      // 100,000 lines on stderr: about 100 a second are logged, the rest counted and dropped.
      assert.equal((await getJson(rt, "/api/attacker/stderr-flood")).status, 200);
      const flood = () => lines.filter((l) => l.includes('"msg":"flood line"')).length;
      await waitFor("every flood line logged or dropped", () => flood() + dropped() >= 100_000);
      assert.ok(flood() <= 300, `${flood()} flood lines logged`);
      // An answer past the wire's 16 MiB limit stops the sandbox; the plugin comes back.
      const huge = await getJson(rt, "/api/attacker/huge-response");
      assert.equal(huge.status, 502);
      assert.match(huge.body.error, /^plugin attacker: sandbox (broke the protocol|exited)/);
      assert.deepEqual((await getJson(rt, "/api/attacker/mine")).body, { n: 0 });
      const grown = Deno.memoryUsage().rss - rssBefore;
      assert.ok(grown < 512 * 1024 ** 2, `the host grew by ${Math.round(grown / 1024 ** 2)} MiB`);
    });
  },
});

Deno.test({
  name: "modules a plugin makes up at run time (data: URLs) leave nothing in Deno's disk cache",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" }).output();
    const emitted = `${JSON.parse(new TextDecoder().decode(info.stdout)).denoDir}/gen/data`;
    const marker = `probe-${crypto.randomUUID()}`;
    const pluginsDir = await pluginsFolder([{ name: "attacker" }]);
    const started = Date.now();
    await withRuntime(BACKENDS[0], { pluginsDir }, async (rt) => {
      assert.deepEqual((await getJson(rt, `/api/attacker/cache-flood/${marker}`)).body, { modules: 20 });
    });
    const written: string[] = [];
    await Deno.mkdir(emitted, { recursive: true });
    for await (const f of Deno.readDir(emitted)) {
      const path = `${emitted}/${f.name}`;
      if ((await Deno.stat(path)).mtime!.getTime() < started - 1000) continue;
      if ((await Deno.readTextFile(path)).includes(marker)) written.push(f.name);
    }
    assert.deepEqual(written, []);
  },
});

Deno.test({
  name: "sandbox stops an infinite loop within the plugin's time limit and restarts it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "looper" }, { name: "counter" }]);
    await withRuntime(BACKENDS[0], { pluginsDir }, async (rt) => {
      const started = Date.now();
      const { status, body } = await getJson(rt, "/api/looper/spin");
      const elapsed = Date.now() - started;
      assert.equal(status, 502);
      assert.match(body.error, /plugin looper: fetch exceeded the 1000 ms time limit/);
      assert.ok(elapsed < 5000, `stopped after ${elapsed} ms`);
      assert.deepEqual((await getJson(rt, "/api/looper/ok")).body, { ok: true }); // restarted
      assert.equal((await getJson(rt, "/api/counter/counts")).status, 200);
    });
  },
});

Deno.test({
  name: "sandbox contains a memory bomb: the plugin dies, the host lives, the plugin restarts",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "bomb" }, { name: "counter" }]);
    await withRuntime(BACKENDS[0], { pluginsDir }, async (rt) => {
      const { status, body } = await getJson(rt, "/api/bomb/explode");
      assert.equal(status, 502);
      assert.match(body.error, /plugin bomb: sandbox exited/);
      assert.deepEqual((await getJson(rt, "/api/bomb/ok")).body, { ok: true });
      assert.equal((await getJson(rt, "/api/counter/counts")).status, 200);
      assert.equal(rt.metrics.value("plugin_restarts_total", { plugin: "bomb" }), 1);
    });
  },
});

Deno.test({
  name: "sandbox contains an ArrayBuffer bomb (memory outside the V8 heap): stopped at its memory limit, restarted",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "bomb" }, { name: "counter" }]);
    await withRuntime(BACKENDS[0], { pluginsDir }, async (rt) => {
      const host = Deno.memoryUsage().rss;
      // memoryMb 64: the process may hold 2 × 64 + 128 MiB; the plugin tries for 2 GiB.
      const { status, body } = await getJson(rt, "/api/bomb/buffers");
      assert.equal(status, 502);
      assert.match(body.error, /^plugin bomb: sandbox used \d+ MiB of memory, over its limit of 256 MiB$/);
      assert.ok(Deno.memoryUsage().rss - host < 256 * 1024 ** 2, "the host's own memory stayed put");
      assert.deepEqual((await getJson(rt, "/api/bomb/ok")).body, { ok: true });
      assert.equal(rt.metrics.value("plugin_restarts_total", { plugin: "bomb" }), 1);
      const memory = await waitFor(
        "a memory reading",
        () => rt.metrics.value("plugin_memory_bytes", { plugin: "bomb" }),
      );
      assert.ok(memory > 10 * 1024 ** 2 && memory < 256 * 1024 ** 2, `${memory} bytes`);
      assert.ok(rt.metrics.value("plugin_cpu_seconds_total", { plugin: "bomb" }) > 0);
      assert.equal((await getJson(rt, "/api/counter/counts")).status, 200);
    });
  },
});

Deno.test({
  name: "a plugin that keeps crashing is restarted with backoff, shows degraded, then disabled; others keep going",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "crasher" }, { name: "counter" }]);
    await withRuntime(BACKENDS[0], { pluginsDir, retry: { disableAfter: 2, backoffMs: 20 } }, async (rt) => {
      const seen = new Set<string>();
      const status = () => rt.plugins.list().find((p) => p.name === "crasher")!.status;
      const events = [1, 2, 3].map((i) => ({
        event_id: `c${i}`,
        type: "login",
        user_id: "u",
        timestamp: "2026-01-01T00:00:00Z",
      }));
      assert.equal((await postJson(rt, "/v1/events", events)).body.accepted, 3);
      await waitFor("crasher disabled", () => {
        seen.add(status());
        return status() === "disabled";
      });
      assert.ok(seen.has("degraded"), `statuses seen: ${[...seen]}`);
      const listed = (await getJson(rt, "/api/plugins")).body.plugins.find((p: { name: string }) =>
        p.name === "crasher"
      );
      assert.equal(listed.status, "disabled");
      // 3 tries of the batch, then 3 of each event alone: two events dead-lettered in a row disable it.
      assert.equal(listed.failed, 9);
      assert.equal(listed.lag, 1); // the rest stays in the log: a restarted plugin resumes there
      const letters = (await getJson(rt, "/api/dead-letters?stage=plugin:crasher")).body;
      assert.deepEqual(letters.items.map((i: { payload: { event_id: string } }) => i.payload.event_id), ["c2", "c1"]);
      assert.match(listed.error, /sandbox exited \(code 3\)/);
      assert.ok(rt.metrics.value("plugin_restarts_total", { plugin: "crasher" }) >= 3);
      assert.equal((await getJson(rt, "/api/crasher/")).status, 503);
      await waitForCatchUp(rt);
      assert.deepEqual((await getJson(rt, "/api/counter/counts")).body.counts, { login: 3 });
    });
  },
});

Deno.test({
  name: "[postgres] a plugin's runaway SQL statement is cancelled at its time limit",
  ignore: !BACKENDS[1].enabled,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "looper" }]);
    await withRuntime(BACKENDS[1], { pluginsDir }, async (rt) => {
      const started = Date.now();
      const { status } = await getJson(rt, "/api/looper/sleep");
      assert.ok(status === 502 || status === 500, `status ${status}`);
      // Cancelled by statement_timeout (1 s), not left running for its 5 s.
      await waitFor("pg_sleep to be cancelled", async () => {
        const rows = await rt.store.query(
          "select 1 from pg_stat_activity where query like '%pg_sleep(5)%' and pid <> pg_backend_pid()",
        );
        return rows.length === 0;
      }, 4000);
      assert.ok(Date.now() - started < 4000);
    });
  },
});
