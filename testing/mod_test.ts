import assert from "node:assert/strict";
import { Hono } from "hono";
import { z } from "zod";
import { answerHttpError, definePlugin, describeRoute, type Event } from "@runtime/sdk";
import { assertFilled, pluginDatabase, routeChecker, testEachBackend, testPlugin } from "./mod.ts";
import { FIXTURES, pageView } from "../tests/support/harness.ts";
import counter from "../tests/fixtures/plugins/counter/mod.ts";
import notifier from "../tests/fixtures/plugins/notifier/mod.ts";

// Sandboxes and the in-memory database outlive single ops by design; each harness stops what it started.
const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });

test("testPlugin() runs a plugin's queue and routes on events sent through ingest", async () => {
  await using h = await testPlugin(new URL("counter/", FIXTURES), { settings: { label: "mine" } });
  assert.equal(h.name, "counter");
  await h.send([pageView("a"), pageView("b"), pageView("c", { type: "search", properties: { query: "shoes" } })]);
  assert.deepEqual((await h.get("/counts")).body, {
    counts: { page_view: 2, search: 1 },
    watermark: "2026-03-01T10:00:00.000Z",
    label: "mine",
  });
  assert.deepEqual(await h.sql("select type, n from counts order by type"), [
    { type: "page_view", n: 2 },
    { type: "search", n: 1 },
  ]);
  const info = await h.plugin();
  assert.deepEqual([info.status, info.processed, info.failed, info.lag], ["running", 3, 0, 0]);
  assert.deepEqual(info.panels, [{ title: "Counts", route: "/counts", kind: "table" }]);
  assert.deepEqual(await h.get("/nowhere"), { status: 404, body: "404 Not Found" });
});

test("testPlugin().send() fails on a rejected event unless told to expect it", async () => {
  await using h = await testPlugin(new URL("counter/", FIXTURES));
  await assert.rejects(h.send([pageView("ok"), { type: "page_view" }]), /ingest rejected .*event_id/);
  const res = await h.send([pageView("ok2"), { event_id: "bad", type: "page_view" }], { allowRejected: true });
  assert.deepEqual(res.body.rejected, [{ index: 1, error: "user_id: is required" }]);
  assert.deepEqual((await h.get("/counts")).body.counts, { page_view: 2 });
});

test("testPlugin() keeps production's rules: a failing event is dead-lettered, the rest committed", async () => {
  await using h = await testPlugin(new URL("poison/", FIXTURES));
  await h.send([pageView("p1"), pageView("p2", { properties: { poison: true } }), pageView("p3")]);
  assert.deepEqual((await h.get("/seen")).body, { ids: ["p1", "p3"] });
  const info = await h.plugin();
  // Failed tries: 3 of the whole batch, then 3 of the poisoned event alone.
  assert.deepEqual([info.status, info.processed, info.failed, info.lag], ["running", 2, 6, 0]);
  const letters = await h.deadLetters();
  assert.deepEqual(letters.map((l) => [l.stage, l.payload.event_id]), [["plugin:poison", "p2"]]);
});

test("testPlugin() runs the plugin in its sandbox: its role cannot read the host's tables", async () => {
  await using h = await testPlugin(new URL("attacker/", FIXTURES));
  const tried = await h.get("/try/host_table");
  assert.equal(tried.status, 200);
  assert.equal(tried.body.denied, true);
  assert.match(tried.body.error, /permission denied/);
  assert.deepEqual(await h.sql("select count(*)::int as n from host.events"), [{ n: 0 }]);
});

testEachBackend(
  "testPlugin() runs on the backend it is given; request() calls a route with any method",
  async (backend) => {
    await using h = await testPlugin(new URL("counter/", FIXTURES), { backend });
    assert.equal(h.runtime.store.kind, backend);
    await h.send([pageView("a")]);
    assert.deepEqual((await h.request("/counts")).body.counts, { page_view: 1 });
    assert.deepEqual(await h.request("/counts", { method: "DELETE" }), { status: 404, body: "404 Not Found" });
  },
);

test("pluginDatabase() migrates a plugin's schema alone, for calling its queue directly", async () => {
  await using db = await pluginDatabase(new URL("counter/", FIXTURES));
  assert.equal(db.schema, "counter");
  const event = (event_id: string, type: string): Event => ({
    event_id,
    type,
    user_id: "u1",
    timestamp: "2026-03-01T10:00:00Z",
    properties: {},
  });
  const events = [event("a", "page_view"), event("b", "page_view"), event("c", "search")];
  await db.exec("begin");
  await counter.queue!(events, db.env as never);
  await db.exec("commit");
  assert.deepEqual(await db.query("select type, n from counts order by type"), [
    { type: "page_view", n: 2 },
    { type: "search", n: 1 },
  ]);
  assert.deepEqual(await db.query("select current_schema() as schema"), [{ schema: "counter" }]);
});

