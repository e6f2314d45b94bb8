/**
 * Breakdowns and property filters on stats' overview and time series, against the other world's history and user
 * properties set by Segment's own Node SDK (identify with traits, some of them linking an anonymous visitor), each
 * answer checked value by value against a recomputation from the raw log (`oracles/breakdown.ts`).
 * @module
 */
import assert from "node:assert/strict";
import { Analytics } from "@segment/analytics-node";
import { type BreakdownAsk, expectedOverviewBreakdown, expectedSeriesBreakdown } from "./oracles/breakdown.ts";
import { otherWorld } from "./support/other_world.ts";
import {
  getJson,
  ingestAll,
  pluginsFolder,
  REPO,
  startTestRuntime,
  testEachBackend,
  waitForCatchUp,
} from "./support/harness.ts";

const START = Date.parse("2026-03-02T00:00:00Z");
const DAY = 86_400_000;

testEachBackend(
  "stats breaks the overview and time series down by event and user properties, filtered",
  async (backend) => {
    const pluginsDir = await pluginsFolder([{ name: "stats", from: new URL("plugins/", REPO) }]);
    const rt = await startTestRuntime(backend, { pluginsDir, money: { base: "USD", rates: {} } });
    const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, rt.app.fetch);
    try {
      const { events } = otherWorld({ seed: 23, users: 120, start: new Date(START), days: 12 });
      await ingestAll(rt, events);
      const users = [...new Set(events.map((e) => e.user_id))].sort();
      const at = (days: number) => new Date(START + days * DAY);
      // A custom type named as an object's own properties are.
      const odd = {
        type: "constructor",
        user_id: users[2],
        timestamp: at(2.5).toISOString(),
        properties: { country: "US" },
      };
      await ingestAll(rt, [{ ...odd, event_id: "odd-1" }, { ...odd, event_id: "odd-2", type: "tostring" }]);

      // User properties from the SDK: a plan and seats for every third user; some change plan later, one identify
      // arrives late with an older time (it changes nothing); anonymous visitors browse, then identify as users.
      const failures: unknown[] = [];
      const sdk = () => {
        const client = new Analytics({ writeKey: "wk", host: `http://127.0.0.1:${server.addr.port}`, flushAt: 50 });
        client.on("error", (e) => failures.push(e));
        return client;
      };
      // The visitors first, committed before they are linked: what stats keeps under them moves in a merge.
      const visitors = sdk();
      for (let i = 0; i < 6; i++) {
        const anonymousId = `visitor-${i}`;
        // Traits given before they are known move to the person they become, unless the person's are newer;
        // visitors 4 and 5 become the same person, each with an employer (the later one's stays).
        visitors.identify({ anonymousId, timestamp: at(3 + i * 0.1), traits: { employer: `c${i}`, plan: "visitor" } });
        for (let k = 0; k < 3; k++) {
          visitors.track({
            anonymousId,
            event: "Product Viewed",
            timestamp: at(3 + i * 0.1 + k * 0.01),
            properties: { product_id: `p-${k}`, category: "Gifts", price: 10 + k, country: "NZ" },
          });
        }
      }
      await visitors.closeAndFlush({ timeout: 20_000 });
      await waitForCatchUp(rt);
      const analytics = sdk();
      users.filter((_, i) => i % 3 === 0).forEach((userId, i) => {
        const plan = ["free", "pro", "team"][i % 3];
        analytics.identify({ userId, timestamp: at(1), traits: { plan, seats: i % 7, beta: i % 2 === 0 } });
        if (i % 4 === 0) analytics.identify({ userId, timestamp: at(6), traits: { plan: "enterprise" } });
      });
      analytics.identify({ userId: users[0], timestamp: at(0.5), traits: { plan: "stale" } }); // older than day 1
      // A group's traits are the group's: they change no member's.
      analytics.group({ userId: users[0], groupId: "acme", timestamp: at(8), traits: { plan: "group-plan" } });
      for (let i = 0; i < 6; i++) {
        analytics.identify({
          userId: users[1 + Math.min(i, 4) * 3],
          anonymousId: `visitor-${i}`,
          timestamp: at(3.5 + i * 0.1),
          traits: { plan: "trial", seats: 1 },
        });
      }
      await analytics.closeAndFlush({ timeout: 20_000 });
      assert.deepEqual(failures, []);
      await waitForCatchUp(rt);

      const from = new Date(START + 2 * DAY + 3_600_000 + 30_000).toISOString(); // mid-minute: rounds down
      const to = new Date(START + 9 * DAY + 59_000).toISOString(); // mid-minute: up to the minute's end
      const asks: BreakdownAsk[] = [
        { from: null, to: null, where: [], by: "country", limit: 3 },
        { from, to, where: ["device:eq:ios"], by: "user.plan", limit: 10 },
        { from: null, to: null, where: ["amount:gt:60"], by: null, limit: 10 },
        { from, to, where: ["user.seats:gte:3", "category:set"], by: "category", limit: 2 },
        {
          from: null,
          to: null,
          where: ["country:ne:US", "user.plan:ne:free", "page:contains:CATEGORY"],
          by: "device",
          limit: 50,
        },
        { from: null, to: null, where: ["user.beta:eq:true"], by: "user.seats", limit: 4 },
        { from: null, to: null, where: ["user.plan:unset", "price:lte:20"], by: "user.plan", limit: 1 },
        { from, to: null, where: [], by: "page", limit: 5 },
        { from: null, to: null, where: ["user.employer:set"], by: "user.employer", limit: 10 },
        { from: null, to: null, where: ["country:eq:US"], by: "device", limit: 10 },
      ];
      const query = (a: BreakdownAsk) =>
        new URLSearchParams([
          ...(a.from ? [["from", a.from]] : []),
          ...(a.to ? [["to", a.to]] : []),
          ...a.where.map((w) => ["where", w]),
          ...(a.by ? [["breakdown", a.by], ["breakdown_limit", String(a.limit)]] : []),
        ]);
      const plain = (await getJson(rt, "/api/stats/overview")).body;
      for (const ask of asks) {
        const { status, body } = await getJson(rt, `/api/stats/overview?${query(ask)}`);
        assert.equal(status, 200, JSON.stringify(body));
        const { rows, ...totals } = await expectedOverviewBreakdown(rt.store, ask);
        const { from: _f, to: _t, sessions, cart_abandonment_rate, breakdown, ...figures } = body;
        assert.deepEqual(figures, totals, `totals of ${query(ask)}`);
        assert.ok(totals.events > 0 && rows.length <= ask.limit + 1, `${query(ask)} keeps events`);
        assert.deepEqual(breakdown?.rows ?? [], rows, `rows of ${query(ask)}`);
        if (ask.by !== null) assert.equal(breakdown.by, ask.by);
        if (ask.where.length > 0) assert.deepEqual([sessions, cart_abandonment_rate], [null, null]);
        else if (ask.from === null) assert.equal(sessions, plain.sessions);
      }
      // The world's own countries and the visitors' NZ, merged into the users they became.
      const byPlan = (await getJson(rt, `/api/stats/overview?${query(asks[5])}`)).body;
      assert.ok(byPlan.breakdown.rows.length > 1);
      const trial = (await getJson(rt, "/api/stats/overview?breakdown=user.plan&where=country:eq:NZ")).body;
      assert.deepEqual(trial.breakdown.rows.map((r: { key: string; events: number }) => [r.key, r.events]), [
        ["trial", 18],
      ]);
      for (const plan of ["stale", "group-plan", "visitor"]) {
        assert.equal((await getJson(rt, `/api/stats/overview?where=user.plan:eq:${plan}`)).body.events, 0, plan);
      }
      const companies = (await getJson(rt, `/api/stats/overview?${query(asks[8])}`)).body.breakdown.rows;
      assert.deepEqual(companies.map((r: { key: string }) => r.key).sort(), ["c0", "c1", "c2", "c3", "c5"]);

      // Per day, broken down, filtered; the buckets are those of the events meeting the conditions.
      for (const ask of [asks[0], asks[1], asks[3]]) {
        const first = Math.floor(Date.parse(ask.from ?? new Date(START).toISOString()) / DAY) * DAY;
        const last = ask.to ? Date.parse(ask.to) : START + 12 * DAY;
        const count = Math.ceil((last - first) / DAY);
        const q = query({ ...ask, from: ask.from ?? new Date(first).toISOString(), to: new Date(last).toISOString() });
        const { status, body } = await getJson(rt, `/api/stats/timeseries?bucket=day&${q}`);
        assert.equal(status, 200, JSON.stringify(body));
        assert.equal(body.buckets.length, count);
        const expected = await expectedSeriesBreakdown(
          rt.store,
          {
            ...ask,
            from: ask.from ?? new Date(first).toISOString(),
            to: new Date(last).toISOString(),
          },
          first,
          DAY,
          count,
        );
        assert.deepEqual(body.breakdown.rows, expected, `series of ${q}`);
        for (const b of body.buckets) {
          const mine = expected.filter((r) => r.start === b.start);
          assert.equal(b.events, mine.reduce((s, r) => s + r.events, 0), `bucket ${b.start}`);
        }
        assert.ok(expected.some((r) => r.events > 0));
      }

      // Properties offered to choose from: the world's and the SDK's traits.
      const properties = (await getJson(rt, "/api/stats/properties")).body;
      assert.ok(properties.event.some((p: { name: string }) => p.name === "country"));
      assert.deepEqual(properties.user.map((p: { name: string }) => p.name).sort(), [
        "beta",
        "employer",
        "plan",
        "seats",
      ]);

      // What is refused, with what was expected.
      for (
        const bad of [
          "where=country",
          "where=country:like:x",
          "where=price:gt:ten",
          "where=country:set:x",
          "where=user.:eq:x",
          `${"where=a:set&".repeat(9)}`,
          "breakdown=a%20b",
          "breakdown=country&breakdown_limit=51",
        ]
      ) {
        const { status, body } = await getJson(rt, `/api/stats/overview?${bad}`);
        assert.equal(status, 400, bad);
        assert.match(body.error, /where|breakdown/);
      }
      const tooMany = await getJson(
        rt,
        "/api/stats/timeseries?bucket=minute&from=2026-03-02&to=2026-03-07&breakdown=country&breakdown_limit=50",
      );
      assert.equal(tooMany.status, 400);
      assert.match(tooMany.body.error, /at most 100000/);
    } finally {
      await server.shutdown();
      await rt.stop();
    }
  },
);

