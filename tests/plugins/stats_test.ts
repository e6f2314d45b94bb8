import assert from "node:assert/strict";
import type { Runtime } from "../../runtime/runtime.ts";
import { rng, Simulator } from "../../runtime/sources/simulator/mod.ts";
import {
  expectedOverview,
  expectedProducts,
  expectedRetention,
  expectedRetentionUsers,
  expectedRevenue,
  expectedSessionDistributions,
  expectedTimeseries,
  expectedTrending,
  expectedUser,
  expectedVideos,
} from "../oracles/stats.ts";
import { finalPersons, logByPerson } from "../oracles/persons.ts";
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

const PLUGINS = new URL("plugins/", REPO);

/**
 * Ranges of `/products` and `/videos` over the history below (2026-01-31 to 2026-02-03): within one day, whole days with
 * the parts of days around them (and ends inside a minute), and open at either end.
 */
const PRODUCT_RANGES: [string | null, string | null][] = [
  ["2026-02-01T09:00:00.000Z", "2026-02-01T10:30:00.000Z"],
  ["2026-01-31T09:12:00.000Z", "2026-02-03T08:59:30.000Z"],
  ["2026-01-31T23:59:40.000Z", "2026-02-02T00:00:00.000Z"],
  [null, "2026-02-01T09:45:00.000Z"],
  ["2026-02-02T09:00:00.000Z", null],
];

