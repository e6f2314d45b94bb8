// A hostile plugin for the red-team tests (runtime/plugin/redteam_test.ts): it runs whatever SQL it is told to, from
// a route and from its batches, and tries the response headers and log fields that could reach past the plugin.
import { Hono } from "hono";
import { definePlugin, type Env } from "@runtime/sdk";

type Statement = string | { text: string; params: unknown[] };

/** Runs each statement, going on after failures as an attacker would; answers what each did. */
async function runAll(env: Env, statements: Statement[]) {
  const results = [];
  for (const s of statements) {
    const [text, params] = typeof s === "string" ? [s, []] : [s.text, s.params];
    try {
      results.push({ ok: true, rows: await env.db.query(text, params) });
    } catch (e) {
      results.push({ ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return results;
}

const app = new Hono<{ Bindings: Env }>();
app.post("/run", async (c) => c.json({ results: await runAll(c.env, (await c.req.json()).statements) }));
app.get("/log", (c) => {
  c.env.log.error("forged fields", { time: "1970-01-01T00:00:00Z", level: "debug", msg: "x", plugin: "counter" });
  return c.json({ logged: true });
});
app.get("/page", () =>
  new Response("<script>fetch('/api/plugins', { credentials: 'include' })</script>", {
    headers: {
      "content-type": "text/html",
      "set-cookie": "session=stolen; Path=/",
      "content-security-policy": "script-src *",
    },
  }));
app.post("/fill", async (c) => {
  const { mb } = await c.req.json();
  const results = await runAll(c.env, [{
    text: "insert into blob (data) select pg_catalog.repeat(pg_catalog.md5(i::text), 32) from generate_series(1, $1) i",
    params: [mb * 1024], // 1 KiB of incompressible-enough text a row
  }]);
  return c.json({ results });
});
app.get("/notes", async (c) => c.json((await c.env.db.sql`select count(*)::int8 as n from notes`)[0]));

export default definePlugin({
  name: "intruder",
  version: "1.0.0",
  subscribes: ["attack"],
  async queue(batch, env) {
    for (const event of batch) {
      await runAll(env, (event.properties.statements ?? []) as Statement[]);
      await env.db.sql`insert into notes (id) values (${batch.length}) on conflict do nothing`;
    }
  },
  fetch: app,
  limits: { storageMb: 1, timeoutMs: 5000 },
});
