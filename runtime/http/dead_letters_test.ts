import assert from "node:assert/strict";
import type { Runtime } from "../runtime.ts";
import {
  getJson,
  type Json,
  pageView,
  pluginsFolder,
  postJson,
  testEachBackend,
  waitFor,
  waitForCatchUp,
  withRuntime,
} from "../../tests/support/harness.ts";

const late = { event_id: "late", type: "login", user_id: "u1", timestamp: "2026-03-01 10:05" };

const replay = (rt: Runtime, body: unknown) => postJson(rt, "/api/dead-letters/replay", body);

testEachBackend(
  "dead letters replay once the cause is fixed: ingest items (as sent or corrected) and plugin events, exactly once",
  async (backend) => {
    const store = await backend.open();
    const pluginsDir = await pluginsFolder([{ name: "picky" }]);
    try {
      await withRuntime(backend, { pluginsDir, store }, async (rt) => {
        const posted = await postJson(rt, "/v1/events", [
          pageView("e1"),
          pageView("bad1", { properties: { bad: true } }),
          pageView("e2"),
          late,
        ]);
        assert.equal(posted.body.accepted, 3);
        await waitFor("bad1 in the dead letters", async () => {
          return (await getJson(rt, "/api/dead-letters?stage=plugin:picky")).body.total === 1;
        });
        await waitForCatchUp(rt);
        assert.deepEqual((await getJson(rt, "/api/picky/seen")).body, { e1: 1, e2: 1 });
        assert.equal(rt.metrics.value("dead_letters_total", { stage: "plugin:picky" }), 1);
        // Before the fix, a replay fails, says why, and changes nothing.
        const early = await replay(rt, { stage: "plugin:picky" });
        assert.equal(early.body.replayed, 0);
        assert.match(early.body.failed[0].error, /cannot take bad1/);
        const asSent = await replay(rt, { stage: "ingest" });
        assert.deepEqual(asSent.body.failed.map((f: Json) => f.error), [
          "timestamp: must be ISO-8601 with a UTC offset, like 2026-01-31T12:00:00Z",
        ]);
        // Each failed replay is a retry of its letter. Both are dead: an event refused as an event always will be, and
        // the retrier does not take a plugin's letters. They wait for an operator's replay.
        const dead = (await getJson(rt, "/api/dead-letters?state=dead")).body;
        assert.equal(dead.total, 2);
        assert.deepEqual(dead.by_state, { pending: 0, retrying: 0, dead: 2, resolved: 0 });
        assert.deepEqual(dead.items.map((l: Json) => [l.stage, l.retries, l.last_error, l.next_retry_at]), [
          ["plugin:picky", 1, "plugin picky: cannot take bad1", null],
          ["ingest", 1, "timestamp: must be ISO-8601 with a UTC offset, like 2026-01-31T12:00:00Z", null],
        ]);
        assert.equal((await getJson(rt, "/api/dead-letters?state=unresolved")).body.total, 2);
        // A page at a time: next_before names the next page, null on the last.
        const first = (await getJson(rt, "/api/dead-letters?state=dead&limit=1")).body;
        assert.deepEqual(first.items.map((l: Json) => l.id), [dead.items[0].id]);
        assert.equal(first.next_before, dead.items[0].id);
        const second = (await getJson(rt, `/api/dead-letters?state=dead&limit=1&before=${first.next_before}`)).body;
        assert.deepEqual([second.items.map((l: Json) => l.id), second.next_before], [[dead.items[1].id], null]);
      });

      // The fix deployed: the same database, and picky now takes bad events.
      const fixed = { pluginsDir, store, pluginSettings: { picky: { takeBad: true } } };
      await withRuntime(backend, fixed, async (rt) => {
        const pending = (await getJson(rt, "/api/dead-letters?state=dead")).body.items;
        const plugin = pending.find((l: Json) => l.stage === "plugin:picky");
        const ingest = pending.find((l: Json) => l.stage === "ingest");
        // Two replays of one letter at once: one runs the event through picky, the other finds it done.
        const both = await Promise.all([replay(rt, { ids: [plugin.id] }), replay(rt, { ids: [plugin.id] })]);
        assert.deepEqual(both.map((r) => r.status), [200, 200]);
        assert.deepEqual(both.map((r) => r.body.replayed).sort(), [0, 1]);
        assert.deepEqual(both.flatMap((r) => r.body.skipped), [{ id: plugin.id, reason: "already replayed" }]);
        assert.deepEqual((await getJson(rt, "/api/picky/seen")).body, { bad1: 1, e1: 1, e2: 1 });

        // The ingest letter, its timestamp corrected by the operator.
        const corrected = await replay(rt, {
          ids: [ingest.id],
          payloads: { [ingest.id]: { ...late, timestamp: "2026-03-01T10:05:00Z" } },
        });
        assert.deepEqual(corrected.body, { replayed: 1, events: 1, skipped: [], failed: [], last_id: ingest.id });
        await waitForCatchUp(rt);
        assert.deepEqual((await getJson(rt, "/api/picky/seen")).body, { bad1: 1, e1: 1, e2: 1, late: 1 });

        // Nothing is left, and nothing runs twice.
        assert.deepEqual((await replay(rt, { stage: "ingest" })).body.last_id, null);
        assert.deepEqual((await replay(rt, { ids: [ingest.id, plugin.id, 999_999] })).body, {
          replayed: 0,
          events: 0,
          skipped: [{ id: ingest.id, reason: "already replayed" }, { id: plugin.id, reason: "already replayed" }],
          failed: [{ id: 999_999, error: "no dead letter has this id" }],
          last_id: plugin.id,
        });
        await waitForCatchUp(rt);
        assert.deepEqual((await getJson(rt, "/api/picky/seen")).body, { bad1: 1, e1: 1, e2: 1, late: 1 });
        const done = (await getJson(rt, "/api/dead-letters?state=resolved")).body;
        assert.deepEqual(done.by_state, { pending: 0, retrying: 0, dead: 0, resolved: 2 });
        assert.deepEqual(done.items.map((l: Json) => [l.state, l.retries, l.next_retry_at]), [
          ["resolved", 2, null],
          ["resolved", 2, null],
        ]);
        assert.ok(done.items.every((l: Json) => typeof l.replayed_at === "string"));
        assert.equal((await getJson(rt, "/api/dead-letters?state=replayed")).body.total, 2); // the older name
        assert.equal(rt.metrics.value("dead_letters_replayed_total", { stage: "plugin:picky" }), 1);
        assert.equal(rt.metrics.value("dead_letters_replayed_total", { stage: "ingest" }), 1);

        for (const bad of [{}, { ids: [1], stage: "ingest" }, { ids: [] }, { stage: "ingest", limit: 0 }, "{"]) {
          assert.equal((await replay(rt, bad)).status, 400, JSON.stringify(bad));
        }
        assert.equal((await getJson(rt, "/api/dead-letters?state=done")).status, 400);
      });
    } finally {
      await store.close();
    }
  },
);

