/**
 * The offline truth for tests: the funnel's answers recomputed from the raw log (the raw log) with plain
 * SQL, sharing no code with the plugin.
 */
import { logByPerson } from "./persons.ts";
import type { Sql, Store } from "../../runtime/store/mod.ts";

/** Every event of the raw log with its session key: `s:<session_id>`, or `a:<start ms>` by 30-minute gaps. */
const SESSION_EVENTS = (events: string) => `
  with implicit as (
    select event_id, user_id, ts, position, type, body,
      coalesce(ts - lag(ts) over w >= interval '30 minutes', true) as starts
    from ${events} where body->>'session_id' is null
    window w as (partition by user_id order by ts, position)
  ), numbered as (
    select *, sum(case when starts then 1 else 0 end) over (partition by user_id order by ts, position) as n
    from implicit
  )
  select event_id, user_id, ts, position, type, body,
    'a:' || (extract(epoch from min(ts) over (partition by user_id, n)) * 1000)::int8 as skey
  from numbered
  union all
  select event_id, user_id, ts, position, type, body, 's:' || (body->>'session_id') from ${events}
  where body->>'session_id' is not null`;

/** The first event of `types` after the previous step in each session, as (ts, position in the log); stage by stage. */
const SESSIONS = (events: string) => `
  with se as materialized (${SESSION_EVENTS(events)}),
  s0 as (
    select user_id, skey, min(ts) as started_at, max(ts) as ended_at, count(*) as events,
      bool_or(type = 'add_to_cart') as has_cart, bool_or(type = 'purchase') as has_purchase,
      (array_agg(ts order by ts, position) filter (where type in ('page_view', 'product_view')))[1] as t1,
      (array_agg(position order by ts, position) filter (where type in ('page_view', 'product_view')))[1] as i1
    from se group by 1, 2
  ),
  ${
  [["s1", "s0", "add_to_cart", 2], ["s2", "s1", "checkout", 3], ["s3", "s2", "purchase", 4]].map(([s, prev, type, k]) =>
    `${s} as (
      select p.user_id, p.skey, (array_agg(e.ts order by e.ts, e.position))[1] as t${k},
        (array_agg(e.position order by e.ts, e.position))[1] as i${k}
      from ${prev} p left join se e on e.user_id = p.user_id and e.skey = p.skey and e.type = '${type}'
        and (e.ts, e.position) > (p.t${Number(k) - 1}, p.i${Number(k) - 1})
      group by 1, 2
    )`
  ).join(",\n")
}
  select s0.user_id, s0.skey, s0.started_at, s0.ended_at, s0.events, s0.has_cart, s0.has_purchase,
    s0.t1 as view_at, s1.t2 as cart_at, s2.t3 as checkout_at, s3.t4 as purchase_at,
    (s0.t1 is not null)::int + (s1.t2 is not null)::int + (s2.t3 is not null)::int + (s3.t4 is not null)::int
      as reached
  from s0 join s1 using (user_id, skey) join s2 using (user_id, skey) join s3 using (user_id, skey)`;

/** `/summary` recomputed. */
export async function expectedSummary(sql: Sql, from: string | null, to: string | null) {
  const events = await logByPerson(sql);
  const [r] = await sql.query<Record<string, number | null>>(
    `select count(*)::int8 as sessions,
       count(*) filter (where reached >= 1)::int8 as s0, count(*) filter (where reached >= 2)::int8 as s1,
       count(*) filter (where reached >= 3)::int8 as s2, count(*) filter (where reached >= 4)::int8 as s3,
       percentile_cont(0.5) within group (order by extract(epoch from cart_at - view_at)) as w1,
       percentile_cont(0.5) within group (order by extract(epoch from checkout_at - cart_at)) as w2,
       percentile_cont(0.5) within group (order by extract(epoch from purchase_at - checkout_at)) as w3,
       count(*) filter (where has_cart)::int8 as carted,
       count(*) filter (where has_cart and not has_purchase)::int8 as abandoned
     from (${SESSIONS(events)}) s
     where ($1::timestamptz is null or started_at >= $1) and ($2::timestamptz is null or started_at < $2)`,
    [from, to],
  );
  const r4 = (a: number, b: number) => b === 0 ? 0 : Math.round((a / b) * 1e4) / 1e4;
  const names = ["view", "add_to_cart", "checkout", "purchase"];
  const types = [["page_view", "product_view"], ["add_to_cart"], ["checkout"], ["purchase"]];
  const n = (k: number) => r[`s${k}`] as number;
  return {
    from,
    to,
    sessions: r.sessions,
    steps: names.map((step, k) => ({
      step,
      event_types: types[k],
      sessions: n(k),
      conversion_from_start: r4(n(k), n(0)),
      conversion_from_previous: r4(n(k), n(Math.max(0, k - 1))),
      median_seconds_from_previous: k === 0 || r[`w${k}`] === null ? null : Math.round(r[`w${k}`]! * 1000) / 1000,
    })),
    carted_sessions: r.carted,
    abandoned_carts: r.abandoned,
    cart_abandonment_rate: r4(r.abandoned as number, r.carted as number),
  };
}

