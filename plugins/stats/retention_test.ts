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

    // Cohorts by the first purchase, back on any event. a's first purchase arrives late and moves a to the 3rd; e
    // visited the week before, bought as a visitor on the 4th and again, signed in, on the 6th: one person, whose first
    // purchase is the 4th.
    await h.send([
      { ...at("e0", "page_view", "anon-e", 2), timestamp: "2026-02-27T10:00:00Z" },
      at("e1", "purchase", "anon-e", 4, 10, { amount: 5, currency: "EUR" }),
    ]);
    await h.send([
      at("a0", "purchase", "a", 3, 9, { amount: 7, currency: "EUR" }),
      at("e2", "purchase", "e", 6, 9, { amount: 5, currency: "EUR" }),
    ]);
    await h.send([at("e3", "identify", "e", 6, 9, { anonymous_id: "anon-e" })]);
    // The counts by cohort hold each buyer once per day (week) from their first purchase on, and nothing before it.
    const counted = async (table: string, period: string, type: string) =>
      (await h.sql<{ row: string }>(
        `select concat_ws(' ', first, ${period}, users) as row from ${table} where type = $1 and users <> 0
         order by first, ${period}`,
        [type],
      )).map((r) => r.row);
    assert.deepEqual(await counted("cohort_days", "day", "purchase"), [
      "2026-03-03 2026-03-03 1",
      "2026-03-03 2026-03-05 1",
      "2026-03-04 2026-03-04 1",
      "2026-03-04 2026-03-06 1",
    ]);
    assert.deepEqual(await counted("cohort_weeks", "week", "purchase"), ["2026-03-02 2026-03-02 2"]);
    for (const [table, period] of [["cohort_days", "day"], ["cohort_weeks", "week"]]) {
      const [odd] = await h.sql<{ n: number }>(
        `select count(*)::int as n from ${table} where ${period} < first or users < 0`,
      );
      assert.equal(odd.n, 0, `${table}: no count before its cohort's start, none below zero`);
    }
    // The answers by first purchase are read from those counts: a count changed by hand shows in them.
    const shift = (n: number) =>
      h.sql(
        "update cohort_days set users = users + $1 where type = 'purchase' and first = '2026-03-03' and day = first",
        [n],
      );
    await shift(100);
    const shifted = (await h.get("/retention?periods=1&start_event=purchase&from=2026-03-03&to=2026-03-04")).body;
    assert.deepEqual(shifted.cohorts[0].retained, [101, 0]);
    await shift(-100);
    const firstPurchase = (await h.get("/retention?periods=3&start_event=purchase&from=2026-03-02&to=2026-03-07"))
      .body;
    assert.deepEqual(firstPurchase.cohorts.map((c: { users: number; retained: number[] }) => [c.users, c.retained]), [
      [0, [0, 0, 0, 0]],
      [1, [1, 0, 1, 0]],
      [1, [1, 0, 1, null]],
      [0, [0, 0, null, null]],
      [0, [0, null, null, null]],
    ]);
    const firstPurchaseWeekly = (await h.get("/retention?interval=week&periods=1&start_event=purchase")).body;
    assert.deepEqual(firstPurchaseWeekly.cohorts.map((c: { users: number }) => c.users), [0, 2]);

    // Weeks from Monday: e's, back the next week, and one of the other four, whose next week has not begun.
    const weekly = (await h.get("/retention?interval=week&periods=1")).body;
    assert.deepEqual(weekly.cohorts, [
      { start: "2026-02-23", users: 1, retained: [1, 1], rates: [1, 1] },
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
    assert.deepEqual(await ids("cohort=2026-03-03&start_event=purchase"), [1, ["a"], null]);
    assert.deepEqual(await ids("cohort=2026-03-04&start_event=purchase&period=2"), [1, ["e"], null]);
    assert.deepEqual(await ids("cohort=2026-03-05&start_event=purchase"), [0, [], null]);
    assert.deepEqual(await ids("cohort=2026-03-02&interval=week"), [4, ["a", "b", "c", "d"], null]);
    // A page at a time: `next` is the cursor, `total` the whole cell's.
    assert.deepEqual(await ids("cohort=2026-03-02&interval=week&limit=3"), [4, ["a", "b", "c"], "c"]);
    assert.deepEqual(await ids("cohort=2026-03-02&interval=week&limit=3&after=c"), [4, ["d"], null]);
    const [a] = (await h.get("/retention/users?cohort=2026-03-02&limit=1")).body.users;
    assert.deepEqual(a, {
      user_id: "a",
      events: 4,
      purchases: 2,
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

testEachBackend(
  "migration 013 fills the counts by start type from the users' days as the batches keep them",
  async (backend) => {
    await using h = await testPlugin(new URL("./", import.meta.url), { backend });
    // Forty users, each with events of a few types over March's first three weeks; some sent late, one visitor linked.
    const types = ["page_view", "product_view", "add_to_cart", "purchase", "search"];
    let seed = 7;
    const next = (n: number) => (seed = (seed * 48271) % 2147483647) % n; // Park and Miller's generator
    const events = Array.from({ length: 400 }, (_, i) => {
      const type = types[next(types.length)];
      const props = type === "purchase" ? { amount: 5, currency: "EUR" } : {};
      return at(`m${i}`, type, `u${next(40)}`, 1 + next(21), next(24), props);
    });
    await h.send(events.slice(0, 250));
    await h.send([...events.slice(300), at("link", "identify", "u3", 20, 12, { anonymous_id: "u4" })]);
    await h.send(events.slice(250, 300)); // late
    const counted = async () =>
      (await h.sql<{ row: string }>(
        `select concat_ws(' ', 'day', type, first, day, users) as row from cohort_days where type <> '' and users <> 0
         union all
         select concat_ws(' ', 'week', type, first, week, users) from cohort_weeks where type <> '' and users <> 0
         order by 1`,
      )).map((r) => r.row);
    const kept = await counted();
    assert.ok(kept.length > 100, `${kept.length} counts`);
    await h.sql("delete from cohort_days where type <> ''");
    await h.sql("delete from cohort_weeks where type <> ''");
    const migration = await Deno.readTextFile(new URL("./migrations/013_cohorts_by_type.sql", import.meta.url));
    const fills = migration.split(";").filter((s) => s.includes("insert into"));
    assert.equal(fills.length, 16);
    for (const statement of fills) await h.sql(statement);
    assert.deepEqual(await counted(), kept);
  },
);
