import assert from "node:assert/strict";
import {
  type QueryEdges,
  type RouteChecker,
  routeChecker,
  Simulator,
  testEachBackend,
  testPlugin,
} from "@runtime/testing";
import plugin from "./mod.ts";

/** A time inside the events sent, and one that is no time. */
const TIME: QueryEdges = { good: ["2026-02-01T08:30:00Z"], bad: ["yesterday"] };
/** A property name to break a report down by, and one that is no name. */
const PROPERTY: QueryEdges = { good: ["country", "user.plan"], bad: ["not a name", "user."] };
/** A condition events must meet to count as steps, and what is none. */
const WHERE: QueryEdges = { good: ["device:eq:desktop", "user.plan:unset"], bad: ["device", "price:gt:ten"] };

/** An event type paths start from, and one that is no event type. */
const EVENT: QueryEdges = { good: ["product_view"], bad: ["Product View"] };

/** A page's cursor (a user_id), and one longer than any. */
const AFTER: QueryEdges = { good: ["m"], bad: ["x".repeat(129)] };

/** A request to one of the plugin's routes: its path under `/api/funnel` with the query, and a JSON body. */
type Call = { path: string; body?: unknown };

/** A custom funnel whose report fills every field: a filtered step, users who drop, a breakdown. */
const FUNNEL = {
  name: "desktop-buyers",
  steps: ["product_view", { type: "add_to_cart", where: { device: "desktop" } }, "purchase"],
  window_seconds: 3600,
};

testEachBackend("every funnel route answers what its OpenAPI description says", async (backend) => {
  await using h = await testPlugin(new URL("./", import.meta.url), { backend });
  const sim = new Simulator({ seed: 11, users: 60, start: new Date("2026-02-01T08:00:00Z") });
  // Some users' plans, as identify's traits: a user property to break reports down by.
  const simulated = sim.take(2500);
  const plans = simulated.filter((_, i) => i % 40 === 0).map((e, i) => ({
    event_id: `identify-${i}`,
    type: "identify",
    user_id: e.user_id,
    timestamp: e.timestamp,
    properties: { traits: { plan: i % 2 ? "pro" : "free" } },
  }));
  const events = [...simulated, ...plans];
  for (let i = 0; i < events.length; i += 1000) {
    const batch = events.slice(i, i + 1000);
    assert.deepEqual((await h.send(batch)).body, { accepted: batch.length, rejected: [] });
  }
  // The user with the most sessions, and the one with the most events outside any explicit session.
  const [explicit, inferred] = await Promise.all(["is not null", "is null"].map(async (test) => {
    const [row] = await h.sql<{ user_id: string }>(
      `select user_id from funnel.events where session_id ${test} group by 1 order by count(*) desc, 1 limit 1`,
    );
    return row.user_id;
  }));
  const range = `from=${events[100].timestamp}&to=${events[2000].timestamp}`;
  const report = `breakdown=country&dropped_limit=1000`;
  const calls: Record<string, Call[]> = {
    "GET /summary": [{ path: "/summary" }, { path: `/summary?${range}` }],
    "GET /hot-leads": [{ path: "/hot-leads?limit=1000&hours=24" }],
    "GET /summary/users": [
      { path: "/summary/users?step=add_to_cart&outcome=reached&limit=2" },
      { path: `/summary/users?step=purchase&${range}` },
    ],
    "GET /paths": [
      { path: "/paths?event=product_view&depth=6&width=2&top=100" },
      { path: `/paths?event=purchase&direction=previous&${range}` },
    ],
    "GET /users/:user_id/sessions": [explicit, inferred].map((u) => ({ path: `/users/${u}/sessions?limit=200` })),
    "POST /definitions": [{ path: "/definitions", body: FUNNEL }],
    "GET /definitions": [{ path: "/definitions" }],
    "GET /definitions/:name": [{ path: `/definitions/${FUNNEL.name}` }],
    "GET /definitions/:name/report": [
      { path: `/definitions/${FUNNEL.name}/report?${report}` },
      { path: `/definitions/${FUNNEL.name}/report?${report}&${range}` },
      { path: `/definitions/${FUNNEL.name}/report?breakdown=user.plan&breakdown_limit=1&where=device:ne:tablet` },
    ],
    "GET /definitions/:name/users": [
      { path: `/definitions/${FUNNEL.name}/users?step=2&limit=2` },
      { path: `/definitions/${FUNNEL.name}/users?step=3&outcome=reached&${range}` },
      { path: `/definitions/${FUNNEL.name}/users?step=2&where=user.plan:set&where=country:ne:DE` },
    ],
    "POST /report": [`/report?${report}`, `/report?${report}&${range}`].map((path) => ({ path, body: FUNNEL })),
    // Deleting goes last: the routes before it read the funnel it deletes.
    "DELETE /definitions/:name": [{ path: `/definitions/${FUNNEL.name}` }],
  };
  const unknown: Record<string, Call> = {
    "GET /users/:user_id/sessions": { path: "/users/nobody/sessions" },
    "GET /definitions/:name": { path: "/definitions/nope" },
    "DELETE /definitions/:name": { path: "/definitions/nope" },
    "GET /definitions/:name/report": { path: "/definitions/nope/report" },
    "GET /definitions/:name/users": { path: "/definitions/nope/users?step=1" },
  };
  /** A one-step funnel, which the routes taking a funnel refuse. */
  const oneStep = { name: "x", steps: ["page_view"] };

  const routes = routeChecker(plugin, h.runtime.app, {
    queryEdges: { from: TIME, to: TIME, breakdown: PROPERTY, event: EVENT, after: AFTER, where: WHERE },
  });
  for (const [route, cs] of Object.entries(calls)) {
    for (const c of cs) await routes.call(route, c.path, c.body);
    // Each documented query parameter takes the values its description names and refuses the others; a funnel's
    // steps are its own, so its users' route is probed below.
    if (route !== "GET /definitions/:name/users") await routes.probeQuery(route, cs[0].path, cs[0].body);
    else await probeFunnelUsers(routes);
    if (cs[0].body !== undefined) await routes.expect(route, cs[0].path, 400, oneStep);
    if (unknown[route]) await routes.expect(route, unknown[route].path, 404);
  }
  routes.assertCovered();
  routes.assertErrorsAnswered();
});

/** Probes the query of `GET /definitions/:name/users` on {@linkcode FUNNEL}, whose steps are 1..3. */
async function probeFunnelUsers(routes: RouteChecker) {
  const users = `/definitions/${FUNNEL.name}/users`;
  for (
    const [query, status] of [["step=1&outcome=reached", 200], ["step=3", 200], ["step=0", 400], ["step=4", 400], [
      "step=x",
      400,
    ]]
  ) {
    await routes.expect("GET /definitions/:name/users", `${users}?${query}`, status as number);
  }
  for (const [query, status] of [["outcome=nope", 400], ["limit=0", 400], ["limit=1000", 200], ["after=m", 200]]) {
    await routes.expect("GET /definitions/:name/users", `${users}?step=2&${query}`, status as number);
  }
}