async function assertMatchesLog(rt: Runtime, ranges: [string | null, string | null][], users: string[]) {
  await waitForCatchUp(rt);
  for (const [from, to] of ranges) {
    const q = new URLSearchParams({ ...(from ? { from } : {}), ...(to ? { to } : {}) });
    const { status, body } = await getJson(rt, `/api/stats/overview?${q}`);
    assert.equal(status, 200);
    assert.deepEqual(body, await expectedOverview(rt.store, from, to), `overview ${from}..${to}`);
  }
  const [from, to] = [ranges[2]?.[0] ?? "2026-02-01T08:00:00.000Z", "2026-02-02T00:00:00.000Z"];
  for (const bucket of ["minute", "hour", "day"] as const) {
    const { status, body } = await getJson(rt, `/api/stats/timeseries?bucket=${bucket}&from=${from}&to=${to}`);
    assert.equal(status, 200);
    const nonEmpty = body.buckets.filter((b: { events: number }) => b.events > 0);
    assert.deepEqual(nonEmpty, await expectedTimeseries(rt.store, from, to, bucket), `timeseries by ${bucket}`);
    const width = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[bucket];
    for (let i = 1; i < body.buckets.length; i++) {
      assert.equal(Date.parse(body.buckets[i].start) - Date.parse(body.buckets[i - 1].start), width); // dense
    }
  }
  const products = (await getJson(rt, "/api/stats/products?limit=1000&sort=revenue")).body.products;
  const revenues = products.map((p: { revenue: number }) => p.revenue);
  assert.deepEqual(revenues, [...revenues].sort((a, b) => b - a)); // sorted as asked
  const byId = (ps: { product_id: string }[]) =>
    ps.map(({ conversion_rate: _, ...p }: Json) => p).sort((a, b) => a.product_id.localeCompare(b.product_id));
  assert.deepEqual(byId(products), byId(await expectedProducts(rt.store) as Json));
  for (const p of products) {
    assert.equal(p.conversion_rate, p.views ? Math.round((p.purchases / p.views) * 1e4) / 1e4 : 0);
  }
  // Over ranges: within a day (read per minute), across midnights (whole days and the parts around them), open ends.
  for (const [a, b] of PRODUCT_RANGES) {
    const q = new URLSearchParams({ limit: "1000", sort: "views", ...(a ? { from: a } : {}), ...(b ? { to: b } : {}) });
    const ranged = (await getJson(rt, `/api/stats/products?${q}`)).body;
    const expected = await expectedProducts(rt.store, a, b) as Json[];
    assert.ok(expected.length > 0 && JSON.stringify(byId(expected)) !== JSON.stringify(byId(products)), `${a}..${b}`);
    assert.deepEqual(byId(ranged.products), byId(expected), `products ${a}..${b}`);
    const videos = (await getJson(rt, `/api/stats/videos?limit=50&${q}`)).body;
    assert.deepEqual(videos, { from: a, to: b, videos: await expectedVideos(rt.store, 50, a, b) }, `videos ${a}..${b}`);
  }
  for (const by of ["country", "category", "device"] as const) {
    const { body } = await getJson(rt, `/api/stats/revenue?by=${by}`);
    assert.deepEqual(body, { by, rows: await expectedRevenue(rt.store, by) }, `revenue by ${by}`);
    // Over a range: the purchases of that time only.
    const ranged = (await getJson(rt, `/api/stats/revenue?by=${by}&from=${from}&to=${to}`)).body;
    const within = await expectedRevenue(rt.store, by, from, to);
    assert.ok(within.length > 0 && JSON.stringify(within) !== JSON.stringify(body.rows), `${by}: a range that differs`);
    assert.deepEqual(ranged, { by, rows: within }, `revenue by ${by}, ${from}..${to}`);
  }
  assert.deepEqual(
    (await getJson(rt, "/api/stats/products/trending?limit=5")).body,
    await expectedTrending(rt.store, 5),
  );
  assert.deepEqual((await getJson(rt, "/api/stats/sessions")).body, await expectedSessionDistributions(rt.store));
  const sessionsWithin = await expectedSessionDistributions(rt.store, from, to);
  assert.notDeepEqual(sessionsWithin, await expectedSessionDistributions(rt.store));
  assert.deepEqual((await getJson(rt, `/api/stats/sessions?from=${from}&to=${to}`)).body, sessionsWithin);
  for (const interval of ["day", "week"] as const) {
    const q = `interval=${interval}&periods=4&from=2026-01-20T00:00:00Z&to=2026-02-20T00:00:00Z`;
    const shown = async (query: string) =>
      (await getJson(rt, `/api/stats/retention?${query}`)).body.cohorts
        .filter((c: { users: number }) => c.users > 0)
        .map((c: { start: string; retained: (number | null)[] }) => [c.start, ...c.retained.map((n) => n ?? 0)]);
    const expected = await expectedRetention(rt.store, interval, 4);
    assert.ok(expected.some((c) => c.slice(2).some((n) => n !== 0)), `${interval}: some users came back`);
    assert.deepEqual(await shown(q), expected, `retention by ${interval}`);
    // Cohorts by the first purchase: not everyone's first event, some back later.
    const buyers = await expectedRetention(rt.store, interval, 4, "purchase");
    assert.ok(buyers.some((c) => c.slice(2).some((n) => n !== 0)), `${interval}: some buyers came back`);
    assert.notDeepEqual(buyers, expected);
    assert.deepEqual(await shown(`${q}&start_event=purchase`), buyers, `retention from a purchase by ${interval}`);
    // The people behind a cell with returns, read a few at a time.
    const [start, , ...retained] = expected.find((c) => c.slice(2).some((n) => n !== 0))!;
    const k = 1 + retained.findIndex((n) => n !== 0);
    for (const period of [0, k]) {
      const listed = await allPages(
        rt,
        `/api/stats/retention/users?interval=${interval}&cohort=${start}&period=${period}`,
      );
      assert.deepEqual(
        listed,
        await expectedRetentionUsers(rt.store, interval, String(start), period),
        `${start} ${period}`,
      );
    }
  }
  const videos = (await getJson(rt, "/api/stats/videos?limit=50")).body.videos;
  assert.ok(videos.length > 0 && videos.some((v: { completions: number }) => v.completions > 0));
  assert.deepEqual(videos, await expectedVideos(rt.store, 50));
  const [a, b] = PRODUCT_RANGES[0];
  assert.notDeepEqual(videos, await expectedVideos(rt.store, 50, a, b), "a range of videos that differs");
  const segments = (await getJson(rt, "/api/stats/segments")).body.segments;
  assert.deepEqual(segments.map((s: { segment: string }) => s.segment), [
    "champion",
    "loyal",
    "potential",
    "at_risk",
    "lost",
  ]);
  const [{ n }] = await rt.store.query<{ n: number }>(
    `select count(distinct user_id)::int8 as n from ${await logByPerson(rt.store)}`,
  );
  assert.equal(segments.reduce((sum: number, s: { users: number }) => sum + s.users, 0), n);
  // Each segment's users, a page at a time: as many as counted, every person once, each of that segment.
  const everyone: string[] = [];
  for (const { segment, users } of segments) {
    const listed = await allPages(rt, `/api/stats/segments/${segment}/users`);
    assert.equal(listed.length, users, segment);
    everyone.push(...listed);
    for (const user of listed.slice(0, 3)) {
      assert.equal((await getJson(rt, `/api/stats/users/${user}`)).body.segment, segment, user);
    }
  }
  assert.equal(new Set(everyone).size, n);
  for (const user of users) {
    const { body } = await getJson(rt, `/api/stats/users/${user}`);
    const { engagement_score, segment, ...numbers } = body;
    assert.deepEqual(numbers, await expectedUser(rt.store, user), `user ${user}`);
    assert.ok(engagement_score >= 0 && engagement_score <= 100);
    assert.ok(["champion", "loyal", "potential", "at_risk", "lost"].includes(segment));
  }
}