testEachBackend(
  "a breakdown or conditions over a range holding more than maxScanEvents events is a 400",
  async (backend) => {
    const pluginsDir = await pluginsFolder([{ name: "stats", from: new URL("plugins/", REPO) }]);
    const pluginSettings = { stats: { maxScanEvents: 500 } };
    const rt = await startTestRuntime(backend, { pluginsDir, pluginSettings, money: { base: "USD", rates: {} } });
    try {
      const { events } = otherWorld({ seed: 5, users: 40, start: new Date(START), days: 4 });
      await ingestAll(rt, events);
      const day = "from=2026-03-03T00:00:00Z&to=2026-03-03T06:00:00Z";
      const inDay = events.filter((e) => e.timestamp >= "2026-03-03T00:00" && e.timestamp < "2026-03-03T06:00").length;
      assert.ok(events.length > 500 && inDay > 0 && inDay <= 500, `${events.length} events, ${inDay} in the range`);
      for (const path of ["/overview?breakdown=country", "/timeseries?bucket=day&where=device:eq:ios"]) {
        const { status, body } = await getJson(rt, `/api/stats${path}`);
        assert.equal(status, 400, path);
        assert.match(body.error, /^breakdown and where read each event of the range, which holds \d+: at most 500/);
        assert.equal((await getJson(rt, `/api/stats${path}&${day}`)).status, 200, `${path} over a shorter range`);
      }
      assert.equal((await getJson(rt, "/api/stats/overview")).status, 200); // the counters have no such limit
    } finally {
      await rt.stop();
    }
  },
);
