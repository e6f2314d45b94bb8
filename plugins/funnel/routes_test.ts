import assert from "node:assert/strict";
import { type Json, type PluginHarness, type TestBackend, testEachBackend, testPlugin } from "@runtime/testing";

const T0 = Date.parse("2026-05-01T10:00:00Z");
let seq = 0;

/** An event of `user` at `minute` after 10:00. */
function ev(user: string, type: string, minute: number, properties: Json = {}, session_id?: string) {
  return {
    event_id: `e${++seq}`,
    user_id: user,
    type,
    timestamp: new Date(T0 + minute * 60_000).toISOString(),
    properties: type === "purchase" ? { amount: 10, ...properties } : properties,
    ...(session_id ? { session_id } : {}),
  };
}

async function send(h: PluginHarness, events: unknown[]) {
  const res = await h.send(events);
  assert.deepEqual(res.body, { accepted: events.length, rejected: [] });
}

/** Users per step and the users listed as dropped before each step. */
async function report(h: PluginHarness, definition: Json, query = "") {
  const res = await h.post(`/report?dropped_limit=100${query}`, { name: "adhoc", ...definition });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}
const users = (r: Json) => r.steps.map((s: Json) => s.users);

async function withFunnel(backend: TestBackend, fn: (h: PluginHarness) => Promise<void>) {
  await using h = await testPlugin(new URL("./", import.meta.url), { backend });
  await fn(h);
}

testEachBackend("funnel definitions are created, replaced, listed, deleted and validated", async (backend) => {
  await withFunnel(backend, async (h) => {
    const created = await h.post("/definitions", { name: "buy", steps: ["page_view", "purchase"] });
    assert.equal(created.status, 201);
    assert.deepEqual(
      { ...created.body, created_at: undefined, updated_at: undefined },
      {
        name: "buy",
        steps: [{ type: "page_view", where: {} }, { type: "purchase", where: {} }],
        order: "sequential",
        window_seconds: 14 * 86_400,
        created_at: undefined,
        updated_at: undefined,
      },
    );
    const replaced = await h.post("/definitions", {
      name: "buy",
      steps: [{ type: "add_to_cart", where: { category: "books" } }, "purchase"],
      order: "strict",
      window_seconds: 60,
    });
    assert.equal(replaced.status, 200);
    assert.equal(replaced.body.created_at, created.body.created_at);
    const listed = (await h.get("/definitions")).body.definitions;
    assert.deepEqual(listed.map((d: Json) => [d.name, d.order, d.steps[0].where]), [["buy", "strict", {
      category: "books",
    }]]);
    assert.equal((await h.get("/definitions/buy")).body.window_seconds, 60);

    const bad: [unknown, RegExp][] = [
      [{ name: "x", steps: ["page_view"] }, /steps: a funnel has 2 to 8 steps/],
      [{ name: "x", steps: Array(9).fill("page_view") }, /steps: a funnel has 2 to 8 steps/],
      [{ name: "x", steps: ["page_view", "Purchase!"] }, /steps\.1/],
      [{ name: "x", steps: ["a", "b"], order: "random" }, /order/],
      [{ name: "x", steps: ["a", "b"], window_seconds: 0 }, /window_seconds/],
      [{ name: "x", steps: ["a", "b"], colour: "red" }, /colour|unrecognized/i],
      [{ name: "Bad Name", steps: ["a", "b"] }, /name/],
      [{ name: "x", steps: [{ type: "a", where: { nested: { no: 1 } } }, "b"] }, /steps\.0\.where\.nested/],
      ["not json at all", /JSON/],
    ];
    for (const [body, message] of bad) {
      // A string is sent as it is: "not json at all" is a body that is not JSON.
      const res = typeof body === "string"
        ? await h.request("/definitions", { method: "POST", headers: { "content-type": "application/json" }, body })
        : await h.post("/definitions", body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.body.error, message);
    }
    for (const q of ["breakdown=a%20b", "dropped_limit=-1", "from=yesterday"]) {
      assert.equal((await h.get(`/definitions/buy/report?${q}`)).status, 400, q);
    }
    assert.equal((await h.get("/definitions/nope/report")).status, 404);
    const del = await h.request("/definitions/buy", { method: "DELETE" });
    assert.equal(del.status, 204);
    assert.equal((await h.request("/definitions/buy", { method: "DELETE" })).status, 404);
    assert.equal((await h.get("/definitions/buy")).status, 404);
  });
});