/** The users with a session starting in the range whose furthest default step is `k` (1..4) or more, recomputed. */
export async function expectedSummaryUsers(sql: Sql, k: number, from: string | null, to: string | null) {
  const events = await logByPerson(sql);
  const rows = await sql.query<{ user_id: string }>(
    `select distinct user_id from (${SESSIONS(events)}) s
     where reached >= $1::int and ($2::timestamptz is null or started_at >= $2) and ($3::timestamptz is null or started_at < $3)`,
    [k, from, to],
  );
  return rows.map((r) => r.user_id).sort();
}

/** A session as the per-user view shows it, recomputed: its key, span, size, steps and events. */
export async function expectedSessions(sql: Sql, userId: string) {
  const events = await logByPerson(sql);
  const sessions = await sql.query<
    { skey: string; started_at: string; ended_at: string; events: number; reached: number }
  >(
    `select skey, started_at, ended_at, events::int8 as events, reached::int8 as reached
     from (${SESSIONS(events)}) s where user_id = $1 order by started_at desc, skey`,
    [userId],
  );
  const timeline = await sql.query<{ skey: string; event_id: string }>(
    `select skey, event_id from (${SESSION_EVENTS(events)}) e where user_id = $1 order by ts, position`,
    [userId],
  );
  return sessions.map((s) => ({
    session_key: s.skey,
    started_at: new Date(s.started_at).toISOString(),
    ended_at: new Date(s.ended_at).toISOString(),
    events: s.events,
    reached: s.reached,
    timeline: timeline.filter((e) => e.skey === s.skey).map((e) => e.event_id),
  }));
}

/** Abandoned-cart sessions recomputed, as the inputs of the hot-leads score. */
export async function expectedLeadCandidates(sql: Sql, hours: number) {
  const events = await logByPerson(sql);
  return await sql.query(
    `with s as (${SESSIONS(events)}), wm as (select max(ts) as wm from ${events}),
     recent as (
       select distinct on (s.user_id) s.* from s, wm
       where s.has_cart and not s.has_purchase and s.ended_at > wm.wm - $1::float8 * interval '1 hour'
         and s.ended_at <= wm.wm - interval '30 minutes'
         and not exists (select 1 from s p where p.user_id = s.user_id and p.has_purchase and p.started_at > s.started_at)
       order by s.user_id, s.ended_at desc
     )
     select r.user_id, r.skey as session_key, r.reached::int8 as reached, r.events::int8 as events,
       extract(epoch from wm.wm - r.ended_at)::float8 / 3600 as hours_ago,
       (select count(*) from s p where p.user_id = r.user_id and p.has_purchase and p.started_at < r.started_at)::int8
         as prior_purchases
     from recent r, wm order by r.user_id`,
    [hours],
  );
}

/**
 * A lead's score as the funnel's README defines it, written from that table: 0.35 for a session that reached
 * checkout (else 0.15), 0.1 per earlier purchase up to 0.3, 0.2 × (1 − hours since it ended / `hours`), and
 * 0.15 × min(1, events / 20); to 4 decimals.
 */
export function expectedLeadScore(
  c: { reached: number; prior_purchases: number; hours_ago: number; events: number },
  hours: number,
): number {
  const furthest = c.reached >= 3 ? 0.35 : 0.15;
  const loyalty = 0.1 * Math.min(3, c.prior_purchases);
  const recency = 0.2 * Math.max(0, 1 - c.hours_ago / hours);
  const engagement = 0.15 * Math.min(1, c.events / 20);
  return Math.round((furthest + loyalty + recency + engagement) * 1e4) / 1e4;
}

