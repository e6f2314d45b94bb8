/**
 * The red team: a hostile plugin (`tests/fixtures/plugins/intruder`) tries each known way out of its sandbox, with
 * variants, next to a victim plugin (`counter`). Each test shows the attack refused and the victim's data, the
 * host's log and its ingest intact. The database tests run with the SQL text guard off, so what refuses them is the
 * database's wall (`scope.ts`, `store/hardening.ts`), on PGlite and on a PostgreSQL server with the host connected
 * as a superuser and as a least-privileged user (LOGIN, CREATEROLE).
 */
import assert from "node:assert/strict";
import { createLogger } from "../observability/logger.ts";
import type { Runtime } from "../runtime.ts";
import {
  type Backend,
  BACKENDS,
  copyPlugin,
  FIXTURES,
  getJson,
  LEAST_PRIVILEGE,
  pluginsFolder,
  postJson,
  startTestRuntime,
  tempDir,
  waitFor,
  waitForCatchUp,
  withRuntime,
} from "../../tests/support/harness.ts";

const ATTACK_BACKENDS: Backend[] = [...BACKENDS, LEAST_PRIVILEGE];

/** What the intruder is after, tried after each attack: every one must fail. */
const PROBES = [
  "select count(*) from host.events",
  "update host.checkpoints set committed = 0",
  "select * from counter.counts",
  "insert into counter.counts (type, n) values ('forged', 1)",
];

interface Attack {
  steps: (string | { text: string; params: unknown[] })[];
  /** What refuses it, when it must be refused (some statements are harmless and pass, such as `begin`). */
  refused?: RegExp;
}

const WALL = /may not change|permission denied|must be|must have admin option|not allowed|cannot/;