testEachBackend("custom funnel reports: order modes, windows, repeated steps, filters, breakdown", async (backend) => {
  await withFunnel(backend, async (h) => {
    const DE = { country: "DE" }, FR = { country: "FR" };
    await send(h, [
      // a: the whole funnel in order, 5 then 15 minutes apart.
      ev("a", "page_view", 0, DE),
      ev("a", "add_to_cart", 5, { ...DE, category: "books" }),
      ev("a", "purchase", 20, DE),
      // b: buys before adding to cart: sequential stops at the cart; any order counts all three.
      ev("b", "page_view", 0, FR),
      ev("b", "purchase", 1, FR),
      ev("b", "add_to_cart", 2, { ...FR, category: "toys" }),
      // c: adds to cart an hour after the view: outside a 30-minute window.
      ev("c", "page_view", 0, FR),
      ev("c", "add_to_cart", 60, FR),
      // d: never views a page: never enters an ordered funnel.
      ev("d", "add_to_cart", 0),
      // e: a search between cart and purchase: strict order stops at the cart.
      ev("e", "page_view", 0, DE),
      ev("e", "add_to_cart", 1, DE),
      ev("e", "search", 2, DE),
      ev("e", "purchase", 3, DE),
    ]);
    const steps = ["page_view", "add_to_cart", "purchase"];
    const seq = await report(h, { steps, window_seconds: 1800 }, "&breakdown=country");
    assert.deepEqual(users(seq), [4, 3, 2]); // a, b, c, e enter; a, b, e add to cart; a, e buy
    assert.deepEqual(seq.steps.map((s: Json) => s.drop_off), [0, 1, 1]);
    assert.deepEqual(seq.steps.map((s: Json) => s.dropped_users), [[], ["c"], ["b"]]);
    assert.deepEqual(seq.steps.map((s: Json) => s.conversion_from_previous), [1, 0.75, 0.6667]);
    assert.deepEqual(seq.steps.map((s: Json) => s.median_seconds_to_convert), [null, 120, 510]); // carts 300, 120, 60 s; buys 900, 120 s
    assert.equal(seq.conversion_rate, 0.5);
    assert.deepEqual(seq.breakdown, {
      by: "country",
      rows: [
        { key: "DE", other: false, users: [2, 2, 2], conversion_rate: 1 },
        { key: "FR", other: false, users: [2, 1, 0], conversion_rate: 0 },
      ],
    });
    // The top value (ties by value), then the others together; conditions every step's event must meet.
    const top = await report(h, { steps, window_seconds: 1800 }, "&breakdown=country&breakdown_limit=1");
    assert.deepEqual(top.breakdown.rows, [
      { key: "DE", other: false, users: [2, 2, 2], conversion_rate: 1 },
      { key: null, other: true, users: [2, 1, 0], conversion_rate: 0 },
    ]);
    assert.deepEqual(users(await report(h, { steps, window_seconds: 1800 }, "&where=country:eq:FR")), [2, 1, 0]);
    // b's cart is a toy: with it left out, b stops at the view; with DE only as well, b and c do not enter.
    const noToys = await report(h, { steps, window_seconds: 1800 }, "&where=category:ne:toys");
    assert.deepEqual(users(noToys), [4, 2, 2]);
    const deNoToys = await report(h, { steps, window_seconds: 1800 }, "&where=category:ne:toys&where=country:eq:DE");
    assert.deepEqual(users(deNoToys), [2, 2, 2]);
    // In strict order an event that does not count still comes between: a's books cart, left out, ends a's attempt.
    assert.deepEqual(users(await report(h, { steps, order: "strict" }, "&where=category:ne:books")), [4, 2, 0]);
    // In any order, left-out events are no steps: b's toy cart no longer completes b.
    assert.deepEqual(users(await report(h, { steps, order: "any", window_seconds: 1800 }, "&where=category:ne:toys")), [
      5,
      3,
      2,
    ]);
    assert.deepEqual(users(await report(h, { steps, window_seconds: 7200 })), [4, 4, 2]); // c's cart now counts
    assert.deepEqual(users(await report(h, { steps, order: "strict" })), [4, 3, 1]); // e's search breaks it
    assert.deepEqual(users(await report(h, { steps, order: "any", window_seconds: 1800 })), [5, 3, 3]); // d enters
    // Repeated steps need distinct events; a property filter narrows a step.
    assert.deepEqual(users(await report(h, { steps: ["page_view", "page_view"] })), [4, 0]);
    const books = await report(h, { steps: [{ type: "add_to_cart", where: { category: "books" } }, "purchase"] });
    assert.deepEqual(users(books), [1, 1]);
    // The range bounds when users enter, not when they convert.
    const from = new Date(T0 + 60_000).toISOString();
    assert.deepEqual(users(await report(h, { steps }, `&from=${from}`)), [0, 0, 0]);
    assert.deepEqual(users(await report(h, { steps: ["add_to_cart", "purchase"] }, `&from=${from}`)), [4, 2]);
    // A saved funnel reports the same as the unsaved one.
    await h.post("/definitions", { name: "seq", steps, window_seconds: 1800 });
    const saved = (await h.get("/definitions/seq/report?breakdown=country&dropped_limit=100")).body;
    assert.deepEqual({ ...saved, name: "adhoc" }, seq);
    // User properties: each user's latest plan from identify (a later one wins, a group's is not theirs).
    await send(h, [
      ev("a", "identify", -30, { traits: { plan: "free" } }),
      ev("a", "identify", 30, { traits: { plan: "pro" } }),
      ev("b", "identify", -20, { traits: { plan: "free" } }),
      ev("b", "group", 40, { traits: { plan: "enterprise" }, group_id: "g" }),
    ]);
    const byPlan = await report(h, { steps, window_seconds: 1800 }, "&breakdown=user.plan");
    assert.deepEqual(byPlan.breakdown, {
      by: "user.plan",
      rows: [
        { key: null, other: false, users: [2, 1, 1], conversion_rate: 0.5 }, // c and e
        { key: "free", other: false, users: [1, 1, 0], conversion_rate: 0 }, // b
        { key: "pro", other: false, users: [1, 1, 1], conversion_rate: 1 }, // a
      ],
    });
    assert.deepEqual(users(await report(h, { steps, window_seconds: 1800 }, "&where=user.plan:set")), [2, 2, 1]);
    // The same trait filtered and broken down by; the others together past the first.
    const paying = await report(h, { steps }, "&where=user.plan:ne:free&breakdown=user.plan&breakdown_limit=1");
    assert.deepEqual(paying.breakdown.rows, [
      { key: null, other: false, users: [2, 2, 1], conversion_rate: 0.5 }, // c (cart within 14 days now) and e
      { key: null, other: true, users: [1, 1, 1], conversion_rate: 1 }, // a, pro
    ]);
    const people = await h.get("/definitions/seq/users?step=3&outcome=reached&where=user.plan:eq:pro");
    assert.deepEqual(people.body.users.map((u: Json) => u.user_id), ["a"]);
  });
});