/** A funnel as the recomputation takes it. */
export interface FunnelSpec {
  steps: { type: string; where: Record<string, unknown> }[];
  order: "sequential" | "strict" | "any";
  window_seconds: number;
}

/**
 * Every attempt (one per entering event in [from, to)) with the time each step was done, recomputed in SQL:
 * sequential by joining each step's first later event, strict by event rank, any (for funnels whose steps
 * match disjoint events) by each step's first event in the window.
 */
function attemptsSql(f: FunnelSpec, only: Only[]): string {
  // An event is a step when it is of the step's type, has its properties and passes every one of `only`.
  const passes = (alias: string) =>
    only.map(([name, op, value]) =>
      `${alias}.p->>'${name}' ${op === "eq" ? "=" : "is distinct from"} '${value.replaceAll("'", "''")}'`
    ).map((t) => ` and ${t}`).join("");
  const match = (alias: string, i: number) =>
    `${alias}.type = $${4 + 2 * i} and ${alias}.p @> $${5 + 2 * i}::jsonb${passes(alias)}`;
  const inRange = `($1::timestamptz is null or a.ts >= $1) and ($2::timestamptz is null or a.ts < $2)`;
  const deadline = `a.ts + $3::float8 * interval '1 second'`;
  const k = f.steps.length;
  if (f.order === "any") {
    const firsts = f.steps.map((_, i) =>
      `(select min(e.ts) from ev e where e.user_id = a.user_id and ${match("e", i)}
          and (e.ts, e.position) >= (a.ts, a.position) and e.ts <= ${deadline}) as t${i}`
    );
    return `select a.user_id, a.ts as start, a.position as start_id, a.p->>'country' as key,
        ${firsts.join(", ")}
      from ev a where (${f.steps.map((_, i) => `(${match("a", i)})`).join(" or ")}) and ${inRange}`;
  }
  // Sequential and strict: chain stage by stage, each stage the step's event after the previous one's.
  const stages = [`c0 as (select a.user_id, a.ts as start, a.position as start_id, a.p->>'country' as key,
      a.ts as t0, a.position as i0, a.rn as r0 from ev a where ${match("a", 0)} and ${inRange})`];
  for (let i = 1; i < k; i++) {
    const prev = `c${i - 1}`;
    const carry = [...Array(i).keys()].map((j) => `c.t${j}, c.i${j}, c.r${j}`).join(", ");
    stages.push(
      f.order === "strict"
        ? `c${i} as (select c.user_id, c.start, c.start_id, c.key, ${carry}, e.ts as t${i}, e.position as i${i},
             e.rn as r${i}
           from ${prev} c left join ev e on e.user_id = c.user_id and e.rn = c.r${i - 1} + 1 and ${match("e", i)}
             and e.ts <= c.start + $3::float8 * interval '1 second')`
        : `c${i} as (select c.user_id, c.start, c.start_id, c.key, ${carry},
             (array_agg(e.ts order by e.ts, e.position))[1] as t${i},
             (array_agg(e.position order by e.ts, e.position))[1] as i${i}, null::int8 as r${i}
           from ${prev} c left join ev e on e.user_id = c.user_id and ${match("e", i)}
             and (e.ts, e.position) > (c.t${i - 1}, c.i${i - 1}) and e.ts <= c.start + $3::float8 * interval '1 second'
           group by c.user_id, c.start, c.start_id, c.key, ${carry})`,
    );
  }
  return `with ${stages.join(",\n")}
    select user_id, start, start_id, key, ${[...Array(k).keys()].map((i) => `t${i}`).join(", ")} from c${k - 1}`;
}

/** A condition on an event's property: equal to a text, or not (not set counts as not equal). */
export type Only = [name: string, op: "eq" | "ne", value: string];

/**
 * A custom funnel's report recomputed from the raw log: the best attempt per user, then per-step numbers; with `only`,
 * an event is a step only when it meets every condition.
 */