/** The classes of escape, each with its variants; `user` is the host's database user. */
function attacks(user: string, backend: Backend): Record<string, Attack[]> {
  return {
    "several statements in one call": [
      "select 1; commit; select count(*) from host.events",
      "select 1;\ncommit",
      "select 1/**/;/**/reset role",
      "select 1; copy (select 1) to program 'touch /tmp/redteam-pwned'",
      "-- a comment\rcommit; reset role",
    ].map((text): Attack => ({ steps: [text], refused: /cannot insert multiple commands into a prepared statement/ }))
      .concat([{
        steps: [{ text: "select $1::int; reset role", params: [1] }],
        refused: /cannot insert multiple commands/,
      }]),
    "transaction control": [
      ...["commit", "rollback", "abort", "end", "COMMIT AND CHAIN"].map((text) => ({
        steps: [text],
        refused: /may not change the host's transaction/,
      })),
      { steps: ["begin"] },
      { steps: ["savepoint s", "rollback to savepoint s"] },
      { steps: ["prepare transaction 'redteam'"], refused: /prepared transactions are disabled|may not change/ },
    ],
    "role changes, however spelled": [
      "reset role",
      `set role ${user}`,
      `set local role ${user}`,
      "set role none",
      `set session authorization ${user}`,
      `set "role" = '${user}'`,
      `set U&"\\0072ole" to ${user}`,
      "reset -- a comment ended by a carriage return\r role",
      "/* nested /* comment */ */ reset role",
      "RESET\tROLE",
      "reset/**/role",
      "set role = default",
      `set role '${user}'`,
      `set role E'${user}'`,
    ].map((text): Attack => ({ steps: [text], refused: WALL })).concat([
      `select pg_catalog.set_config('role', '${user}', false)`,
      `select '--', pg_catalog.set_config('role', '${user}', false)`,
      `update pg_catalog.pg_settings set setting = '${user}' where name = 'role'`,
      `select pg_catalog.query_to_xml('select pg_catalog.set_config(''role'', ''${user}'', true)', true, false, '')`,
    ].map((text) => ({ steps: [text], refused: /permission denied for function set_config/ }))),
    "settings of the session": [
      ...[
        "set search_path = pg_temp, public",
        "set local search_path = counter",
        "set statement_timeout = 0",
        "set transaction_read_only = on",
      ].map((text) => ({ steps: [text], refused: /may not change/ })),
      {
        steps: [
          "set datestyle = 'SQL, DMY'",
          "set timezone = 'Pacific/Kiritimati'",
          "set extra_float_digits = -15",
          "set session characteristics as transaction read only",
        ],
      },
      { steps: ["declare c cursor with hold for select * from notes", "listen redteam"] },
    ],
    // On a server the host's connection would wait on rows that never come. PGlite answers a COPY to the client
    // with no rows, and one from it holds the database's thread: the on-disk test below stops that one.
    "copy with the client": backend.name === "pglite"
      ? ["copy notes to stdout", "copy (select 1) to stdout with (format binary)"].map((text) => ({ steps: [text] }))
      : [
        "copy notes from stdin",
        "copy notes (id) from stdin with (format csv)",
        "copy notes to stdout",
        "copy (select 1) to stdout with (format binary)",
      ].map((text): Attack => ({ steps: [text], refused: /COPY with the client is not supported/ })),
    "temporary objects": [
      "create temp table counts (type text, n int8)",
      "create temporary table pg_roles (rolname text)",
      "create table pg_temp.events (x int)",
    ].map((text) => ({ steps: [text], refused: /temporary/ })),
    "a result too large for the wire": [{
      steps: ["select pg_catalog.repeat('x', 1000000) from pg_catalog.generate_series(1, 20)"],
      refused: /^the result is over 16 MiB of JSON: page it/,
    }],
    "functions and commands that reach past the schema": [
      "select pg_catalog.pg_advisory_lock(727001)",
      "select pg_catalog.pg_try_advisory_lock(727001)",
      "select pg_catalog.pg_advisory_xact_lock(727001)",
      "select pg_catalog.pg_advisory_lock_shared(727001)",
      "select pg_catalog.pg_sleep(5)",
      "select pg_catalog.pg_sleep_for('5 seconds')",
      "select pg_catalog.lo_create(0)",
      "select pg_catalog.lo_from_bytea(0, '\\x00')",
      "select pg_catalog.lo_import('/etc/hostname')",
      "select pg_catalog.pg_terminate_backend(pg_catalog.pg_backend_pid())",
      "select pg_catalog.pg_cancel_backend(pg_catalog.pg_backend_pid())",
      "select pg_catalog.pg_read_file('/etc/hostname')",
      "select pg_catalog.pg_ls_dir('.')",
      "select pg_catalog.pg_notify('redteam', 'x')",
      "select pg_catalog.pg_logical_emit_message(false, 'redteam', 'x')",
      "create function f() returns int language sql as 'select 1'",
      "create function g() returns int language plpgsql as 'begin return 1; end'",
      "do $$ begin perform 1; end $$",
      "copy (select 1) to program 'touch /tmp/redteam-pwned'",
      "copy notes to '/tmp/redteam-out'",
      "alter role current_user superuser",
      "grant pg_execute_server_program to current_user",
      `alter schema intruder owner to ${user}`,
      "create schema evil",
    ].map((text): Attack => ({ steps: [text], refused: WALL })).concat([
      { steps: ["create extension dblink"], refused: /permission denied|is not available|could not open/ },
    ]),
  };
}

/** Runs statements through the intruder's route; answers what each did. */
async function run(rt: Runtime, steps: Attack["steps"]): Promise<{ ok: boolean; error?: string }[]> {
  const { status, body } = await postJson(rt, "/api/intruder/run", { statements: steps });
  assert.equal(status, 200, JSON.stringify(body));
  return body.results;
}

/** Posts `events` and fails if the log does not take them within 10 s (a stalled ingest), then waits for plugins. */
async function ingest(rt: Runtime, events: unknown[]): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("ingest stalled for 10 s")), 10_000);
  });
  try {
    const { body } = await Promise.race([postJson(rt, "/v1/events", events), stalled]);
    assert.deepEqual(body, { accepted: events.length, rejected: [] });
  } finally {
    clearTimeout(timer);
  }
  await waitForCatchUp(rt);
}

let serial = 0;
function views(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, () => ({
    event_id: `v${++serial}`,
    type: "page_view",
    user_id: "u1",
    timestamp: `2026-03-01T10:00:${String(serial % 60).padStart(2, "0")}Z`,
  }));
}

