import assert from "node:assert/strict";
import { type Json, testEachBackend, testPlugin } from "@runtime/testing";

const T0 = Date.parse("2026-05-01T10:00:00Z");

/** An event of `user` at `minute` after 10:00, in `session` when given (else its session is inferred). */
function ev(id: string, user: string, type: string, minute: number, session?: string) {
  return {
    event_id: id,
    user_id: user,
    type,
    timestamp: new Date(T0 + minute * 60_000).toISOString(),
    properties: type === "purchase" ? { amount: 10 } : {},
    ...(session ? { session_id: session } : {}),
  };
}

// Ann, one explicit session: page_view ×2, search, product_view, add_to_cart, search, purchase.
const ANN = [
  ev("a1", "ann", "page_view", 0, "s1"),
  ev("a2", "ann", "page_view", 1, "s1"),
  ev("a3", "ann", "search", 2, "s1"),
  ev("a4", "ann", "product_view", 3, "s1"),
  ev("a5", "ann", "add_to_cart", 4, "s1"),
  ev("a6", "ann", "search", 5, "s1"),
  ev("a7", "ann", "purchase", 6, "s1"),
];
// Bob, two inferred sessions 40 minutes apart: search, product_view ×2, purchase; then page_view, search.
const BOB = [
  ev("b1", "bob", "search", 0),
  ev("b2", "bob", "product_view", 2),
  ev("b3", "bob", "product_view", 3),
  ev("b4", "bob", "purchase", 4),
  ev("b5", "bob", "page_view", 44),
  ev("b6", "bob", "search", 45),
];
// Cy never searches nor buys.
const CY = [ev("c1", "cy", "page_view", 0), ev("c2", "cy", "product_view", 1)];

testEachBackend(
  "GET /paths counts each session once from its first time doing the event, level by level",
  async (backend) => {
    await using h = await testPlugin(new URL("./", import.meta.url), { backend });
    // Late and duplicated: Bob's first session arrives back to front, split over batches, and one event twice.
    for (
      const batch of [
        [...CY, BOB[3], BOB[5]],
        [...ANN.slice(3), BOB[2]],
        [...ANN.slice(0, 3), BOB[0], BOB[1], BOB[4]],
        [ANN[2]],
      ]
    ) {
      assert.equal((await h.send(batch)).body.accepted, batch.length);
    }

    const next = (await h.get("/paths?event=search&depth=2&width=1")).body;
    assert.deepEqual(next, {
      event: "search",
      direction: "next",
      depth: 2,
      from: null,
      to: null,
      sessions: 3,
      nodes: [
        { level: 0, step: "search", sessions: 3, share: 1, drop_off: 1 },
        { level: 1, step: "product_view", sessions: 2, share: 0.6667, drop_off: 0 },
        { level: 2, step: "add_to_cart", sessions: 1, share: 0.3333, drop_off: 0 },
        { level: 2, step: "(other)", sessions: 1, share: 0.3333, drop_off: 1 },
      ],
      links: [
        { level: 1, from: "search", to: "product_view", sessions: 2 },
        { level: 2, from: "product_view", to: "add_to_cart", sessions: 1 },
        { level: 2, from: "product_view", to: "(other)", sessions: 1 },
      ],
      top_paths: [
        { steps: [], sessions: 1 },
        { steps: ["product_view", "add_to_cart"], sessions: 1 },
        { steps: ["product_view", "purchase"], sessions: 1 },
      ],
    });

    const previous = (await h.get("/paths?event=purchase&direction=previous")).body;
    assert.equal(previous.sessions, 2);
    assert.deepEqual(previous.nodes.map((n: Json) => [n.level, n.step, n.sessions, n.drop_off]), [
      [0, "purchase", 2, 0],
      [1, "product_view", 1, 0],
      [1, "search", 1, 0],
      [2, "add_to_cart", 1, 0],
      [2, "search", 1, 1], // Bob's session began with it
      [3, "product_view", 1, 0], // Ann's goes on: search, page_view
    ]);
    assert.deepEqual(previous.top_paths, [
      { steps: ["product_view", "search"], sessions: 1 },
      { steps: ["search", "add_to_cart", "product_view"], sessions: 1 }, // nearest first
    ]);
    assert.deepEqual((await h.get("/paths?event=purchase&direction=previous&top=1")).body.top_paths.length, 1);

    // Over whole days the counts kept per day answer; over other ranges, the sessions: the same.
    for (const query of ["event=search&depth=2&width=1", "event=purchase&direction=previous"]) {
      const all = (await h.get(`/paths?${query}`)).body;
      for (const range of ["from=2026-05-01&to=2026-05-02", "from=2026-05-01T09:59:00Z&to=2026-05-01T11:00:00Z"]) {
        const ranged = (await h.get(`/paths?${query}&${range}`)).body;
        assert.deepEqual({ ...ranged, from: null, to: null }, all, `${query}&${range}`);
      }
      const after = (await h.get(`/paths?${query}&from=2026-05-02`)).body;
      assert.deepEqual([after.sessions, after.nodes], [0, []]);
    }

    // The range is on the session's start: Bob's second session (10:44) alone.
    const late = (await h.get("/paths?event=search&from=2026-05-01T10:30:00Z&to=2026-05-01T11:00:00Z")).body;
    assert.deepEqual([late.sessions, late.nodes], [1, [{
      level: 0,
      step: "search",
      sessions: 1,
      share: 1,
      drop_off: 1,
    }]]);
    const none = (await h.get("/paths?event=video_play")).body;
    assert.deepEqual([none.sessions, none.nodes, none.links, none.top_paths], [0, [], [], []]);

    for (
      const [query, message] of [
        ["", /event/],
        ["event=Search!", /event: must be an event type/],
        ["event=search&direction=sideways", /direction/],
        ["event=search&depth=7", /depth/],
        ["event=search&width=0", /width/],
        ["event=search&from=yesterday", /from/],
      ] as const
    ) {
      const res = await h.get(`/paths?${query}`);
      assert.equal(res.status, 400, query);
      assert.match(res.body.error, message, query);
    }
  },
);