testEachBackend(
  "an ingest letter stored altered (NUL, broken Unicode or deep nesting replaced) replays only corrected",
  async (backend) => {
    await withRuntime(backend, { pluginsDir: await pluginsFolder([]) }, async (rt) => {
      const nested = pageView("deep", { properties: { a: JSON.parse("[".repeat(40) + "]".repeat(40)) } });
      const posted = await postJson(rt, "/v1/events", [pageView("nul\u0000"), pageView("lone\ud800"), nested]);
      assert.equal(posted.body.rejected.length, 3);
      const asStored = await replay(rt, { stage: "ingest" });
      assert.equal(asStored.body.replayed, 0);
      assert.deepEqual(asStored.body.failed.map((f: Json) => f.error), [
        "the payload was stored with NUL, broken Unicode or deep nesting replaced: give a corrected payload",
        "the payload was stored with NUL, broken Unicode or deep nesting replaced: give a corrected payload",
        "the payload was stored with NUL, broken Unicode or deep nesting replaced: give a corrected payload",
      ]);
      assert.equal(rt.eventLog.head, 0);
      // No retry of them as stored can succeed: dead at once, not retried on a backoff.
      assert.deepEqual((await getJson(rt, "/api/dead-letters")).body.by_state, {
        pending: 0,
        retrying: 0,
        dead: 3,
        resolved: 0,
      });
      const [first] = asStored.body.failed;
      const corrected = await replay(rt, { ids: [first.id], payloads: { [first.id]: pageView("nul") } });
      assert.deepEqual(corrected.body.replayed, 1);
      assert.equal(rt.eventLog.head, 1);
    });
  },
);