/** The victim's counts, the host's log and ingest: what no attack may change. */
async function assertIntact(rt: Runtime, what: string): Promise<void> {
  const before = (await getJson(rt, "/api/counter/counts")).body.counts.page_view ?? 0;
  await ingest(rt, views(1));
  const after = await getJson(rt, "/api/counter/counts");
  assert.equal(after.body.counts.page_view, before + 1, what);
  assert.equal(after.body.counts.forged, undefined, what);
  assert.match(after.body.watermark, /^2026-03-01T10:00:\d\d\.000Z$/, what);
  const [log] = await rt.store.query<{ n: number }>("select count(*)::int8 as n from host.events");
  assert.equal(log.n, rt.eventLog.head, what);
  const counter = rt.plugins.list().find((p) => p.name === "counter")!;
  assert.deepEqual([counter.status, counter.checkpoint], ["running", rt.eventLog.head], what);
}

for (const backend of ATTACK_BACKENDS) {
  Deno.test({
    name: `[${backend.name}] red team: a plugin's SQL cannot leave its role, its schema or the host's transaction`,
    ignore: !backend.enabled,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      const pluginsDir = await pluginsFolder([{ name: "intruder" }, { name: "counter" }]);
      await withRuntime(backend, { pluginsDir, sqlTripwire: false }, async (rt) => {
        await ingest(rt, views(3));
        const [{ user }] = await rt.store.query<{ user: string }>("select current_user as user");
        for (const [name, variants] of Object.entries(attacks(user, backend))) {
          await t.step(name, async () => {
            for (const attack of variants) {
              const label = JSON.stringify(attack.steps);
              const results = await run(rt, [...attack.steps, ...PROBES]);
              const steps = results.slice(0, attack.steps.length);
              if (attack.refused) {
                const refusal = steps.find((r) => !r.ok);
                assert.ok(refusal, `${label} was not refused`);
                assert.match(refusal.error!, attack.refused, label);
              }
              for (const [i, probe] of results.slice(attack.steps.length).entries()) {
                assert.equal(probe.ok, false, `after ${label}, ${PROBES[i]} ran`);
                assert.match(probe.error!, /permission denied/, `after ${label}, ${PROBES[i]}`);
              }
              await assertIntact(rt, label);
            }
          });
        }
        const batches: Record<string, string[]> = {
          "commit, then the host's tables": [
            "insert into notes (id) values (100)",
            "commit",
            "update host.checkpoints set committed = 0 where plugin = 'counter'",
            "insert into counter.counts (type, n) values ('forged', 1)",
            "reset role",
            "select pg_catalog.pg_advisory_lock(727001)",
          ],
          // A COMMIT that fails still ends the transaction: what follows must not run outside it, as the host.
          "a deferred constraint of its own fails the commit": [
            "create table if not exists twice (x int unique deferrable initially deferred)",
            "insert into twice (x) values (1), (1)",
            "commit",
            "update host.checkpoints set committed = 0 where plugin = 'counter'",
            "select count(*) from host.events",
          ],
          // The host's trigger must not resolve its operators through the plugin's schema.
          "an operator of its own in place of the host trigger's": [
            "create operator <> (leftarg = text, rightarg = text, function = pg_catalog.texteq)",
            "insert into notes (id) values (101)",
            "commit",
          ],
        };
        for (const [name, statements] of Object.entries(batches)) {
          await t.step(`in a batch: ${name}`, async () => {
            const id = `attack-${serial++}`;
            const attack = { event_id: id, type: "attack", user_id: "x", timestamp: "2026-03-01T09:00:00Z" };
            await ingest(rt, [{ ...attack, properties: { statements } }]);
            // Every try of its batch rolled back: the event ends in the intruder's dead letters, its writes undone.
            const letters = (await getJson(rt, "/api/dead-letters?stage=plugin:intruder")).body;
            assert.equal(letters.items[0]?.payload.event_id, id);
            assert.match(letters.items[0].reason, /may not change the host's transaction/);
            assert.deepEqual((await getJson(rt, "/api/intruder/notes")).body, { n: 0 });
            await assertIntact(rt, name);
          });
        }
        // Its deferred checks run as itself, before the host's COMMIT: an exclusion constraint rechecked at commit
        // evaluates the plugin's index expression (a domain whose check runs SQL when it is not the plugin's role).
        await t.step("in a batch: a deferred recheck that would run its SQL as the host", async () => {
          const payload = "select pg_catalog.setval(''leak'', (select count(*) from host.events))";
          const statements = [
            "create sequence if not exists leak",
            `create domain pwn as text check (current_user::text <> session_user::text or ` +
            `pg_catalog.length(pg_catalog.query_to_xml('${payload}', true, false, '')::text) > 0)`,
            "create table ex (x text, exclude using btree ((x::pwn) with operator(pg_catalog.=)) " +
            "deferrable initially deferred)",
            "insert into ex (x) values ('a')",
            "insert into ex (x) values ('a')",
            "delete from ex where ctid = '(0,1)'",
          ];
          const id = `attack-${serial++}`;
          const attack = { event_id: id, type: "attack", user_id: "x", timestamp: "2026-03-01T09:00:00Z" };
          await ingest(rt, [{ ...attack, properties: { statements } }]);
          const [leak] = await run(rt, ["select last_value, is_called from leak"]);
          assert.deepEqual(leak, { ok: true, rows: [{ last_value: 1, is_called: false }] });
          await assertIntact(rt, "a deferred recheck");
        });
      });
    },
  });
}

