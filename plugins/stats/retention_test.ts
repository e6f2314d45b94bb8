import assert from "node:assert/strict";
import { testEachBackend, testPlugin } from "@runtime/testing";

/** An event of `user` on March `day` 2026 (a Monday is the 2nd) at `hour` UTC. */
const at = (id: string, type: string, user: string, day: number, hour = 10, properties: object = {}) => ({
  event_id: id,
  type,
  user_id: user,
  timestamp: `2026-03-${String(day).padStart(2, "0")}T${String(hour).padStart(2, "0")}:00:00Z`,
  properties,
});

testEachBackend(
  "GET /retention counts each cohort's users back per day or week, under late and duplicate events and identity links",
  async (backend) => {
    await using h = await testPlugin(new URL("./", import.meta.url), { backend });
    await h.send([
      at("a1", "page_view", "a", 2),
      at("a2", "page_view", "a", 3),
      at("a3", "purchase", "a", 5, 10, { amount: 20, currency: "EUR" }),
      at("b1", "page_view", "b", 3),
      at("c1", "page_view", "c", 4),
      at("c1", "page_view", "c", 4), // a duplicate
      at("d1", "page_view", "anon-d", 2),
    ]);
    // b's first visit arrives late: b moves to the cohort of the 2nd. d signs in on the 6th: anon-d's history is d's.
    await h.send([at("b0", "page_view", "b", 2, 23), at("d2", "identify", "d", 6, 12, { anonymous_id: "anon-d" })]);

    const daily = (await h.get("/retention?periods=4")).body;
    assert.equal(daily.as_of, "2026-03-06T12:00:00.000Z");
    assert.deepEqual(daily.cohorts, [
      { start: "2026-03-02", users: 3, retained: [3, 2, 0, 1, 1], rates: [1, 0.6667, 0, 0.3333, 0.3333] },
      { start: "2026-03-03", users: 0, retained: [0, 0, 0, 0, null], rates: [null, null, null, null, null] },
      { start: "2026-03-04", users: 1, retained: [1, 0, 0, null, null], rates: [1, 0, 0, null, null] },
      { start: "2026-03-05", users: 0, retained: [0, 0, null, null, null], rates: [null, null, null, null, null] },
      { start: "2026-03-06", users: 0, retained: [0, null, null, null, null], rates: [null, null, null, null, null] },
    ]);
    assert.deepEqual(daily.average, [1, 0.5, 0, 0.3333, 0.3333]);

    // Back with a purchase; cohorts by the first purchase; an explicit range.
    const purchases = (await h.get("/retention?periods=4&return_event=purchase&from=2026-03-02&to=2026-03-03"))
      .body;
    assert.deepEqual(purchases.cohorts.map((c: { retained: number[] }) => c.retained), [[3, 0, 0, 1, 0]]);
    const buyers = (await h.get("/retention?periods=1&start_event=purchase&from=2026-03-05T08:00:00Z&to=2026-03-06"))
      .body;
    assert.deepEqual(buyers.cohorts, [{ start: "2026-03-05", users: 1, retained: [1, 0], rates: [1, 0] }]);

    // Weeks from Monday: one cohort of all four, whose next week has not begun.
    const weekly = (await h.get("/retention?interval=week&periods=1")).body;
    assert.deepEqual(weekly.cohorts, [
      { start: "2026-02-23", users: 0, retained: [0, 0], rates: [null, null] },
      { start: "2026-03-02", users: 4, retained: [4, null], rates: [1, null] },
    ]);

    // The people behind the cells: the cohort of the 2nd is a, b and d, of whom a and b came back on the 3rd.
    const ids = async (query: string) => {
      const res = await h.get(`/retention/users?${query}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return [res.body.total, res.body.users.map((u: { user_id: string }) => u.user_id), res.body.next];
    };
    assert.deepEqual(await ids("cohort=2026-03-02"), [3, ["a", "b", "d"], null]);
    assert.deepEqual(await ids("cohort=2026-03-02&period=1"), [2, ["a", "b"], null]);
    assert.deepEqual(await ids("cohort=2026-03-02&period=2"), [0, [], null]);
    assert.deepEqual(await ids("cohort=2026-03-02&period=3&return_event=purchase"), [1, ["a"], null]);
    assert.deepEqual(await ids("cohort=2026-03-02&period=4"), [1, ["d"], null]);
    assert.deepEqual(await ids("cohort=2026-03-05&start_event=purchase"), [1, ["a"], null]);
    assert.deepEqual(await ids("cohort=2026-03-02&interval=week"), [4, ["a", "b", "c", "d"], null]);
    // A page at a time: `next` is the cursor, `total` the whole cell's.
    assert.deepEqual(await ids("cohort=2026-03-02&interval=week&limit=3"), [4, ["a", "b", "c"], "c"]);
    assert.deepEqual(await ids("cohort=2026-03-02&interval=week&limit=3&after=c"), [4, ["d"], null]);
    const [a] = (await h.get("/retention/users?cohort=2026-03-02&limit=1")).body.users;
    assert.deepEqual(a, {
      user_id: "a",
      events: 3,
      purchases: 1,
      spent: (await h.get("/users/a")).body.spent,
      first_seen: "2026-03-02T10:00:00.000Z",
      last_seen: "2026-03-05T10:00:00.000Z",
    });
    for (
      const [query, message] of [
        ["cohort=2026-03-03&interval=week", /cohort: must be a Monday when interval is week/],
        ["cohort=2026-02-30", /cohort: must be a real date/],
        ["cohort=March", /cohort: must be a date/],
        ["cohort=0000-01-01", /cohort: must be within the years 1000 to 8999/],
        ["cohort=0000-01-03&interval=week", /cohort: must be within the years 1000 to 8999/],
        ["", /cohort/],
        ["cohort=2026-03-02&period=91", /period/],
        ["cohort=2026-03-02&limit=0", /limit/],
      ] as const
    ) {
      const res = await h.get(`/retention/users?${query}`);
      assert.equal(res.status, 400, query);
      assert.match(res.body.error, message, query);
    }

    assert.equal((await h.get("/retention?from=2026-03-05&to=2026-03-01")).status, 400);
    assert.equal((await h.get("/retention?interval=day&from=2025-01-01&to=2026-03-01")).status, 400);
    assert.equal((await h.get("/retention?start_event=Page%20View")).status, 400);
  },
);