test("pluginDatabase()'s env.notify keeps each notice, and refuses a bad one as the host does", async () => {
  await using db = await pluginDatabase(new URL("notifier/", FIXTURES));
  const event = (event_id: string, notify: string): Event => ({
    event_id,
    type: "page_view",
    user_id: "u1",
    timestamp: "2026-03-01T10:00:00Z",
    properties: { notify },
  });
  await notifier.queue!([event("a", "ok"), event("b", "ok")], db.env as never);
  assert.deepEqual(db.notices, [
    { channel: "seen", payload: { event_id: "a" } },
    { channel: "seen", payload: { event_id: "b" } },
  ]);
  await assert.rejects(notifier.queue!([event("c", "bad_channel")], db.env as never), /notify: the channel must match/);
});

/** A described plugin app, served under `/api/demo` as the runtime serves it. */
function demo(answer: { items: (string | null)[] }) {
  const routes = new Hono()
    .get(
      "/items",
      describeRoute({
        summary: "Items",
        query: z.object({ limit: z.coerce.number().int().min(1).max(10).optional() }),
        response: z.object({ items: z.array(z.string().nullable()) }),
        errors: [400],
      }),
      (c) => c.json(answer), // describeRoute() answers a limit outside 1..10 with a 400
    )
    .delete("/items", describeRoute({ summary: "Clears them", status: 204 }), (c) => c.body(null, 204))
    .onError(answerHttpError);
  const plugin = definePlugin({ name: "demo", version: "1", subscribes: [], fetch: routes });
  return { plugin, app: new Hono().route("/api/demo", routes) };
}

test("routeChecker() calls described routes, probes their query edges and proves every field filled", async () => {
  const { plugin, app } = demo({ items: ["a", null] });
  const routes = routeChecker(plugin, app);
  assert.deepEqual(await routes.call("GET /items", "/items?limit=2"), { items: ["a", null] });
  assert.throws(() => routes.assertCovered(), /every described route is called/);
  assert.equal(await routes.call("DELETE /items", "/items"), undefined);
  routes.assertCovered(); // `items[]` is filled by "a"
  assert.throws(() => routes.assertErrorsAnswered(), /GET \/items answers 400/);
  await routes.probeQuery("GET /items", "/items");
  routes.assertErrorsAnswered();
  await assert.rejects(routes.call("GET /nowhere", "/nowhere"), /GET \/nowhere is a route demo describes/);
  await assert.rejects(routes.expect("GET /items", "/items?limit=0", 200), /expected 200, got 400/);
  assert.throws(() => assertFilled({ items: ["a", null] }, "answer"), /answer\.items\[\] is null/);
  assertFilled({ items: ["a", null] }, "answer", ["answer.items[]"]);
});

test("routeChecker() fails on a field no answer fills", async () => {
  const { plugin, app } = demo({ items: [] });
  const routes = routeChecker(plugin, app);
  await routes.call("GET /items", "/items");
  await routes.call("DELETE /items", "/items");
  assert.throws(() => routes.assertCovered(), /GET \/items: every field is filled/);
});

test("routeChecker() refuses an answer, a body sent or an error body its schemas refuse, and probes an enum", async () => {
  const Sort = z.enum(["a", "b"]);
  const routes = new Hono()
    .get(
      "/bad",
      describeRoute({ summary: "Misdescribed", response: z.object({ name: z.string() }) }),
      (c) => c.json({ name: 1 }),
    )
    .post(
      "/things",
      describeRoute({
        summary: "Takes a thing",
        body: z.object({ name: z.string() }),
        response: z.object({ ok: z.boolean() }),
      }),
      async (c) =>
        typeof (await c.req.json()).name === "string" ? c.json({ ok: true }) : c.json({ message: "no" }, 400),
    )
    .get(
      "/sorted",
      describeRoute({
        summary: "Sorted",
        query: z.object({ sort: Sort.optional() }),
        response: z.object({ sort: Sort }),
      }),
      (c) => c.json({ sort: c.req.valid("query").sort ?? "a" }),
    )
    .onError(answerHttpError);
  const plugin = definePlugin({ name: "demo", version: "1", subscribes: [], fetch: routes });
  const checker = routeChecker(plugin, new Hono().route("/api/demo", routes));
  await assert.rejects(checker.call("GET /bad", "/bad"), /expected string, received number/);
  await assert.rejects(checker.call("POST /things", "/things", { name: 7 }), /expected string, received number/);
  assert.deepEqual(await checker.call("POST /things", "/things", { name: "x" }), { ok: true });
  await assert.rejects(checker.expect("POST /things", "/things", 400, {}), /"error"[\s\S]*expected string/);
  await checker.probeQuery("GET /sorted", "/sorted"); // "a" and "b" answer 200, "nope" 400
  assert.deepEqual(await checker.expect("GET /sorted", "/sorted?sort=nope", 400), {
    error: `sort: Invalid option: expected one of "a"|"b", got 'nope'`,
  });
});