testEachBackend(
  "stats equals a recomputation from the raw log under duplicates, late events and replay",
  async (backend) => {
    const pluginsDir = await pluginsFolder([{ name: "stats", from: PLUGINS }]);
    const store = await backend.open();
    const rt = await startTestRuntime(backend, { pluginsDir, store });
    const ranges: [string | null, string | null][] = [[null, null], [null, "2026-02-01T09:30:00.000Z"]];
    const users: string[] = [];
    try {
      const sim = new Simulator({ seed: 7, users: 300, anonymous: 0.3, start: new Date("2026-02-01T08:00:00Z") });
      const events = sim.take(6000);
      const random = rng(99);
      // Late and out of order: shuffle within windows of 400 events; duplicates: resend 10%, some days later.
      for (let i = 0; i < events.length; i += 400) {
        const w = events.slice(i, i + 400).sort(() => random() - 0.5);
        const dups = w.filter(() => random() < 0.1).map((e) => ({
          ...e,
          timestamp: new Date(Date.parse(e.timestamp) + 86_400_000 * 3).toISOString(),
        }));
        const res = await postJson(rt, "/v1/events", [...w, ...dups]);
        assert.deepEqual(res.body, { accepted: w.length + dups.length, rejected: [] });
      }
      // Signed-out sessions: their logins link ids, each once, with a merge entry in the log.
      const persons = await finalPersons(store);
      assert.ok(persons.size > 30, `${persons.size} ids linked`);
      assert.equal(rt.eventLog.head, 6000 + persons.size);
      // Some come back two days later; some events of others arrive from the day before, late: their first day moves.
      const day = 86_400_000;
      const later = events.filter((_, i) => i % 7 === 0).map((e) => ({
        ...e,
        event_id: `${e.event_id}-back`,
        timestamp: new Date(Date.parse(e.timestamp) + 2 * day).toISOString(),
      }));
      const earlier = events.filter((_, i) => i % 11 === 3).map((e) => ({
        ...e,
        event_id: `${e.event_id}-before`,
        timestamp: new Date(Date.parse(e.timestamp) - day).toISOString(),
      }));
      for (const wave of [later, earlier]) {
        for (let i = 0; i < wave.length; i += 500) {
          assert.deepEqual((await postJson(rt, "/v1/events", wave.slice(i, i + 500))).body.rejected, []);
        }
      }
      const [first, middle, last] = [events[0], events[3000], events[5999]].map((e) => e.timestamp);
      ranges.push([first, middle], [middle, null], [middle, last]);
      // The busiest users, and some with a single event.
      for (const order of ["desc", "asc"]) {
        const rows = await store.query<{ user_id: string }>(
          `select user_id from ${await logByPerson(
            store,
          )} group by user_id order by count(*) ${order}, user_id limit 3`,
        );
        users.push(...rows.map((r) => r.user_id));
      }
      users.push(...[...new Set(persons.values())].slice(0, 3)); // people with a history from before they logged in
      await assertMatchesLog(rt, ranges, users);
      assert.equal((await getJson(rt, "/api/stats/users/nobody")).status, 404);
      for (const bad of ["yesterday", "0000-01-01T00:00:00Z", "-010000-01-01T00:00:00Z", "10000-01-01T00:00:00Z"]) {
        assert.equal((await getJson(rt, `/api/stats/overview?from=${encodeURIComponent(bad)}`)).status, 400, bad);
      }
      assert.equal((await getJson(rt, "/api/stats/nothing-here")).status, 404);
      // A name every object inherits is no bucket either.
      assert.equal((await getJson(rt, "/api/stats/timeseries?bucket=__proto__")).status, 400);
    } finally {
      await rt.stop();
    }

    // Replay from scratch: empty the plugin's tables, rewind its checkpoint, start again.
    await store.exec(
      "truncate stats.minute_counts, stats.user_hours, stats.users, stats.sessions, stats.product_counts, " +
        "stats.purchases, stats.purchase_items, stats.product_minutes, stats.product_days, stats.video_views, " +
        "stats.user_days, " +
        "stats.user_firsts, stats.cohort_days, stats.cohort_weeks, stats.event_facts, stats.user_traits, stats.property_names",
    );
    await store.exec("update host.checkpoints set committed = 0 where plugin = 'stats'");
    const replay = await startTestRuntime(backend, { pluginsDir, store });
    try {
      await assertMatchesLog(replay, ranges, users);
    } finally {
      await replay.stop();
      await store.close();
    }
  },
);
