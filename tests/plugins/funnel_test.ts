import assert from "node:assert/strict";
import type { Runtime } from "../../runtime/runtime.ts";
import { rng, Simulator } from "../../runtime/sources/simulator/mod.ts";
import {
  allPages,
  getJson,
  type Json,
  pluginsFolder,
  postJson,
  REPO,
  startTestRuntime,
  testEachBackend,
  waitForCatchUp,
} from "../support/harness.ts";
import {
  expectedLeadCandidates,
  expectedLeadScore,
  expectedPaths,
  expectedReport,
  expectedSessions,
  expectedSummary,
  expectedSummaryUsers,
  type FunnelSpec,
  type Only,
} from "../oracles/funnel.ts";
import { finalPersons, logByPerson } from "../oracles/persons.ts";

const PLUGINS = new URL("plugins/", REPO);

/** Funnels of each order, with a property filter and windows that cut some conversions short. */
const FUNNELS: (FunnelSpec & { name: string })[] = [
  {
    name: "electronics",
    order: "sequential",
    window_seconds: 600,
    steps: [
      { type: "product_view", where: { category: "electronics" } },
      { type: "add_to_cart", where: {} },
      { type: "checkout", where: {} },
      { type: "purchase", where: {} },
    ],
  },
  {
    name: "straight-to-cart",
    order: "strict",
    window_seconds: 3600,
    steps: [{ type: "product_view", where: {} }, { type: "add_to_cart", where: {} }, {
      type: "checkout",
      where: {},
    }],
  },
  {
    name: "search-cart-buy",
    order: "any",
    window_seconds: 1800,
    steps: [{ type: "search", where: {} }, { type: "add_to_cart", where: {} }, { type: "purchase", where: {} }],
  },
];

async function assertMatchesLog(rt: Runtime, ranges: [string | null, string | null][], users: string[]) {
  await waitForCatchUp(rt);
  for (const [from, to] of ranges) {
    const q = new URLSearchParams({ ...(from ? { from } : {}), ...(to ? { to } : {}) });
    const { status, body } = await getJson(rt, `/api/funnel/summary?${q}`);
    assert.equal(status, 200);
    assert.deepEqual(body, await expectedSummary(rt.store, from, to), `summary ${from}..${to}`);
    const carted = await allPages(rt, `/api/funnel/summary/users?${q}&step=add_to_cart&outcome=reached`);
    assert.deepEqual(carted.sort(), await expectedSummaryUsers(rt.store, 2, from, to), `carted ${from}..${to}`);
    for (const f of FUNNELS) {
      const res = await getJson(rt, `/api/funnel/definitions/${f.name}/report?${q}&breakdown=country`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const report = res.body;
      const expected = await expectedReport(rt.store, f, from, to);
      assert.ok(expected[0].users > 20, `${f.name}: enough users entered to mean something`);
      assert.deepEqual(
        report.steps.map((s: Json) => ({ users: s.users, median: s.median_seconds_to_convert })),
        expected.map((e) => ({
          users: e.users,
          median: e.median === null ? null : Math.round(e.median * 1000) / 1000,
        })),
        `${f.name} ${from}..${to}`,
      );
      // The people behind the last step: who reached it, who dropped just before it, a page at a time.
      const last = f.steps.length;
      for (const outcome of ["reached", "dropped"] as const) {
        const listed = await allPages(
          rt,
          `/api/funnel/definitions/${f.name}/users?${q}&step=${last}&outcome=${outcome}`,
        );
        assert.deepEqual(listed.sort(), expected[last - 1][`${outcome}_users`], `${f.name} ${outcome} ${last}`);
      }
      // Only the events on a desktop (a user's device: whole users), or not about a book (each event its own), count.
      for (const only of [[["device", "eq", "desktop"]], [["category", "ne", "books"]]] as Only[][]) {
        const where = only.map(([name, op, value]) => `&where=${name}:${op}:${value}`).join("");
        const path = `/api/funnel/definitions/${f.name}/report?${q}${where}`;
        const filtered = (await getJson(rt, path)).body;
        const truth = await expectedReport(rt.store, f, from, to, only);
        const changed = truth.some((t, k) => t.users !== expected[k].users);
        assert.ok(truth[0].users > 0 && changed, `${f.name}: ${where} keeps some, and not all`);
        assert.deepEqual(filtered.steps.map((s: Json) => s.users), truth.map((e) => e.users), `${f.name} ${where}`);
        const reached = await allPages(
          rt,
          `/api/funnel/definitions/${f.name}/users?${q}&step=${last}&outcome=reached${where}`,
        );
        assert.deepEqual(reached.sort(), truth[last - 1].reached_users, `${f.name} ${where} reached`);
      }
      for (const [k, s] of report.steps.entries()) {
        assert.equal(s.drop_off, k === 0 ? 0 : report.steps[k - 1].users - s.users);
        const byCountry = Object.fromEntries(
          report.breakdown.rows.filter((r: Json) => r.users[k] > 0).map((r: Json) => [r.key, r.users[k]]),
        );
        assert.deepEqual(byCountry, expected[k].by_country, `${f.name} step ${k + 1} by country`);
      }
    }
  }
  // Paths over whole days read the counts kept per day, over other ranges the sessions: both against the log.
  for (const [from, to] of [...ranges, ["2026-03-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z"]]) {
    for (const [event, direction] of [["product_view", "next"], ["purchase", "previous"]] as const) {
      const q = new URLSearchParams({ event, direction, depth: "3", width: "12", top: "100" });
      if (from) q.set("from", from);
      if (to) q.set("to", to);
      const { status, body } = await getJson(rt, `/api/funnel/paths?${q}`);
      assert.equal(status, 200, JSON.stringify(body));
      const expected = await expectedPaths(rt.store, { event, direction, depth: 3, from, to });
      const label = `paths ${direction} ${event} ${from}..${to}`;
      assert.ok(expected.sessions > 20 && expected.walks.size <= 100, `${label}: a real case, every walk listed`);
      assert.equal(body.sessions, expected.sessions, label);
      assert.deepEqual(
        Object.fromEntries(
          body.nodes.map((n: Json) => [`${n.level} ${n.step}`, { sessions: n.sessions, drop_off: n.drop_off }]),
        ),
        Object.fromEntries(expected.nodes),
        label,
      );
      assert.deepEqual(
        Object.fromEntries(body.top_paths.map((p: Json) => [p.steps.join(" "), p.sessions])),
        Object.fromEntries(expected.walks),
        label,
      );
    }
  }
  for (const user of users) {
    const { body } = await getJson(rt, `/api/funnel/users/${user}/sessions?limit=200`);
    const steps = ["view", "add_to_cart", "checkout", "purchase"];
    assert.deepEqual(
      body.sessions.map((s: Json) => ({
        session_key: s.session_key,
        started_at: s.started_at,
        ended_at: s.ended_at,
        events: s.events,
        reached: s.furthest_step === null ? 0 : steps.indexOf(s.furthest_step) + 1,
        timeline: s.timeline.map((e: Json) => e.event_id),
      })),
      await expectedSessions(rt.store, user),
      `sessions of ${user}`,
    );
  }
  const leads = (await getJson(rt, "/api/funnel/hot-leads?limit=1000&hours=6")).body.leads;
  const candidates = await expectedLeadCandidates(rt.store, 6) as Json[];
  assert.ok(candidates.length > 5);
  assert.deepEqual(
    leads.map((l: Json) => [l.user_id, l.session_key, l.prior_purchases, l.events, l.score]).sort(),
    candidates.map((c) => [c.user_id, c.session_key, c.prior_purchases, c.events, expectedLeadScore(c, 6)]).sort(),
  );
  const scores = leads.map((l: Json) => l.score);
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a), "hot leads are ranked by score");
}