for (const backend of ATTACK_BACKENDS) {
  Deno.test({
    name: `[${backend.name}] red team: migrations that smuggle statements fail, and start-up completes`,
    ignore: !backend.enabled,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const pluginsDir = await pluginsFolder([{ name: "counter" }]);
      const smugglers: Record<string, string> = {
        dollar: "create table x$$ (a int); alter role current_user superuser; select $$;$$",
        carriage: "create table a (x int); -- a comment\rcommit; alter role current_user superuser;",
        commit: "create table b (x int); commit; grant pg_execute_server_program to current_user;",
        reset: "reset role; create table host.stolen (x int);",
        several: "create table c (x int); create table d (y int)", // this one is fine
      };
      for (const [name, sql] of Object.entries(smugglers)) {
        const dir = `${pluginsDir}/smuggle_${name}`;
        await Deno.mkdir(`${dir}/migrations`, { recursive: true });
        await Deno.writeTextFile(`${dir}/migrations/001_init.sql`, sql);
        await Deno.writeTextFile(
          `${dir}/mod.ts`,
          `import { definePlugin } from "@runtime/sdk";\nexport default definePlugin({ name: "smuggle_${name}", ` +
            `version: "1", subscribes: [] });\n`,
        );
      }
      await withRuntime(backend, { pluginsDir, sqlTripwire: false }, async (rt) => {
        const listed = new Map(rt.plugins.list().map((p) => [p.name, p]));
        for (const name of ["dollar", "carriage", "commit", "reset"].filter((n) => n in smugglers)) {
          const p = listed.get(`smuggle_${name}`)!;
          assert.equal(p.status, "failed", name);
          assert.match(p.error!, /^migration 001_init\.sql failed: /, name);
        }
        assert.equal(listed.get("smuggle_several")!.status, "running");
        const roles = await rt.store.query<{ name: string; su: boolean; member: boolean }>(
          `select r.rolname as name, r.rolsuper as su,
                  pg_catalog.pg_has_role(r.oid, 'pg_execute_server_program', 'member') as member
           from host.plugins p join pg_catalog.pg_roles r on r.rolname = p.role where p.name like 'smuggle%'`,
        );
        assert.equal(roles.length, Object.keys(smugglers).length);
        for (const r of roles) assert.deepEqual([r.su, r.member], [false, false], r.name);
        const stolen = await rt.store.query("select 1 from pg_catalog.pg_class where relname = 'stolen'");
        assert.deepEqual(stolen, []);
        await ingest(rt, views(2));
        assert.deepEqual((await getJson(rt, "/api/counter/counts")).body.counts, { page_view: 2 });
      });
    },
  });
}

Deno.test({
  name: "red team: names that mean something else to the database are refused with one line",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "counter" }]);
    // postgres is the embedded database's user: a schema of that name would be on its search path.
    for (const name of ["postgres", "select", "user", "pg_stats", "information_schema", "public", "host", "stream"]) {
      await Deno.mkdir(`${pluginsDir}/${name}`);
      await Deno.writeTextFile(
        `${pluginsDir}/${name}/mod.ts`,
        `import { definePlugin } from "@runtime/sdk";\nexport default definePlugin({ name: "${name}", version: "1", ` +
          `subscribes: [] });\n`,
      );
    }
    await withRuntime(BACKENDS[0], { pluginsDir }, async (rt) => {
      const errors = Object.fromEntries(rt.plugins.list().map((p) => [p.name, p.error]));
      assert.deepEqual(errors, {
        counter: null,
        information_schema: "'information_schema' is reserved: the database or the host already uses it",
        pg_stats: "'pg_stats' is reserved: names starting with pg_ belong to PostgreSQL",
        postgres: "'postgres' is reserved: a database role has that name (a plugin is named as its schema)",
        public: "'public' is reserved: the database or the host already uses it",
        host: "'host' is reserved: the database or the host already uses it",
        select: "'select' is reserved: it is an SQL keyword",
        stream: "'stream' is reserved: the database or the host already uses it",
        user: "'user' is reserved: it is an SQL keyword",
      });
      await ingest(rt, views(1));
    });
  },
});

