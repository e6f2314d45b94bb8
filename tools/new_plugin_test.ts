import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { BACKENDS, getJson, postJson, REPO, waitForCatchUp, withRuntime } from "../tests/support/harness.ts";

const ROOT = fileURLToPath(REPO);
const SCRIPT = fileURLToPath(new URL("./new_plugin.ts", import.meta.url));

/** Runs the scaffolder as `deno task new-plugin` would, and answers its exit code and output. */
async function newPlugin(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", SCRIPT, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

// Runtimes and subprocesses outlive single ops by design; each test stops what it started.
const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });

test("new-plugin scaffolds a plugin that passes its own test untouched, loads, serves and describes its route and panel", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rt-new-plugin-" });
  try {
    const made = await newPlugin("searches", "--dir", dir);
    assert.equal(made.code, 0, made.stderr);
    const files = ["README.md", "migrations/001_init.sql", "mod.ts", "searches_test.ts"];
    for (const f of files) assert.ok((await Deno.stat(`${dir}/searches/${f}`)).isFile, f);

    const tested = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--allow-all", "--config", `${ROOT}deno.json`, `${dir}/searches/searches_test.ts`],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(tested.stdout) + new TextDecoder().decode(tested.stderr);
    assert.equal(tested.code, 0, output);
    assert.match(output, /1 passed \| 0 failed/);
    const fmt = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--check", "--config", `${ROOT}deno.json`, `${dir}/searches`],
      stderr: "piped",
    }).output();
    assert.equal(fmt.code, 0, new TextDecoder().decode(fmt.stderr));

    await withRuntime(BACKENDS[0], { pluginsDir: dir }, async (rt) => {
      const event = { event_id: "e1", type: "search", user_id: "u1", timestamp: "2026-03-01T10:00:00Z" };
      assert.deepEqual((await postJson(rt, "/v1/events", [event])).body, { accepted: 1, rejected: [] });
      await waitForCatchUp(rt);
      const [plugin] = (await getJson(rt, "/api/plugins")).body.plugins;
      assert.deepEqual(
        [plugin.name, plugin.version, plugin.status, plugin.processed, plugin.panels],
        ["searches", "0.1.0", "running", 1, [{ title: "Events per type", route: "/counts", kind: "table" }]],
      );
      assert.deepEqual(await getJson(rt, "/api/searches/counts"), {
        status: 200,
        body: { counts: [{ type: "search", events: 1 }] },
      });
      const counts = (await getJson(rt, "/api/openapi.json")).body.paths["/api/searches/counts"]?.get;
      assert.equal(counts?.summary, "Events seen per type, most first");
      assert.deepEqual(counts.tags, ["searches"]);
      assert.deepEqual(Object.keys(counts.responses["200"].content["application/json"].schema.properties), ["counts"]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("new-plugin refuses a bad name and an existing folder with one line and exit code 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rt-new-plugin-" });
  try {
    for (const name of ["Searches", "9lives", "a-b", "x".repeat(32)]) {
      const refused = await newPlugin(name, "--dir", dir);
      assert.equal(refused.code, 1, name);
      assert.equal(
        refused.stderr,
        `Cannot create plugin: a plugin name must match ^[a-z][a-z0-9_]{0,30}$, got '${name}'\n`,
      );
    }
    for (
      const [name, why] of [
        ["select", "it is an SQL keyword"],
        ["pg_stats", "names starting with pg_ belong to PostgreSQL"],
        ["public", "the database or the host already uses it"],
      ]
    ) {
      const refused = await newPlugin(name, "--dir", dir);
      assert.deepEqual([refused.code, refused.stderr], [1, `Cannot create plugin: '${name}' is reserved: ${why}\n`]);
    }
    assert.deepEqual([...Deno.readDirSync(dir)], []);

    await Deno.mkdir(`${dir}/taken`);
    const taken = await newPlugin("taken", "--dir", dir);
    assert.deepEqual([taken.code, taken.stderr], [1, `Cannot create plugin: ${dir}/taken already exists\n`]);
    assert.deepEqual([...Deno.readDirSync(`${dir}/taken`)], []);

    const shipped = await newPlugin("churn"); // the default folder: ./plugins, where churn ships
    assert.deepEqual([shipped.code, shipped.stderr], [
      1,
      `Cannot create plugin: ${ROOT}plugins/churn already exists\n`,
    ]);

    const usage = await newPlugin("--dir", dir);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /^expected one plugin name, got 0; usage: deno task new-plugin <name>/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