testEachBackend(
  "dead letters are retried on a backoff until resolved or dead: a purchase in a currency without a rate is taken once one is configured",
  async (backend) => {
    const store = await backend.open();
    const pluginsDir = await pluginsFolder([]);
    const purchase = (id: string) => ({
      event_id: id,
      type: "purchase",
      user_id: "u1",
      timestamp: "2026-03-01T10:00:00Z",
      properties: { amount: 10, currency: "USD" },
    });
    const letters = async (rt: Runtime, query = "limit=10") => (await getJson(rt, `/api/dead-letters?${query}`)).body;
    const byId = async (rt: Runtime): Promise<Map<string, Json>> =>
      new Map((await letters(rt)).items.map((l: Json) => [l.payload.event_id, l]));
    try {
      // No automatic retries: letters stay pending until replayed; a failed replay then makes one dead.
      await withRuntime(backend, { pluginsDir, store, deadLetters: { retries: 0 } }, async (rt) => {
        const posted = await postJson(rt, "/v1/events", [purchase("p1"), purchase("p2"), purchase("p3")]);
        assert.equal(posted.body.rejected.length, 3);
        const listed = await letters(rt);
        assert.deepEqual(listed.by_state, { pending: 3, retrying: 0, dead: 0, resolved: 0 });
        assert.ok(
          listed.items.every((l: Json) => l.retries === 0 && l.next_retry_at === null && l.last_error === null),
        );
        const p3 = (await byId(rt)).get("p3");
        assert.deepEqual((await replay(rt, { ids: [p3.id] })).body.replayed, 0);
        const dead = (await byId(rt)).get("p3");
        assert.deepEqual([dead.state, dead.retries], ["dead", 1]);
        assert.match(dead.last_error, /USD/);
      });

      // A plugin's and a webhook's letters, which the retrier leaves to an operator.
      const [{ id: pluginLetter }, { id: webhookLetter }] = await store.query<{ id: number }>(
        `insert into host.dead_letters (stage, reason, payload, created_at)
         values ('plugin:x', 'failed', '{}', now() - interval '1 hour'),
                ('webhook:y', 'HTTP 503', '{}', now() - interval '1 hour') returning id`,
      );

      // Retries 200 ms after a letter, then 800 ms after a failed retry …: p1 and p2 fail again and again, p3 is dead
      // and left alone.
      const policy = { retries: 5, baseMs: 200 };
      await withRuntime(backend, { pluginsDir, store, deadLetters: policy }, async (rt) => {
        await waitFor("p1 and p2 retried twice", async () => {
          const seen = await byId(rt);
          return ["p1", "p2"].every((id) => (seen.get(id)).retries >= 2);
        });
        const seen = await byId(rt);
        for (const id of ["p1", "p2"]) {
          const l = seen.get(id);
          assert.equal(l.state, "retrying");
          assert.match(l.last_error, /USD/);
          assert.ok(Date.parse(l.next_retry_at) > Date.parse(l.last_retry_at));
        }
        assert.deepEqual([seen.get("p3").state, seen.get("p3").retries], ["dead", 1]);
        const others = (await letters(rt, "state=pending")).items.map((l: Json) => [l.id, l.retries, l.next_retry_at]);
        assert.deepEqual(others, [[webhookLetter, 0, null], [pluginLetter, 0, null]]);
        assert.ok(rt.metrics.value("dead_letters_retried_total", {}) >= 4);
        assert.equal(rt.eventLog.head, 0);
      });

      // The rate configured: the next retries take p1 and p2 without anyone replaying them; p3 waits for a replay.
      const money = { base: "EUR", rates: { USD: 0.5 } };
      await withRuntime(backend, { pluginsDir, store, deadLetters: policy, money }, async (rt) => {
        await waitFor("p1 and p2 resolved by the retrier", async () => {
          return (await letters(rt, "state=resolved")).total === 2;
        }, 30_000);
        assert.equal(rt.eventLog.head, 2);
        assert.equal((await byId(rt)).get("p3").state, "dead");
        const p3 = (await byId(rt)).get("p3");
        assert.equal((await replay(rt, { ids: [p3.id] })).body.replayed, 1);
        const [{ amount }] = await store.query<{ amount: number }>(
          "select (body->'properties'->>'amount')::float8 as amount from host.events where event_id = 'p3'",
        );
        assert.equal(amount, 5);
        const final = await letters(rt, "stage=ingest");
        assert.deepEqual(final.by_state, { pending: 0, retrying: 0, dead: 0, resolved: 3 });
        assert.equal(final.items.find((l: Json) => l.payload.event_id === "p3").retries, 2);
        // The filters: a stage, a time range and a page.
        assert.equal((await letters(rt, "stage=plugin:nobody")).total, 0);
        assert.equal((await letters(rt, "from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z")).total, 0);
        assert.equal((await letters(rt, "from=2100-01-01T00:00:00Z")).total, 0);
        assert.equal((await letters(rt, "from=2000-01-01T00:00:00Z&stage=ingest")).total, 3);
        const page = await letters(rt, `stage=ingest&limit=1&before=${final.items[0].id}`);
        assert.deepEqual([page.total, page.items.length, page.items[0].id], [3, 1, final.items[1].id]);
        assert.equal((await getJson(rt, "/api/dead-letters?from=yesterday")).status, 400);
      });
    } finally {
      await store.close();
    }
  },
);