Deno.test({
  name: "red team: a sandbox has an empty environment and no file outside its folder",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const secret = `${await tempDir("rt-secret-")}/secret.json`;
    await Deno.writeTextFile(secret, '{ "token": "s3cret" }');
    const pluginsDir = await pluginsFolder([{ name: "intruder" }, { name: "counter" }]);
    const plugin = async (name: string, source: string) => {
      await Deno.mkdir(`${pluginsDir}/${name}/lib`, { recursive: true });
      await Deno.writeTextFile(
        `${pluginsDir}/${name}/mod.ts`,
        `import { definePlugin } from "@runtime/sdk";\n${source}\n` +
          `export default definePlugin({ name: "${name}", version: "1", subscribes: [] });\n`,
      );
    };
    await plugin("linked", `import secret from "./secret.json" with { type: "json" };\nconsole.log(secret);`);
    await Deno.symlink(secret, `${pluginsDir}/linked/secret.json`);
    await plugin("nested", "");
    await Deno.symlink("/etc", `${pluginsDir}/nested/lib/etc`);
    await plugin("outside", `import secret from "${secret}" with { type: "json" };\nconsole.log(secret);`);
    await plugin("later", `export const steal = () => import("file://${secret}", { with: { type: "json" } });`);
    await copyPlugin(new URL("counter/", FIXTURES), `${secret}.plugin`);
    await Deno.symlink(`${secret}.plugin`, `${pluginsDir}/aliased`);
    await withRuntime(BACKENDS[0], { pluginsDir, apiTokens: ["t0ken-for-readers"] }, async (rt) => {
      const errors = Object.fromEntries(rt.plugins.list().map((p) => [p.name, p.error]));
      assert.equal(errors.aliased, "its folder is a symlink: a plugin's folder must lie in the plugins folder itself");
      assert.match(errors.linked ?? "", /^plugin linked cannot be loaded: its folder holds a symlink, secret\.json: /);
      assert.match(errors.nested ?? "", /^plugin nested cannot be loaded: its folder holds a symlink, lib\/etc: /);
      assert.equal(
        errors.outside,
        `plugin outside cannot be loaded: it imports ${secret}, outside its folder: a plugin may import its own ` +
          "files, the SDK and npm packages",
      );
      // A literal dynamic import loads without read permission, as a static one does: refused the same way.
      assert.equal(
        errors.later,
        `plugin later cannot be loaded: it imports ${secret}, outside its folder: a plugin may import its own ` +
          "files, the SDK and npm packages",
      );
      assert.deepEqual([errors.counter, errors.intruder], [null, null]);
      // The intruder's sandbox process: its environment is where Deno's cache is, and nothing of the host's.
      const headers = { authorization: "Bearer t0ken-for-readers" };
      assert.equal((await rt.app.request("/api/intruder/notes", { headers })).status, 200);
      const environ = await sandboxEnvironment("intruder");
      assert.deepEqual(Object.keys(environ).sort(), [
        "DENO_CACHE_DB_MODE",
        "DENO_DIR",
        "DENO_EMIT_CACHE_MODE",
        "DENO_NO_UPDATE_CHECK",
        "NO_COLOR",
      ]);
    });
  },
});

/** The environment of the running sandbox of plugin `name`, read from /proc as the host may. */
async function sandboxEnvironment(name: string): Promise<Record<string, string>> {
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    if (!cmdline.includes(`%2F${name}%2Fmod.ts`) || cmdline.includes("\0info\0")) continue;
    const environ = await Deno.readTextFile(`/proc/${entry.name}/environ`);
    return Object.fromEntries(environ.split("\0").filter((l) => l !== "").map((l) => l.split(/=(.*)/s).slice(0, 2)));
  }
  throw new Error(`no sandbox process of ${name}`);
}