/**
 * SQL recounting `path_walks` from every session's path, shards added up: per UTC day a session started, its walks from
 * the first time it did each event type, forward and back (nearest first), up to 6 steps, and whether it goes on.
 */
const RECOUNT_SQL = `
  select w.event, w.forward, w.day::text, w.walk, w.more, count(*)::int4 as sessions
  from (
    select t.event, f.forward, (s.started_at at time zone 'UTC')::date as day,
      case when f.forward then s.path[t.i + 1 : t.i + 6]
        else array(select x from unnest(s.path[greatest(t.i - 6, 1) : t.i - 1]) with ordinality as u(x, n)
                   order by n desc)
      end as walk,
      case when f.forward then cardinality(s.path) - t.i > 6 else t.i - 1 > 6 end as more
    from sessions s
    cross join lateral (
      select event, min(i)::int as i from unnest(s.path) with ordinality as p(event, i) group by event
    ) t
    cross join (values (true), (false)) as f(forward)
  ) w
  group by 1, 2, 3, 4, 5
  order by 1, 2, 3, 4, 5`;

/** Migration 003's sessions' paths recomputed in SQL from the stored events, as the batches should have made them. */
const PATHS_SQL = `
  select s.session_key, coalesce((
    select array_agg(type order by ts, position, event_id) from (
      select e.type, e.ts, e.position, e.event_id, lag(e.type) over (order by e.ts, e.position, e.event_id) as before
      from events e
      where e.user_id = s.user_id and (
        (s.session_key like 's:%' and e.session_id = substr(s.session_key, 3))
        or (s.session_key like 'a:%' and e.session_id is null and e.ts between s.started_at and s.ended_at))
    ) x
    where before is distinct from type
  ), '{}') as path
  from sessions s order by s.user_id, s.session_key`;

testEachBackend(
  "each session keeps its path, and path_walks its walks, through late events and merges",
  async (backend) => {
    await using h = await testPlugin(new URL("./", import.meta.url), { backend });
    await h.send([...CY, ...BOB, ...ANN, ev("a8", "ann", "search", 200, "s1"), ev("c3", "cy", "page_view", 0.5)]);
    const paths = () =>
      h.sql<{ path: string[] }>("select session_key, path from sessions order by user_id, session_key");
    assert.deepEqual((await paths()).map((r) => r.path), [
      ["page_view", "search", "product_view", "add_to_cart", "search", "purchase", "search"],
      ["search", "product_view", "purchase"],
      ["page_view", "search"],
      ["page_view", "product_view"],
    ]);
    const walks = () =>
      h.sql(
        `select event, forward, day::text, walk, more, sum(sessions)::int4 as sessions from path_walks
       group by 1, 2, 3, 4, 5 having sum(sessions) <> 0 order by 1, 2, 3, 4, 5`,
      );
    assert.deepEqual((await walks()).filter((w) => w.event === "purchase"), [
      {
        event: "purchase",
        forward: false,
        day: "2026-05-01",
        walk: ["product_view", "search"],
        more: false,
        sessions: 1,
      },
      {
        event: "purchase",
        forward: false,
        day: "2026-05-01",
        walk: ["search", "add_to_cart", "product_view", "search", "page_view"],
        more: false,
        sessions: 1,
      },
      { event: "purchase", forward: true, day: "2026-05-01", walk: [], more: false, sessions: 1 },
      { event: "purchase", forward: true, day: "2026-05-01", walk: ["search"], more: false, sessions: 1 },
    ]);
    // Late: a login 25 minutes before Bob's first session joins it (a new start, a longer path). An anonymous visitor
    // logs in as Cy: her session moves to Cy, its counts with it.
    await h.send([
      ev("b-late", "bob", "login", -25),
      ev("x1", "anon-x", "search", 60),
      ev("x2", "anon-x", "product_view", 61),
      ev("x3", "cy", "identify", 62),
    ]);
    await h.send([{ ...ev("x3b", "cy", "identify", 63), properties: { anonymous_id: "anon-x" } }]);
    const moved = await h.sql(
      "select user_id, path from sessions where user_id in ('bob', 'cy', 'anon-x') order by 1, 2",
    );
    assert.deepEqual(moved.map((r) => [r.user_id, r.path]), [
      ["bob", ["login", "search", "product_view", "purchase"]],
      ["bob", ["page_view", "search"]],
      ["cy", ["page_view", "product_view"]],
      ["cy", ["search", "product_view", "identify"]],
    ]);
    assert.deepEqual(
      await h.sql(PATHS_SQL),
      await h.sql("select session_key, path from sessions order by user_id, session_key"),
    );
    assert.deepEqual(await walks(), await h.sql(RECOUNT_SQL));
    const shards = await h.sql<{ shard: number }>(
      "select distinct shard from path_walks order by shard",
    );
    assert.ok(shards.length > 1, "counts are kept per shard (the users' log partitions)");
  },
);
