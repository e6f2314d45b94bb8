import assert from "node:assert/strict";
import { type Json, testEachBackend, testPlugin } from "@runtime/testing";

const T0 = Date.parse("2026-05-01T10:00:00Z");

/** An event of `user` at `minute` after 10:00 on May 1st, in session `s1`. */
function ev(id: string, user: string, type: string, minute: number) {
  return {
    event_id: id,
    user_id: user,
    type,
    session_id: "s1",
    timestamp: new Date(T0 + minute * 60_000).toISOString(),
    properties: type === "purchase" ? { amount: 10 } : {},
  };
}

testEachBackend(
  "the users behind a funnel step: who reached it, who dropped before it, a page at a time",
  async (backend) => {
    await using h = await testPlugin(new URL("./", import.meta.url), { backend });
    // Ann buys; Bob and Cy add to cart; Dee only looks; Eve only searches (she never enters).
    await h.send([
      ...["product_view", "add_to_cart", "checkout", "purchase"].map((t, i) => ev(`a${i}`, "ann", t, i)),
      ev("b0", "bob", "product_view", 0),
      ev("b1", "bob", "add_to_cart", 5),
      ev("c0", "cy", "product_view", 1),
      ev("c1", "cy", "add_to_cart", 2),
      ev("c2", "cy", "checkout", 3),
      ev("d0", "dee", "product_view", 0),
      ev("e0", "eve", "search", 0),
    ]);
    const funnel = { name: "buy", steps: ["product_view", "add_to_cart", "purchase"] };
    assert.equal((await h.post("/definitions", funnel)).status, 201);

    const users = async (query: string) => {
      const res = await h.get(`/definitions/buy/users?${query}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return [res.body.total, res.body.users.map((u: Json) => u.user_id), res.body.next];
    };
    assert.deepEqual(await users("step=2&outcome=reached"), [3, ["ann", "bob", "cy"], null]);
    assert.deepEqual(await users("step=2"), [1, ["dee"], null]); // dropped is the default
    assert.deepEqual(await users("step=3"), [2, ["bob", "cy"], null]);
    assert.deepEqual(await users("step=1&outcome=reached&limit=2"), [4, ["ann", "bob"], "bob"]);
    assert.deepEqual(await users("step=1&outcome=reached&limit=2&after=bob"), [4, ["cy", "dee"], null]);
    assert.deepEqual(await users("step=3&from=2026-05-01T10:00:30Z"), [1, ["cy"], null]); // entered from 10:00:30
    assert.deepEqual((await h.get("/definitions/buy/users?step=3&limit=1")).body.users, [
      {
        user_id: "bob",
        entered_at: "2026-05-01T10:00:00.000Z",
        furthest_step: 2,
        last_step_at: "2026-05-01T10:05:00.000Z",
      },
    ]);

    // The default funnel, per session: view, add_to_cart, checkout, purchase.
    const summary = async (query: string) => {
      const res = await h.get(`/summary/users?${query}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return [res.body.total, res.body.users.map((u: Json) => u.user_id)];
    };
    assert.deepEqual(await summary("step=checkout&outcome=reached"), [2, ["ann", "cy"]]);
    assert.deepEqual(await summary("step=checkout"), [1, ["bob"]]);
    assert.deepEqual(await summary("step=purchase"), [1, ["cy"]]);
    assert.deepEqual(await summary("step=view"), [1, ["eve"]]); // a session without a view
    assert.deepEqual((await h.get("/summary/users?step=purchase")).body.users, [
      { user_id: "cy", sessions: 1, last_session_at: "2026-05-01T10:01:00.000Z" },
    ]);

    for (
      const [path, status, message] of [
        ["/definitions/buy/users?step=4", 400, /step: funnel 'buy' has 3 steps, got 4/],
        ["/definitions/buy/users?step=1", 400, /step: no one drops before the first step/],
        ["/definitions/buy/users", 400, /step/],
        ["/definitions/buy/users?step=2&outcome=left", 400, /outcome/],
        ["/definitions/nope/users?step=2", 404, /no funnel named 'nope'/],
        ["/summary/users?step=pay", 400, /step/],
        ["/summary/users?step=view&limit=0", 400, /limit/],
      ] as const
    ) {
      const res = await h.get(path);
      assert.equal(res.status, status, path);
      assert.match(res.body.error, message, path);
    }
  },
);
