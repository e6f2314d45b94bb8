import assert from "node:assert/strict";
import { type QueryEdges, routeChecker, Simulator, testEachBackend, testPlugin } from "@runtime/testing";
import plugin from "./mod.ts";

/** A time inside the events sent, and one that is no time. */
const TIME: QueryEdges = { good: ["2026-02-01T08:30:00Z"], bad: ["yesterday"] };
/** An event type, and what is none. */
const TYPE: QueryEdges = { good: ["purchase"], bad: ["Page View"] };
/** A page's cursor (a user_id), and one longer than any. */
const AFTER: QueryEdges = { good: ["m"], bad: ["x".repeat(129)] };
/** A cohort's first day, and what is none. */
const COHORT: QueryEdges = { good: ["2026-02-01"], bad: ["Feb 1", "2026-02-30"] };
/** A property to break down by, and what is none. */
const BREAKDOWN: QueryEdges = { good: ["country", "user.plan"], bad: ["a b", "user.", "user.a-b"] };
/** A condition, and what is none. */
const WHERE: QueryEdges = {
  good: ["country:eq:DE", "price:gte:10.5", "user.plan:unset", "page:contains:a:b"],
  bad: ["country", "country:like:x", "price:gt:ten", "country:set:x", "x".repeat(401)],
};

testEachBackend("every stats route answers what its OpenAPI description says", async (backend) => {
  await using h = await testPlugin(new URL("./", import.meta.url), { backend });
  const sim = new Simulator({ seed: 11, users: 60, start: new Date("2026-02-01T08:00:00Z") });
  // Users' plans and seats, as an identify's traits: user properties to break down by.
  const simulated = sim.take(2500);
  const identified = simulated.filter((_, i) => i % 50 === 0).map((e, i) => ({
    event_id: `identify-${i}`,
    type: "identify",
    user_id: e.user_id,
    timestamp: e.timestamp,
    properties: { traits: { plan: i % 2 ? "pro" : "free", seats: i } },
  }));
  const events = [...simulated, ...identified];
  for (let i = 0; i < events.length; i += 1000) {
    const batch = events.slice(i, i + 1000);
    assert.deepEqual((await h.send(batch)).body, { accepted: batch.length, rejected: [] });
  }
  const [busiest] = await h.sql<{ user_id: string }>(
    "select user_id from host.events group by 1 order by count(*) desc, 1 limit 1",
  );
  const range = `from=${events[100].timestamp}&to=${events[2000].timestamp}`;
  const calls: Record<string, string[]> = {
    "GET /overview": [
      "/overview",
      `/overview?${range}`,
      "/overview?breakdown=country&breakdown_limit=2",
      "/overview?breakdown=user.plan&where=device:eq:mobile&where=user.seats:gt:0",
    ],
    "GET /timeseries": [
      `/timeseries?bucket=minute&${range}`,
      "/timeseries?bucket=day",
      `/timeseries?bucket=hour&${range}&breakdown=country&breakdown_limit=3&where=user.plan:set`,
    ],
    "GET /properties": ["/properties"],
    "GET /products": ["/products?limit=1000&sort=revenue", `/products?${range}&sort=adds_to_cart`],
    "GET /products/trending": ["/products/trending?limit=100"],
    "GET /revenue": ["country", "category", "device"].map((by) => `/revenue?by=${by}`),
    "GET /segments": ["/segments"],
    "GET /videos": ["/videos?limit=1000", `/videos?${range}`],
    "GET /sessions": ["/sessions"],
    "GET /users/:user_id": [`/users/${busiest.user_id}`, `/users/${events[0].user_id}`],
    "GET /retention": ["/retention", "/retention?interval=week&periods=3&start_event=page_view&return_event=purchase"],
    "GET /segments/:segment/users": ["/segments/lost/users?limit=2", "/segments/champion/users?limit=1000"],
    "GET /retention/users": [
      "/retention/users?cohort=2026-01-26",
      "/retention/users?interval=week&cohort=2026-01-26&limit=2",
      "/retention/users?interval=week&cohort=2026-01-26&start_event=page_view&return_event=purchase",
    ],
  };
  const bad: Record<string, string> = {
    "GET /segments/:segment/users": "/segments/vip/users",
    "GET /retention/users": "/retention/users?interval=week&cohort=2026-02-01",
  };
  const unknown: Record<string, string> = { "GET /users/:user_id": "/users/nobody" };

  const routes = routeChecker(plugin, h.runtime.app, {
    queryEdges: {
      from: TIME,
      to: TIME,
      start_event: TYPE,
      return_event: TYPE,
      after: AFTER,
      cohort: COHORT,
      breakdown: BREAKDOWN,
      where: WHERE,
    },
  });
  for (const [route, paths] of Object.entries(calls)) {
    for (const path of paths) await routes.call(route, path);
    // Each documented query parameter takes the values its description names and refuses the others.
    await routes.probeQuery(route, paths[0]);
  }
  for (const [route, path] of Object.entries(unknown)) await routes.expect(route, path, 404);
  for (const [route, path] of Object.entries(bad)) await routes.expect(route, path, 400);
  routes.assertCovered();
  routes.assertErrorsAnswered();
});