Deno.test({
  name: "red team: the host checks a manifest the sandbox forged; plugin logs and answers cannot act as the host's",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "intruder" }, { name: "counter" }]);
    const forgeries: Record<string, [Record<string, unknown>, string]> = {
      period: [{ scheduleMs: 1 }, "invalid manifest: scheduleMs: Too small: expected number to be >=1000"],
      paths: [
        { api: { "/api/counter/counts": { get: {} } } },
        "invalid manifest: api: the path /api/counter/counts does not lie under /api/forge_paths",
      ],
      name: [{ name: "counter" }, "invalid manifest: name: must be 'forge_name'"],
      panel: [
        { panels: [{ title: "x", route: "javascript:alert(1)", kind: "table" }] },
        "invalid manifest: panels.0.route: must be a path",
      ],
    };
    for (const [what, [forged]] of Object.entries(forgeries)) {
      const name = `forge_${what}`;
      const manifest = {
        name,
        version: "1",
        subscribes: [],
        panels: [],
        limits: {},
        hasQueue: false,
        hasMerge: false,
        hasTransform: false,
        hasFetch: false,
        api: null,
        scheduleMs: null,
        partitioned: true,
        ...forged,
      };
      const reply = JSON.stringify({ kind: "reply", id: 1, ok: true, result: manifest });
      await Deno.mkdir(`${pluginsDir}/${name}`);
      // While its modules load, it writes the answer to the host's first call (init) on stdout, the wire.
      await Deno.writeTextFile(
        `${pluginsDir}/${name}/mod.ts`,
        `import { definePlugin } from "@runtime/sdk";\n` +
          `setTimeout(() => Deno.stdout.writeSync(new TextEncoder().encode(${JSON.stringify(reply + "\n")})), 100);\n` +
          `await new Promise((r) => setTimeout(r, 500));\n` +
          `export default definePlugin({ name: "${name}", version: "1", subscribes: [] });\n`,
      );
    }
    const lines: string[] = [];
    const logger = createLogger("info", {}, (line) => lines.push(line));
    await withRuntime(BACKENDS[0], { pluginsDir, logger }, async (rt) => {
      const errors = Object.fromEntries(rt.plugins.list().map((p) => [p.name, p.error]));
      for (const [what, [, error]] of Object.entries(forgeries)) {
        assert.ok(errors[`forge_${what}`]?.includes(error), `${what}: ${errors[`forge_${what}`]}`);
      }
      // Log fields go under `fields`: the host's time, level, message and plugin stand.
      await getJson(rt, "/api/intruder/log");
      const line = JSON.parse((await waitFor("the log line", () => lines.find((l) => l.includes("forged fields"))))!);
      assert.equal(line.level, "error");
      assert.equal(line.msg, "forged fields");
      assert.equal(line.plugin, "intruder");
      assert.notEqual(line.time, "1970-01-01T00:00:00Z");
      assert.deepEqual(line.fields, { time: "1970-01-01T00:00:00Z", level: "debug", msg: "x", plugin: "counter" });
      // A plugin's page cannot run script on the dashboard's origin, nor set its cookies.
      const page = await rt.app.request("/api/intruder/page");
      assert.equal(page.status, 200);
      assert.equal(page.headers.get("content-security-policy"), "sandbox; default-src 'none'; frame-ancestors 'none'");
      assert.equal(page.headers.get("x-content-type-options"), "nosniff");
      assert.equal(page.headers.get("set-cookie"), null);
      await page.body?.cancel();
    });
  },
});

