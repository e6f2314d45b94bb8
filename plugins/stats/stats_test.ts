import assert from "node:assert/strict";
import type { Runtime } from "../../runtime/runtime.ts";
import { rng, Simulator } from "../../runtime/simulator/mod.ts";
import type { Sql } from "../../runtime/store/mod.ts";
import { BACKENDS, getJson, pluginsFolder, postJson, REPO, startTestRuntime, waitForCatchUp } from "../../runtime/testing.ts";

const PLUGINS = new URL("plugins/", REPO);

/** The offline truth: sessions recomputed from the raw log with window functions, not the plugin's code. */
const SESSIONS_SQL = `
  with implicit as (
    select user_id, ts, ts - lag(ts) over (partition by user_id order by ts) >= interval '30 minutes'
             or lag(ts) over (partition by user_id order by ts) is null as starts
    from host.events where body->>'session_id' is null
  ), numbered as (
    select user_id, ts, sum(case when starts then 1 else 0 end) over (partition by user_id order by ts) as n from implicit
  )
  select user_id, min(ts) as started_at, max(ts) as ended_at from numbered group by user_id, n
  union all
  select user_id, min(ts), max(ts) from host.events where body->>'session_id' is not null
  group by user_id, body->>'session_id'`;

async function expectedOverview(sql: Sql, from: string | null, to: string | null) {
  const inRange = `($1::timestamptz is null or date_trunc('minute', ts, 'UTC') >= date_trunc('minute', $1::timestamptz, 'UTC'))
                   and ($2::timestamptz is null or date_trunc('minute', ts, 'UTC') < $2::timestamptz)`;
  const [totals] = await sql.query<{ events: number; users: number; purchases: number; revenue: number }>(
    `select count(*)::int8 as events, count(distinct user_id)::int8 as users,
       count(*) filter (where type = 'purchase')::int8 as purchases,
       coalesce(sum((body->'properties'->>'amount')::numeric) filter (where type = 'purchase'), 0) as revenue
     from host.events where ${inRange}`,
    [from, to],
  );
  const types = await sql.query<{ type: string; n: number }>(
    `select type, count(*)::int8 as n from host.events where ${inRange} group by type order by type`,
    [from, to],
  );
  const [{ sessions }] = await sql.query<{ sessions: number }>(
    `select count(*)::int8 as sessions from (${SESSIONS_SQL}) s
     where ($1::timestamptz is null or ended_at >= date_trunc('minute', $1::timestamptz, 'UTC'))
       and ($2::timestamptz is null or date_trunc('minute', started_at, 'UTC') < $2::timestamptz)`,
    [from, to],
  );
  return {
    from,
    to,
    events: totals.events,
    users: totals.users,
    sessions,
    purchases: totals.purchases,
    revenue: Math.round(totals.revenue * 100) / 100,
    by_type: Object.fromEntries(types.map((t) => [t.type, t.n])),
  };
}

async function expectedUser(sql: Sql, userId: string) {
  const [u] = await sql.query(
    `select user_id, count(*)::int8 as events, count(*) filter (where type = 'purchase')::int8 as purchases,
       coalesce(sum((body->'properties'->>'amount')::numeric) filter (where type = 'purchase'), 0) as spent,
       min(ts) as first_seen, max(ts) as last_seen
     from host.events where user_id = $1 group by user_id`,
    [userId],
  );
  const [s] = await sql.query<{ sessions: number; avg: number }>(
    `select count(*)::int8 as sessions, coalesce(avg(extract(epoch from ended_at - started_at)), 0)::float8 as avg
     from (${SESSIONS_SQL}) s where user_id = $1`,
    [userId],
  );
  return {
    ...u,
    first_seen: new Date(u.first_seen as string).toISOString(),
    last_seen: new Date(u.last_seen as string).toISOString(),
    sessions: s.sessions,
    avg_session_seconds: Math.round(s.avg * 10) / 10,
  };
}

async function assertMatchesLog(rt: Runtime, ranges: [string | null, string | null][], users: string[]) {
  await waitForCatchUp(rt);
  for (const [from, to] of ranges) {
    const q = new URLSearchParams({ ...(from ? { from } : {}), ...(to ? { to } : {}) });
    const { status, body } = await getJson(rt, `/api/stats/overview?${q}`);
    assert.equal(status, 200);
    assert.deepEqual(body, await expectedOverview(rt.store, from, to), `overview ${from}..${to}`);
  }
  for (const user of users) {
    const { body } = await getJson(rt, `/api/stats/users/${user}`);
    const { engagement_score, segment, ...numbers } = body;
    assert.deepEqual(numbers, await expectedUser(rt.store, user), `user ${user}`);
    assert.ok(engagement_score >= 0 && engagement_score <= 100);
    assert.ok(["champion", "loyal", "potential", "at_risk", "lost"].includes(segment));
  }
}

for (const backend of BACKENDS) {
  Deno.test({
    name: `[${backend.name}] stats equals a recomputation from the raw log under duplicates, late events and replay`,
    ignore: !backend.enabled,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const pluginsDir = await pluginsFolder([{ name: "stats", from: PLUGINS }]);
      const store = await backend.open();
      const rt = await startTestRuntime(backend, { pluginsDir, store });
      const ranges: [string | null, string | null][] = [[null, null], [null, "2026-02-01T09:30:00.000Z"]];
      const users: string[] = [];
      try {
        const sim = new Simulator({ seed: 7, users: 300, start: new Date("2026-02-01T08:00:00Z") });
        const events = sim.take(6000);
        const random = rng(99);
        // Late and out of order: shuffle within windows of 400 events; duplicates: resend 10%, some days later.
        for (let i = 0; i < events.length; i += 400) {
          const w = events.slice(i, i + 400).sort(() => random() - 0.5);
          const dups = w.filter(() => random() < 0.1).map((e) => ({ ...e, timestamp: new Date(Date.parse(e.timestamp) + 86_400_000 * 3).toISOString() }));
          const res = await postJson(rt, "/v1/events", [...w, ...dups]);
          assert.deepEqual(res.body, { accepted: w.length + dups.length, rejected: [] });
        }
        assert.equal(rt.log.head, 6000);
        const [first, middle, last] = [events[0], events[3000], events[5999]].map((e) => e.timestamp);
        ranges.push([first, middle], [middle, null], [middle, last]);
        // The busiest users, and some with a single event.
        for (const order of ["desc", "asc"]) {
          const rows = await store.query<{ user_id: string }>(
            `select user_id from host.events group by user_id order by count(*) ${order}, user_id limit 3`,
          );
          users.push(...rows.map((r) => r.user_id));
        }
        await assertMatchesLog(rt, ranges, users);
        assert.equal((await getJson(rt, "/api/stats/users/nobody")).status, 404);
        assert.equal((await getJson(rt, "/api/stats/overview?from=yesterday")).status, 400);
      } finally {
        await rt.stop();
      }

      // Replay from scratch: empty the plugin's tables, rewind its checkpoint, start again.
      await store.exec("truncate stats.minute_counts, stats.user_minutes, stats.users, stats.sessions");
      await store.exec("update host.checkpoints set position = 0 where plugin = 'stats'");
      const replay = await startTestRuntime(backend, { pluginsDir, store });
      try {
        await assertMatchesLog(replay, ranges, users);
      } finally {
        await replay.stop();
        await store.close();
      }
    },
  });
}
