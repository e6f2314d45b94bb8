import assert from "node:assert/strict";
import { type QueryEdges, routeChecker, testEachBackend, testPlugin } from "@runtime/testing";
import plugin from "./mod.ts";

const TIME: QueryEdges = { good: ["2026-03-01T08:30:00Z"], bad: ["yesterday"] };
const KPI: QueryEdges = { good: ["conversion_rate", "events.search"], bad: ["Conversion", "events."] };
const RULE: QueryEdges = { good: ["drop"], bad: ["Not A Name"] };
const BEFORE: QueryEdges = { good: ["1", "9007199254740991"], bad: ["0", "1.5", "9007199254740992"] };

/** A rule that fires on the simulator's quiet hours, and one that fires on a change. */
const QUIET = { kpi: "events", window: "hour", condition: "below", threshold: 1000, grace_minutes: 0 };
const CHANGE = { kpi: "events.page_view", condition: "rises_by", threshold: 0.0001, min_events: 1 };

testEachBackend("every alerts route answers what its OpenAPI description says", async (backend) => {
  await using h = await testPlugin(new URL("./", import.meta.url), { backend });
  const routes = routeChecker(plugin, h.runtime.app, {
    queryEdges: { from: TIME, to: TIME, kpi: KPI, rule: RULE, before: BEFORE },
  });
  // Saved before any event: it judges from the first event's window.
  const saved = await routes.call("PUT /rules/:name", "/rules/drop", QUIET);
  assert.deepEqual([saved.version, saved.next_window, saved.min_events, saved.enabled], [1, null, 0, true]);
  await routes.call("PUT /rules/:name", "/rules/up", CHANGE);
  // Six hours of traffic, busier each hour, with a purchase now and then.
  const events = Array.from({ length: 6 }, (_, hour) =>
    Array.from({ length: 10 + 5 * hour }, (_, k) => ({
      event_id: `e${hour}-${k}`,
      type: k % 7 === 6 ? "purchase" : "page_view",
      user_id: `u${k % 9}`,
      timestamp: new Date(Date.parse("2026-03-01T08:00:00Z") + hour * 3_600_000 + k * 60_000).toISOString(),
      properties: k % 7 === 6 ? { amount: 20 + k } : {},
    }))).flat();
  await h.send(events);

  const late = await routes.call("PUT /rules/:name", "/rules/late", QUIET); // saved after events: from the open window
  assert.equal(late.next_window, "2026-03-01T13:00:00.000Z");
  const rules = await routes.call("GET /rules", "/rules");
  assert.deepEqual(rules.rules.map((r: { name: string }) => r.name), ["drop", "late", "up"]);
  const fired = await routes.call("GET /fired", "/fired?limit=1");
  assert.ok(fired.next_before !== null, "more than one alert");
  await routes.call("GET /fired", `/fired?rule=drop&before=${fired.next_before}`);
  await routes.probeQuery("GET /fired", "/fired");
  await routes.call("GET /kpis", "/kpis?kpi=conversion_rate&window=day");
  await routes.call("GET /kpis", "/kpis?kpi=aov&from=2026-03-01T08:00:00Z&to=2026-03-01T12:00:00Z");
  await routes.probeQuery("GET /kpis", "/kpis");
  await routes.expect("GET /kpis", "/kpis?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", 400); // 1,416 hours

  // Saved again: a new version, judging from the window open at the watermark.
  const again = await routes.expect("PUT /rules/:name", "/rules/drop", 200, { ...QUIET, threshold: 5 });
  assert.ok(again.version > late.version, `${again.version} after ${late.version}`);
  const watermark = Math.max(...events.map((e) => Date.parse(e.timestamp)));
  assert.equal(again.next_window, new Date(Math.floor(watermark / 3_600_000) * 3_600_000).toISOString());
  // Bad rules: each a 400 naming the problem.
  for (
    const [body, problem] of [
      [{ ...QUIET, kpi: "bounce_rate" }, /kpi: must be one of events, purchases/],
      [{ ...CHANGE, threshold: 0 }, /threshold: a rises_by or falls_by threshold is a share > 0/],
      [{ ...QUIET, window: "week" }, /window/],
      [{ ...QUIET, grace_minutes: 1441 }, /grace_minutes/],
      [{ ...QUIET, extra: 1 }, /extra/],
    ] as const
  ) {
    const answer = await routes.expect("PUT /rules/:name", "/rules/bad", 400, body);
    assert.match(answer.error, problem);
  }
  await routes.expect("PUT /rules/:name", "/rules/Not%20A%20Name", 400, QUIET);
  // At most 100 rules: with 3 saved, 97 more fit; the 101st is refused, and one saved again still is not new.
  for (let i = 0; i < 97; i++) await routes.call("PUT /rules/:name", `/rules/more-${i}`, QUIET);
  const over = await routes.expect("PUT /rules/:name", "/rules/one-too-many", 409, QUIET);
  assert.equal(over.error, "at most 100 rules: delete one before making 'one-too-many'");
  await routes.expect("PUT /rules/:name", "/rules/more-0", 200, { ...QUIET, enabled: false });
  await routes.call("DELETE /rules/:name", "/rules/up");
  await routes.expect("DELETE /rules/:name", "/rules/up", 404);
  routes.assertCovered();
  routes.assertErrorsAnswered();
});

testEachBackend(
  "a window's revenue is exact through the stored hours: where a batch was cut changes no verdict",
  async (backend) => {
    await using h = await testPlugin(new URL("./", import.meta.url), { backend });
    const rule = { kpi: "revenue", condition: "below", threshold: 0.17, grace_minutes: 0 };
    assert.equal((await h.request("/rules/cents", { method: "PUT", body: JSON.stringify(rule) })).status, 201);
    const at = (minute: number) => new Date(Date.parse("2026-03-01T08:00:00Z") + minute * 60_000).toISOString();
    const purchase = (id: string, amount: number) => ({
      event_id: id,
      type: "purchase",
      user_id: "u1",
      timestamp: at(10),
      properties: { amount },
    });
    // 0.15 stored, then 0.015 in the next batch: 0.165 exactly, 0.17 to the cent; as floats 0.16499…, 0.16, fires.
    await h.send([purchase("p1", 0.01), purchase("p2", 0.14)]);
    await h.send([
      purchase("p3", 0.015),
      ...Array.from({ length: 25 }, (_, k) => ({ event_id: `l${k}`, type: "login", user_id: "u2", timestamp: at(70) })),
    ]);
    const kpis = (await h.get("/kpis?kpi=revenue&from=2026-03-01T08:00:00Z&to=2026-03-01T09:00:00Z")).body;
    assert.deepEqual(kpis.points, [{ start: "2026-03-01T08:00:00.000Z", value: 0.17, events: 3 }]);
    assert.equal((await h.get("/rules")).body.rules[0].next_window, "2026-03-01T09:00:00.000Z"); // 08:00 was judged
    assert.deepEqual((await h.get("/fired")).body.alerts, []);
  },
);
