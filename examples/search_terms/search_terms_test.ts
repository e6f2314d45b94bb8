import assert from "node:assert/strict";
import type { ZodType } from "zod";
import { testPlugin } from "@runtime/testing";
import { TermList, TermStats } from "./mod.ts";

/** An event of user `user` at `time` on 2026-03-01 (UTC), in `session` unless it is null. */
const at = (id: string, type: string, user: string, session: string | null, time: string, properties = {}) => ({
  event_id: id,
  type,
  user_id: user,
  ...(session === null ? {} : { session_id: session }),
  timestamp: `2026-03-01T${time}:00Z`,
  properties,
});
const search = (id: string, user: string, session: string | null, time: string, query: string) =>
  at(id, "search", user, session, time, { query });

// Searches, and the carts and purchases around them. What each one counts for is said beside it.
const SEARCHES = [
  search("s1", "u1", "a", "10:00", "Running Shoes "), // then cart c1 and purchase p1: both
  search("s2", "u1", "a", "10:07", "running shoes"), // after c1, before p1: a purchase only
  search("s3", "u2", "b", "11:00", "RUNNING shoes"), // then cart c2; p2 is in another session
  search("s4", "u3", null, "12:00", "socks"), // no session: p3 is 29 minutes later, c3 before it
  search("s5", "u3", null, "13:00", "socks"), // p4 is 31 minutes later: too late
  search("s6", "u4", null, "12:00", "socks"), // nothing follows
  search("s7", "u5", "d", "09:00", "boots"), // then purchase p5
  search("s8", "u5", "d", "09:01", "   "), // no term: not counted
];
const CONVERSIONS = [
  at("c1", "add_to_cart", "u1", "a", "10:05", { product_id: "shoe-1", price: 59.9 }),
  at("p1", "purchase", "u1", "a", "10:10", { amount: 59.9 }),
  at("c2", "add_to_cart", "u2", "b", "11:02", { product_id: "shoe-2", price: 80 }),
  at("p2", "purchase", "u2", "c", "11:10", { amount: 20 }),
  at("c3", "add_to_cart", "u3", null, "11:59", { product_id: "sock-1", price: 5.5 }),
  at("p3", "purchase", "u3", null, "12:29", { amount: 5.5 }),
  at("p4", "purchase", "u3", null, "13:31", { amount: 7 }),
  at("p5", "purchase", "u5", "d", "09:30", { items: [{ product_id: "boot-1", price: 49.95, quantity: 2 }] }),
];

const RUNNING_SHOES = {
  term: "running shoes",
  searches: 3,
  users: 2,
  searches_with_cart: 2,
  searches_with_purchase: 2,
  cart_rate: 0.6667,
  conversion_rate: 0.6667,
  purchases: 1,
  revenue: 59.9,
};
const SOCKS = {
  term: "socks",
  searches: 3,
  users: 2,
  searches_with_cart: 0,
  searches_with_purchase: 1,
  cart_rate: 0,
  conversion_rate: 0.3333,
  purchases: 1,
  revenue: 5.5,
};
const BOOTS = {
  term: "boots",
  searches: 1,
  users: 1,
  searches_with_cart: 0,
  searches_with_purchase: 1,
  cart_rate: 0,
  conversion_rate: 1,
  purchases: 1,
  revenue: 99.9,
};

/** The body of a 200 answer, checked to be exactly what `schema` (the route's description) allows. */
function valid(answer: { status: number; body: unknown }, schema: ZodType): unknown {
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.deepEqual(schema.parse(answer.body), answer.body);
  return answer.body;
}

Deno.test({
  name: "search_terms",
  // The plugin's sandbox and database outlive single ops; the harness stops them.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using h = await testPlugin(new URL("./", import.meta.url));

    await t.step("counts conversions exactly when the carts and purchases arrive before the searches", async () => {
      await h.send(CONVERSIONS);
      assert.deepEqual(valid(await h.get("/terms"), TermList), { sort: "searches", terms: [] });
      await h.send(SEARCHES);
      assert.deepEqual(valid(await h.get("/terms"), TermList), {
        sort: "searches",
        terms: [RUNNING_SHOES, SOCKS, BOOTS],
      });
    });

    await t.step("counts a duplicate event_id once", async () => {
      const again = await h.send([search("s1", "u1", "a", "10:00", "running shoes"), CONVERSIONS[1]]);
      assert.equal(again.body.accepted, 2); // acknowledged, but the log keeps the first of each
      assert.deepEqual(valid(await h.get("/terms/running%20shoes"), TermStats), RUNNING_SHOES);
      assert.deepEqual(await h.sql("select count(*)::int as n from searches"), [{ n: 7 }]);
    });

    await t.step("sorts by conversion and limits", async () => {
      assert.deepEqual(valid(await h.get("/terms?sort=conversion&limit=2"), TermList), {
        sort: "conversion",
        terms: [BOOTS, RUNNING_SHOES],
      });
    });

    await t.step("looks a term up trimmed and lower-cased; 404 for one never searched", async () => {
      assert.deepEqual(valid(await h.get("/terms/%20Socks"), TermStats), SOCKS);
      assert.deepEqual(await h.get("/terms/sandals"), { status: 404, body: { error: "no searches for 'sandals'" } });
    });

    await t.step("answers 400 for a bad limit or sort", async () => {
      const limit = await h.get("/terms?limit=0");
      assert.equal(limit.status, 400);
      assert.match(limit.body.error, /^limit: .*, got '0'$/);
      const sort = await h.get("/terms?sort=price");
      assert.equal(sort.status, 400);
      assert.match(sort.body.error, /^sort: .*, got 'price'$/);
    });

    await t.step("publishes its described routes in /api/openapi.json", async () => {
      const { paths } = await (await h.runtime.app.request("/api/openapi.json")).json();
      assert.equal(paths["/api/search_terms/terms"].get.summary, "Search terms with their conversion");
      const params = paths["/api/search_terms/terms"].get.parameters.map((p: { name: string }) => p.name);
      assert.deepEqual(params, ["limit", "sort", "format", "table"]); // the last two: the host's CSV export
      assert.equal(paths["/api/search_terms/terms/{term}"].get.summary, "One search term's numbers");
    });

    const info = await h.plugin();
    assert.deepEqual([info.status, info.processed, info.failed], ["running", 16, 0]);
    assert.deepEqual(await h.deadLetters(), []);
  },
});