testEachBackend(
  "sessions: the default funnel per session, late events merging sessions, hot leads",
  async (backend) => {
    await withFunnel(backend, async (h) => {
      await send(h, [
        // x: an explicit session through to purchase, and an inferred one abandoning at checkout.
        ev("x", "page_view", 0, {}, "s1"),
        ev("x", "add_to_cart", 2, { price: 20, quantity: 2 }, "s1"),
        ev("x", "checkout", 4, {}, "s1"),
        ev("x", "purchase", 5, {}, "s1"),
        ev("x", "product_view", 100),
        ev("x", "add_to_cart", 101, { price: 50, quantity: 1 }),
        ev("x", "checkout", 102),
        // y: abandons a cart without checkout; z abandons, then buys in a later session: not a lead.
        ev("y", "product_view", 110),
        ev("y", "add_to_cart", 111, { price: 5 }),
        ev("z", "product_view", 0),
        ev("z", "add_to_cart", 1),
        ev("z", "page_view", 120),
        ev("z", "purchase", 121),
        // w: two inferred sessions 40 minutes apart, until a late event at 20 joins them.
        ev("w", "page_view", 0),
        ev("w", "page_view", 40),
        // v moves the watermark to 200: the others' sessions have ended, their carts are abandoned.
        ev("v", "page_view", 200),
      ]);
      let w = (await h.get("/users/w/sessions")).body.sessions;
      assert.equal(w.length, 2);
      await send(h, [ev("w", "add_to_cart", 20)]);
      w = (await h.get("/users/w/sessions")).body.sessions;
      assert.deepEqual(w.map((s: Json) => [s.events, s.duration_s, s.furthest_step, s.abandoned_cart]), [
        [3, 2400, "add_to_cart", true],
      ]);

      const x = (await h.get("/users/x/sessions")).body.sessions;
      assert.deepEqual(x.map((s: Json) => [s.session_id, s.events, s.furthest_step, s.cart_value]), [
        [null, 3, "checkout", 50],
        ["s1", 4, "purchase", 40],
      ]);
      assert.deepEqual(x[1].timeline.map((e: Json) => e.type), ["page_view", "add_to_cart", "checkout", "purchase"]);
      assert.deepEqual(x[1].steps.map((s: Json) => s.step), ["view", "add_to_cart", "checkout", "purchase"]);
      assert.equal((await h.get("/users/nobody/sessions")).status, 404);

      const summary = (await h.get("/summary")).body;
      // Sessions: x:s1, x inferred, y, z twice, w, v: 7, all with a view; carts after a view in x, x, y, z, w.
      assert.equal(summary.sessions, 7);
      assert.deepEqual(summary.steps.map((s: Json) => s.sessions), [7, 5, 2, 1]);
      assert.deepEqual(summary.steps.map((s: Json) => s.conversion_from_previous), [1, 0.7143, 0.4, 0.5]);
      assert.equal(summary.steps[1].median_seconds_from_previous, 60); // 120, 60, 60, 60, 1200 s
      assert.equal(summary.cart_abandonment_rate, 0.8); // 4 of 5 carted sessions bought nothing

      const { leads, window } = (await h.get("/hot-leads?hours=24")).body;
      assert.equal(window.to, new Date(T0 + 200 * 60_000).toISOString()); // the watermark, not the wall clock
      assert.deepEqual(leads.map((l: Json) => [l.user_id, l.furthest_step, l.prior_purchases]), [
        ["x", "checkout", 1], // reached checkout and bought before: ranked first
        ["y", "add_to_cart", 0], // left 89 minutes ago: fresher than w
        ["w", "add_to_cart", 0],
      ]);
      // 0.35 checkout + 0.1 one purchase + 0.2 × (1 − 98 min / 24 h) recency + 0.15 × 3 / 20 events.
      assert.equal(leads[0].score, 0.6589);
      assert.deepEqual(leads[0].reasons, [ // by weight
        "reached checkout",
        "left 1.6 h ago",
        "1 earlier purchase",
        "3 events in the session",
      ]);
      assert.ok(leads.every((l: Json) => l.score > 0 && l.score <= 1));
    });
  },
);