for (const backend of ATTACK_BACKENDS) {
  Deno.test({
    name: `[${backend.name}] red team: a plugin past its storage quota is degraded and its writes refused`,
    ignore: !backend.enabled,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const pluginsDir = await pluginsFolder([{ name: "intruder" }, { name: "counter" }]);
      const rt = await startTestRuntime(backend, { pluginsDir });
      try {
        const intruder = () => rt.plugins.list().find((p) => p.name === "intruder")!;
        assert.equal(intruder().storage_limit_bytes, 1024 * 1024);
        // One statement may overshoot (the quota is measured after it); then writes are refused.
        const [filled] = (await postJson(rt, "/api/intruder/fill", { mb: 3 })).body.results;
        assert.equal(filled.ok, true);
        assert.equal(intruder().status, "degraded");
        assert.ok(intruder().storage_bytes > 3 * 1024 * 1024, `${intruder().storage_bytes} bytes`);
        assert.match(intruder().error!, /^storage quota exceeded: \d+\.\d MiB used of 1\.0 MiB/);
        const [refused] = (await postJson(rt, "/api/intruder/fill", { mb: 1 })).body.results;
        assert.match(refused.error, /read-only transaction/);
        const metrics = await (await rt.app.request("/metrics")).text();
        assert.match(metrics, /^plugin_storage_limit_bytes\{plugin="intruder"\} 1048576$/m);
        // Its batches wait; the victim and the host go on.
        const attack = {
          event_id: "q1",
          type: "attack",
          user_id: "x",
          timestamp: "2026-03-01T09:00:00Z",
          properties: {},
        };
        assert.equal((await postJson(rt, "/v1/events", [attack, ...views(2)])).body.accepted, 3);
        await waitFor("the counter to catch up", () => rt.plugins.list().find((p) => p.name === "counter")!.lag === 0);
        assert.deepEqual((await getJson(rt, "/api/counter/counts")).body.counts, { attack: 1, page_view: 2 });
        assert.equal(intruder().lag, 3);
        // An operator trims its table: it is back under, running, and catches up.
        // As the plugin's role: a least-privileged host is a member of it, without its privileges (NOINHERIT).
        const [{ role }] = await rt.store.query<{ role: string }>(
          "select role from host.plugins where name = 'intruder'",
        );
        await rt.store.transaction(async (tx) => {
          await tx.exec(`set local role "${role}"`);
          await tx.exec("truncate intruder.blob");
        });
        await waitForCatchUp(rt);
        assert.deepEqual([intruder().status, intruder().error], ["running", null]);
        assert.deepEqual((await getJson(rt, "/api/intruder/notes")).body, { n: 1 });
      } finally {
        await rt.stop();
      }
    },
  });
}

Deno.test({
  name: "[pglite, on disk] red team: a plugin's statement past its time limit stops the database, not the host",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "intruder" }, { name: "counter" }]);
    const { dataDir } = await BACKENDS[0].fresh();
    await withRuntime(BACKENDS[0], { pluginsDir, dataDir, store: undefined, sqlTripwire: false }, async (rt) => {
      await ingest(rt, views(2));
      // Minutes of work on the database's thread, and a COPY waiting for rows that never come.
      for (
        const statement of ["select count(*) from pg_catalog.generate_series(1, 10000000000)", "copy notes from stdin"]
      ) {
        const attack = rt.app.request("/api/intruder/run", {
          method: "POST",
          body: JSON.stringify({ statements: [statement] }),
        });
        // The host answers meanwhile; ingest waits for the database, which is back within the intruder's 5 s limit.
        assert.equal((await rt.app.request("/healthz")).status, 200);
        await ingest(rt, views(1));
        const answer = await attack;
        const body = await answer.json();
        const said = `${statement}: ${answer.status} ${JSON.stringify(body)}`;
        if (answer.status === 200) assert.match(body.results[0].error, /statement timeout|restarted/, said);
        else assert.match(body.error, /exceeded the 5000 ms time limit/, said);
        await assertIntact(rt, statement);
      }
    });
  },
});

for (const [backend, warns] of [[BACKENDS[1], true], [LEAST_PRIVILEGE, false]] as const) {
  Deno.test({
    name: `[${backend.name}] the runtime ${
      warns ? "warns that it has more privilege than it needs" : "starts quietly"
    }`,
    ignore: !backend.enabled,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const pluginsDir = await pluginsFolder([{ name: "counter" }]);
      const lines: string[] = [];
      const logger = createLogger("info", {}, (line) => lines.push(line));
      await withRuntime(backend, { pluginsDir, logger }, async (rt) => {
        await ingest(rt, views(1));
        const warning = lines.map((l) => JSON.parse(l)).find((l) => /as a superuser/.test(l.msg));
        assert.equal(warning?.level, warns ? "warn" : undefined);
        if (warns) assert.match(warning.msg, /deno task setup-db makes such a user/);
      });
    },
  });
}
