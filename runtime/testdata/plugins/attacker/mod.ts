// Tries, on request, everything a plugin must not be able to do, and reports what happened.
import { Hono } from "hono";
import { definePlugin, type Env } from "@runtime/sdk";

// While loading, tamper with what a permission drop inside the sandbox would use: there is none to fool, since the
// sandbox starts with every permission denied.
try {
  Object.assign(Deno.permissions, { revokeSync: () => ({ state: "granted" }), querySync: () => ({ state: "denied" }) });
} catch {
  // frozen: fine
}
const iterate = Array.prototype[Symbol.iterator];
Array.prototype[Symbol.iterator] = function () {
  return iterate.call(this);
};
Object.defineProperty(Object.prototype, "path", { get: () => "/tmp", configurable: true });

const attempts: Record<string, (env: Env) => Promise<unknown> | unknown> = {
  read: () => Deno.readTextFileSync("/etc/hostname"),
  read_runtime: () => Deno.readTextFileSync(new URL(import.meta.resolve("@runtime/sdk"))),
  write: () => Deno.writeTextFileSync("/tmp/attacker-was-here", "x"),
  env: () => Deno.env.get("PATH"),
  env_node: async () => (await import("node:process")).default.env.DATABASE_URL,
  env_proc: () => Deno.readTextFileSync("/proc/self/environ"),
  net: () => fetch("http://127.0.0.1:45678/"),
  listen: () => Deno.listen({ port: 0 }),
  run: () => new Deno.Command("/bin/true").outputSync(),
  run_path: () => new Deno.Command("true").outputSync(),
  ffi: () => Deno.dlopen("libc.so.6", {}),
  import: () => import(["http://127.0.0.1:45678", "x.ts"].join("/")),
  import_file: () => import(["file:///etc", "hostname"].join("/")),
  // A package no one has: without --cached-only, Deno would ask the npm registry for it and write deno.lock.
  import_npm: () => import(["npm:analytics-runtime-sandbox", "probe"].join("-")),
  host_table: (env) => env.db.sql`select count(*) from host.events`,
  other_schema: (env) => env.db.sql`select * from counter.counts`,
  reset_role: (env) => env.db.query("reset role"),
  set_role: (env) => env.db.query("set role postgres"),
  role_in_function: (env) =>
    env.db.query("create function escape() returns int language sql as 'reset role; select 1'"),
  commit: (env) => env.db.query("commit"),
  set_config: (env) => env.db.query("select pg_catalog.set_config('role', 'postgres', true)"),
  plpgsql: (env) => env.db.query("create function f() returns int language plpgsql as 'begin return 1; end'"),
  escaped_body: (env) =>
    env.db.query(String.raw`create function e() returns text language sql as E'set role postgres; select 1'`),
  do_block: (env) => env.db.query("do $$ begin execute 'res' || 'et role'; end $$"),
};

const app = new Hono<{ Bindings: Env }>();
app.get("/try/:what", async (c) => {
  const attempt = attempts[c.req.param("what")];
  if (!attempt) return c.json({ error: "unknown attempt" }, 404);
  try {
    await attempt(c.env);
    return c.json({ denied: false });
  } catch (e) {
    return c.json({ denied: true, error: e instanceof Error ? e.message : String(e) });
  }
});
app.get("/flood", () => {
  Deno.stdout.writeSync(new Uint8Array(17 * 1024 * 1024).fill(65)); // no newline: past the wire's limit
  return new Response("unreachable");
});
// Output the host must not choke on: an answer over the wire's limit, a flood of stderr lines, endless counters,
// oversized log fields.
app.get("/huge-response", () => new Response("y".repeat(40 * 1024 * 1024)));
app.get("/stderr-flood", () => {
  const lines = new TextEncoder().encode("flood line\n".repeat(10_000));
  for (let i = 0; i < 10; i++) Deno.stderr.writeSync(lines);
  return Response.json({ lines: 100_000 });
});
app.get("/metric-flood", (c) => {
  for (let i = 0; i < 1000; i++) c.env.metrics.increment(`m${i}`);
  c.env.metrics.increment("not a name");
  return c.json({ names: 1001 });
});
app.get("/log-fields", (c) => {
  c.env.log.error("big fields", { blob: "z".repeat(1_000_000) });
  return c.json({ ok: true });
});
// Modules made up at run time (data: URLs) are compiled in memory: Deno's disk cache must not grow with them.
app.get("/cache-flood/:marker", async (c) => {
  const marker = c.req.param("marker");
  for (let i = 0; i < 20; i++) {
    const source = `export const marker: string = "${marker}-${i}"; export const pad = "${"p".repeat(50_000)}";`;
    await import(`data:application/typescript;base64,${btoa(source)}`);
  }
  return c.json({ modules: 20 });
});
app.get("/status/:code", (c) => new Response(null, { status: Number(c.req.param("code")) }));
app.get("/headers", (c) => c.json(Object.fromEntries(c.req.raw.headers)));
app.get("/mine", async (c) => c.json((await c.env.db.sql`select count(*)::int8 as n from notes`)[0]));

export default definePlugin({ name: "attacker", version: "1.0.0", subscribes: [], fetch: app.fetch });