export async function expectedReport(
  store: Store,
  f: FunnelSpec,
  from: string | null,
  to: string | null,
  only: Only[] = [],
) {
  const events = await logByPerson(store);
  const rows = await store.transaction(async (tx) => {
    // The raw log ranked per user, indexed, so the joins below stay linear.
    await tx.exec(`
      create temp table ev on commit drop as
        select event_id, user_id, ts, position, body->'properties' as p, type,
          row_number() over (partition by user_id order by ts, position) as rn
        from ${events};
      create index on ev (user_id, rn);
      create index on ev (user_id, type, ts);
      analyze ev`);
    return await tx.query<Record<string, string | null> & { user_id: string; start: string; start_id: number }>(
      `${attemptsSql(f, only)} order by user_id, start, start_id`,
      [from, to, f.window_seconds, ...f.steps.flatMap((s) => [s.type, JSON.stringify(s.where)])],
    );
  });
  const best = new Map<string, { times: number[]; key: string | null }>();
  for (const r of rows) {
    // Times come back as Dates: compare them as milliseconds.
    const stamps = f.steps.map((_, i) => r[`t${i}`] === null ? null : new Date(r[`t${i}`]!).getTime());
    // In any order, step k is done when k of the steps are; otherwise the chain ends at its first gap.
    const times = f.order === "any"
      ? stamps.filter((t) => t !== null).sort((a, b) => a - b)
      : stamps.slice(0, stamps.includes(null) ? stamps.indexOf(null) : stamps.length) as number[];
    const old = best.get(r.user_id);
    if (!old || times.length > old.times.length) best.set(r.user_id, { times, key: r.key });
  }
  const users = [...best].map(([user_id, u]) => ({ user_id, ...u }));
  return f.steps.map((_, k) => {
    const at = users.filter((u) => u.times.length > k);
    const ids = (us: typeof users) => us.map((u) => u.user_id).sort();
    const waits = k === 0 ? [] : at.map((u) => (u.times[k] - u.times[k - 1]) / 1000).sort((a, b) => a - b);
    const mid = waits.length >> 1;
    return {
      users: at.length,
      median: waits.length === 0 ? null : waits.length % 2 ? waits[mid] : (waits[mid - 1] + waits[mid]) / 2,
      by_country: Object.fromEntries(
        [...new Set(at.map((u) => u.key))].sort().map((key) => [key, at.filter((u) => u.key === key).length]),
      ),
      reached_users: ids(at),
      dropped_users: k === 0 ? [] : ids(users.filter((u) => u.times.length === k)),
    };
  });
}

/**
 * Paths from (`next`) or to (`previous`) an event recomputed: each session's types in log order with runs of one type
 * kept once, walked `depth` steps from its first time doing `event`. Answers the sessions, each step of each level
 * (unbucketed) with its sessions and drop-off, and every distinct walk's sessions.
 */
export async function expectedPaths(
  sql: Sql,
  q: { event: string; direction: "next" | "previous"; depth: number; from: string | null; to: string | null },
) {
  const events = await logByPerson(sql);
  const sessions = await sql.query<{ steps: string[] }>(
    `with se as (${SESSION_EVENTS(events)}),
     marked as (
       select user_id, skey, ts, position, type, min(ts) over (partition by user_id, skey) as started,
         lag(type) over (partition by user_id, skey order by ts, position) as before
       from se
     )
     select array_agg(type order by ts, position) as steps from marked
     where before is null or before <> type
     group by user_id, skey, started
     having ($1::timestamptz is null or started >= $1) and ($2::timestamptz is null or started < $2)`,
    [q.from, q.to],
  );
  const nodes = new Map<string, { sessions: number; drop_off: number }>();
  const walks = new Map<string, number>();
  let total = 0;
  for (const { steps } of sessions) {
    const at = steps.indexOf(q.event);
    if (at < 0) continue;
    total++;
    const rest = q.direction === "next" ? steps.slice(at + 1) : steps.slice(0, at).reverse();
    const walk = rest.slice(0, q.depth);
    walks.set(walk.join(" "), (walks.get(walk.join(" ")) ?? 0) + 1);
    [q.event, ...walk].forEach((step, level) => {
      const node = nodes.get(`${level} ${step}`) ?? { sessions: 0, drop_off: 0 };
      node.sessions++;
      if (level === rest.length) node.drop_off++;
      nodes.set(`${level} ${step}`, node);
    });
  }
  return { sessions: total, nodes, walks };
}