testEachBackend(
  "funnel equals a recomputation from the raw log under duplicates, late events and replay",
  async (backend) => {
    const pluginsDir = await pluginsFolder([{ name: "funnel", from: PLUGINS }]);
    const store = await backend.open();
    const rt = await startTestRuntime(backend, { pluginsDir, store });
    const ranges: [string | null, string | null][] = [[null, null]];
    const users: string[] = [];
    try {
      for (const { name, order, window_seconds, steps } of FUNNELS) {
        const res = await postJson(rt, "/api/funnel/definitions", { name, order, window_seconds, steps });
        assert.equal(res.status, 201, JSON.stringify(res.body));
      }
      const sim = new Simulator({ seed: 11, users: 250, anonymous: 0.3, start: new Date("2026-03-01T08:00:00Z") });
      const events = sim.take(6000);
      const random = rng(5);
      // Late and out of order: shuffle within windows of 500 events; duplicates: resend 10% with other times.
      for (let i = 0; i < events.length; i += 500) {
        const w = events.slice(i, i + 500).sort(() => random() - 0.5);
        const dups = w.filter(() => random() < 0.1).map((e) => ({
          ...e,
          timestamp: new Date(Date.parse(e.timestamp) - 3_600_000).toISOString(),
        }));
        const res = await postJson(rt, "/v1/events", [...w, ...dups]);
        assert.deepEqual(res.body, { accepted: w.length + dups.length, rejected: [] });
      }
      const [first, middle] = [events[0], events[3000]].map((e) => e.timestamp);
      ranges.push([first, middle], [middle, null]);
      for (const order of ["desc", "asc"]) {
        const rows = await store.query<{ user_id: string }>(
          `select user_id from ${await logByPerson(
            store,
          )} group by user_id order by count(*) ${order}, user_id limit 2`,
        );
        users.push(...rows.map((r) => r.user_id));
      }
      // People with a history from before they logged in (signed-out sessions, linked at login).
      users.push(...[...new Set((await finalPersons(store)).values())].slice(0, 3));
      await assertMatchesLog(rt, ranges, users);
    } finally {
      await rt.stop();
    }

    // Replay from scratch: empty the events, sessions and walks (funnels are settings, kept), rewind, start again.
    await store.exec("truncate funnel.events, funnel.sessions, funnel.path_walks");
    await store.exec("update host.checkpoints set committed = 0 where plugin = 'funnel'");
    const replay = await startTestRuntime(backend, { pluginsDir, store });
    try {
      await assertMatchesLog(replay, ranges, users);
    } finally {
      await replay.stop();
      await store.close();
    }
  },
);
