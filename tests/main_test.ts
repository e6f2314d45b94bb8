import assert from "node:assert/strict";
import { openPglite } from "../runtime/store/mod.ts";
import { pluginsFolder, spawnRuntime, tempDir, waitFor } from "./support/harness.ts";

const INGEST_KEY = "ingest-secret-7f3a";
const API_TOKEN = "read-secret-91cd";
const COOKIE = "cookie-secret-5e21";

Deno.test({
  name: "deno task start: JSON log lines without a secret; SIGTERM finishes the request and batch in flight, exits 0",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await tempDir("rt-main-");
    const rt = spawnRuntime({
      DATA_DIR: dataDir,
      PLUGINS_DIR: await pluginsFolder([{ name: "sleepy" }]),
      LOG_LEVEL: "debug",
      INGEST_KEYS: INGEST_KEY,
      API_TOKENS: API_TOKEN,
    });
    const call = (path: string, token: string, init: RequestInit = {}) =>
      fetch(`${rt.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
    const logged = (msg: string) => waitFor(`'${msg}' in the logs`, () => rt.lines.some((l) => l.includes(msg)));
    try {
      await rt.ready(30_000);
      // The host watches each sandbox's memory (through /proc, which needs the start task's permissions).
      await waitFor("the sandbox's memory on /metrics", async () => {
        const metrics = await (await fetch(`${rt.url}/metrics`)).text();
        return /^plugin_memory_bytes\{plugin="sleepy"\} [1-9]\d{6,}$/m.test(metrics);
      });
      // Requests whose tokens a careless logger could leak: wrong ones, the wrong kind, one in the query.
      const statuses = [];
      for (const [path, token] of [["/v1/events", API_TOKEN], ["/v1/events", `${INGEST_KEY}x`]]) {
        const res = await call(path, token, { method: "POST", body: "{}" });
        statuses.push(res.status);
        await res.body?.cancel();
      }
      const query = await fetch(`${rt.url}/api/plugins?access_token=${INGEST_KEY}`);
      const stream = await fetch(`${rt.url}/api/stream?access_token=${API_TOKEN}`);
      statuses.push(query.status, stream.status);
      await Promise.all([query.body?.cancel(), stream.body?.cancel()]);
      const echo = await call("/api/sleepy/echo", API_TOKEN, { headers: { cookie: COOKIE } });
      statuses.push(echo.status);
      await echo.body?.cancel();
      assert.deepEqual(statuses, [403, 401, 401, 200, 200]);
      await logged('"msg":"request"'); // what the plugin saw of the request, logged

      // A batch in flight (1.5 s) and a request in flight (1 s) when SIGTERM arrives.
      const events = [1, 2, 3, 4, 5].map((i) => ({
        event_id: `s${i}`,
        type: "login",
        user_id: "u",
        timestamp: "2026-01-01T00:00:00Z",
      }));
      const posted = await call("/v1/events", INGEST_KEY, { method: "POST", body: JSON.stringify(events) });
      assert.deepEqual(await posted.json(), { accepted: 5, rejected: [] });
      await logged("batch started");
      const nap = call("/api/sleepy/nap", API_TOKEN);
      await logged("nap started");
      rt.child.kill("SIGTERM");
      const answered = await nap;
      assert.deepEqual([answered.status, await answered.json()], [200, { ok: true }]);
      assert.equal((await rt.child.status).code, 0);
    } finally {
      try {
        rt.child.kill("SIGKILL");
      } catch {
        // exited
      }
      await rt.child.status;
    }
    // Every line is a JSON object with a time, a level and a message; no secret appears in any.
    await waitFor("the last log line", () => rt.lines.some((l) => l.includes('"msg":"stopped"')));
    for (const line of rt.lines) {
      const { time, level, msg } = JSON.parse(line);
      assert.ok(Date.parse(time) > 0 && ["debug", "info", "warn", "error"].includes(level) && msg, line);
      for (const secret of [INGEST_KEY, API_TOKEN, COOKIE]) assert.ok(!line.includes(secret), `${secret} in ${line}`);
    }
    const order = ["shutting down", "stopped"].map((m) => rt.lines.findIndex((l) => l.includes(`"msg":"${m}"`)));
    assert.ok(order[0] >= 0 && order[1] > order[0]);
    // The batch in flight was committed, with its checkpoint, and the store was closed cleanly.
    const store = await openPglite(dataDir);
    try {
      const [{ committed }] = await store.query<{ committed: number }>(
        "select min(committed)::int8 as committed from host.checkpoints where plugin = 'sleepy'",
      );
      assert.equal(committed, 5);
      assert.deepEqual(await store.query("select count(*)::int8 as n from sleepy.seen"), [{ n: 5 }]);
    } finally {
      await store.close();
    }
  },
});

Deno.test("deno task start with an unreachable database exits 1 with one JSON line that names it, without the password", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "start"],
    env: { DATABASE_URL: "postgres://app:hunter2-pw@127.0.0.1:1/analytics", PORT: "18004", SIMULATE: "0" },
    cwd: new URL("../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 1);
  const lines = new TextDecoder().decode(out.stderr).trim().split("\n");
  assert.equal(lines.length, 1, lines.join("\n"));
  const { level, msg, error } = JSON.parse(lines[0]);
  assert.deepEqual([level, msg], ["error", "cannot start"]);
  assert.match(error, /ECONNREFUSED 127\.0\.0\.1:1/);
  assert.ok(!lines[0].includes("hunter2"));
});
