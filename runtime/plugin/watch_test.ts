import assert from "node:assert/strict";
import {
  BACKENDS,
  getJson,
  pageView,
  pluginsFolder,
  postJson,
  scrape,
  waitFor,
  withRuntime,
} from "../../tests/support/harness.ts";
import type { Runtime } from "../runtime.ts";

const QUIET_MS = 150;
const options = { sanitizeOps: false, sanitizeResources: false };

const reloads = async (rt: Runtime, name: string) =>
  (await scrape(rt.app)).get(`plugin_reloads_total{plugin="${name}"}`) ?? 0;

/** What `GET /api/counter/hello` answers, or null while it does not. */
async function hello(rt: Runtime): Promise<string | null> {
  const res = await rt.app.request("/api/counter/hello");
  return res.ok ? (await res.json()).hello : (await res.body?.cancel(), null);
}

/** Counter's code with one more route, `GET /hello`, answering `greeting`. */
async function withHello(dir: string, greeting: string): Promise<void> {
  const mod = await Deno.readTextFile(`${dir}/counter/mod.ts`);
  const route = `app.get("/hello", (c) => c.json({ hello: ${JSON.stringify(greeting)} }));\nexport default`;
  await Deno.writeTextFile(
    `${dir}/counter/mod.ts`,
    mod.replace(/app\.get\("\/hello".*\n/, "").replace("export default", route),
  );
}

Deno.test({
  name:
    "hot reload: an edited plugin reloads once per burst of changes, keeps its data and checkpoint, and takes new migrations",
  ...options,
  async fn() {
    const dir = await pluginsFolder([{ name: "counter" }]);
    await withRuntime(BACKENDS[0], { pluginsDir: dir }, async (rt) => {
      rt.plugins.watch(QUIET_MS);
      await postJson(rt, "/v1/events", [pageView("a"), pageView("b"), pageView("c")]);
      await waitFor("3 counted", async () => (await getJson(rt, "/api/counter/counts")).body.counts.page_view === 3);
      assert.equal((await rt.app.request("/api/counter/hello")).status, 404);

      // Twenty saves in quick succession, with an editor's swap file beside them: one reload.
      for (let i = 0; i < 20; i++) {
        await withHello(dir, `v${i}`);
        await Deno.writeTextFile(`${dir}/counter/.mod.ts.swp`, String(i));
        await new Promise((r) => setTimeout(r, 10));
      }
      await waitFor("the new route", async () => (await hello(rt)) === "v19");
      await new Promise((r) => setTimeout(r, QUIET_MS * 3));
      assert.equal(await reloads(rt, "counter"), 1);

      // Its table and checkpoint survived: nothing is counted twice, and new events are counted once.
      assert.equal((await getJson(rt, "/api/counter/counts")).body.counts.page_view, 3);
      const { body: { plugins: [listed] } } = await getJson(rt, "/api/plugins");
      assert.deepEqual([listed.status, listed.processed, listed.checkpoint], ["running", 3, 3]);
      await postJson(rt, "/v1/events", [pageView("d")]);
      await waitFor("4 counted", async () => (await getJson(rt, "/api/counter/counts")).body.counts.page_view === 4);

      // A new migration is applied at the next reload, in the plugin's own schema.
      await Deno.writeTextFile(`${dir}/counter/migrations/002_notes.sql`, "create table notes (note text);");
      await waitFor("reloaded twice", async () => await reloads(rt, "counter") === 2);
      const [{ n }] = await rt.store.query<{ n: number }>(
        "select count(*)::int as n from information_schema.tables where table_schema = 'counter' and table_name = 'notes'",
      );
      assert.equal(n, 1);

      // A broken save fails the plugin with its error; the fix brings it back with everything counted.
      const working = await Deno.readTextFile(`${dir}/counter/mod.ts`);
      await Deno.writeTextFile(`${dir}/counter/mod.ts`, "export default definePlugin({ this is not TypeScript");
      const failed = await waitFor("failed", async () => {
        const p = (await getJson(rt, "/api/plugins")).body.plugins.find((p: { name: string }) => p.name === "counter");
        return p.status === "failed" ? p : null;
      });
      assert.match(failed.error, /SyntaxError/);
      await postJson(rt, "/v1/events", [pageView("e")]);
      await Deno.writeTextFile(`${dir}/counter/mod.ts`, working);
      await withHello(dir, "fixed");
      await waitFor("fixed", async () => (await hello(rt)) === "fixed");
      await waitFor("5 counted", async () => (await getJson(rt, "/api/counter/counts")).body.counts.page_view === 5);
    });
  },
});

Deno.test({
  name: "hot reload: a folder dropped in loads and backfills from the log; a removed one is unloaded",
  ...options,
  async fn() {
    const dir = await pluginsFolder([{ name: "counter" }]);
    await withRuntime(BACKENDS[0], { pluginsDir: dir }, async (rt) => {
      rt.plugins.watch(QUIET_MS);
      await postJson(rt, "/v1/events", [pageView("a"), pageView("b")]);
      const { body: before } = await getJson(rt, "/api/plugins");
      assert.deepEqual(before.plugins.map((p: { name: string }) => p.name), ["counter"]);

      // Written file by file, as a copy would: one load, once the folder is quiet.
      await Deno.mkdir(`${dir}/tally/migrations`, { recursive: true });
      await Deno.writeTextFile(
        `${dir}/tally/migrations/001_init.sql`,
        "create table seen (event_id text primary key);",
      );
      await Deno.writeTextFile(
        `${dir}/tally/mod.ts`,
        `import { Hono } from "hono";
import { definePlugin, type Env } from "@runtime/sdk";
const app = new Hono<{ Bindings: Env }>();
app.get("/seen", async (c) => c.json((await c.env.db.sql\`select count(*)::int as n from seen\`)[0]));
export default definePlugin({
  name: "tally", version: "1.0.0", subscribes: "*", fetch: app,
  async queue(batch, env) {
    await env.db.sql\`insert into seen select unnest(\${batch.map((e) => e.event_id)}::text[])\`;
  },
});
`,
      );
      await waitFor("tally backfilled", async () => (await getJson(rt, "/api/tally/seen")).body.n === 2);
      assert.equal(await reloads(rt, "tally"), 1);

      await Deno.remove(`${dir}/tally`, { recursive: true });
      await waitFor("tally unloaded", async () => (await getJson(rt, "/api/tally/seen")).status === 404);
      const { body: after } = await getJson(rt, "/api/plugins");
      assert.deepEqual(after.plugins.map((p: { name: string }) => p.name), ["counter"]);
      assert.equal((await getJson(rt, "/api/counter/counts")).body.counts.page_view, 2);
    });
  },
});