testEachBackend(
  "GET /api/dead-letters meets hostile query values with a 400 naming the field, or a literal filter; letters intact",
  async (backend) => {
    await withRuntime(backend, { pluginsDir: await pluginsFolder([]) }, async (rt) => {
      const bad = { event_id: "x1", type: "Bad Type", user_id: "u1", timestamp: "2026-03-01T10:00:00Z" };
      assert.equal((await postJson(rt, "/v1/events", [bad, pageView("ok1")])).body.accepted, 1);
      const before = (await getJson(rt, "/api/dead-letters")).body;
      assert.equal(before.total, 1);
      const cases: [query: string, status: number, answer: RegExp | number][] = [
        ["state=pending'%20or%20'1'='1", 400, /^state: Invalid option/],
        ["state=constructor", 400, /^state: Invalid option/],
        ["stage=ingest'%20or%20'1'='1", 200, 0], // a stage named so: none
        ["stage=ingest%3B%20delete%20from%20host.dead_letters", 200, 0],
        ["stage=%F0%9F%92%A9", 200, 0],
        ["stage=x%00y", 400, /NUL character/],
        ["stage=%C3%28", 400, /not valid percent-encoded UTF-8/],
        [`stage=${"a".repeat(81)}`, 400, /^stage: Too big/],
        ["limit=-1", 400, /^limit: Too small/],
        ["limit=1.5", 400, /^limit: Invalid input: expected int/],
        ["limit=abc", 400, /^limit: Invalid input/],
        ["limit=99999999999999999999", 400, /^limit: Too big/],
        ["before=0", 400, /^before: Too small/],
        ["before=9223372036854775808", 400, /^before: Too big/], // past int8: refused before the database sees it
        ["before=1e400", 400, /^before: Invalid input/],
        ["before=NaN", 400, /^before: Invalid input/],
        ["from=9999-12-31T00:00:00Z", 400, /^from: must be an ISO-8601 time within the years 1000 to 8999/],
        ["to=2026-13-45", 400, /^to: must be an ISO-8601 time/],
        ["from=2026-01-01T00:00:00%2B99:00", 400, /^from: must be an ISO-8601 time/],
        ["from=%00", 400, /NUL character/],
        ["limit=1e3&state=pending&state=dead", 200, 1],
      ];
      for (const [query, status, answer] of cases) {
        const res = await getJson(rt, `/api/dead-letters?${query}`);
        assert.equal(res.status, status, `${query}: ${JSON.stringify(res.body)}`);
        if (typeof answer === "number") assert.equal(res.body.total, answer, query);
        else assert.match(res.body.error, answer, query);
      }
      // Nothing moved: the letter as it was, the event stored, the service up.
      assert.deepEqual((await getJson(rt, "/api/dead-letters")).body, before);
      assert.equal((await rt.store.query("select count(*)::int8 as n from host.events"))[0].n, 1);
      assert.equal((await rt.app.request("/readyz")).status, 200);
    });
  },
);
