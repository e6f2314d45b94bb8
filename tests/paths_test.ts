/**
 * funnel's paths against a recomputation from the raw events of the other world (`support/other_world.ts`): a history
 * the simulator did not make, with explicit and inferred sessions, bots, duplicates and late deliveries.
 * @module
 */
import assert from "node:assert/strict";
import type { Event } from "../runtime/core/event.ts";
import { otherWorld } from "./support/other_world.ts";
import {
  getJson,
  type Json,
  pluginsFolder,
  postJson,
  REPO,
  testEachBackend,
  waitForCatchUp,
  withRuntime,
} from "./support/harness.ts";

const GAP_MS = 30 * 60_000;

/** Each session's event types in time order (then arrival), a run of one type once; with the session's start. */
function sessionsOf(events: Event[]): { start: number; steps: string[] }[] {
  const seen = new Set<string>();
  const unique = events.filter((e) => !seen.has(e.event_id) && seen.add(e.event_id));
  const at = (e: Event) => Date.parse(e.timestamp);
  const sorted = unique.map((e, arrival) => ({ e, arrival })).sort((a, b) => at(a.e) - at(b.e) || a.arrival - b.arrival)
    .map(({ e }) => e);
  const groups = new Map<string, Event[][]>();
  for (const e of sorted) {
    const key = e.session_id === undefined ? `a ${e.user_id}` : `s ${e.user_id} ${e.session_id}`;
    const runs = groups.get(key) ?? [];
    const last = runs.at(-1);
    // Explicit sessions are one run; inferred ones break at 30 minutes of inactivity.
    if (last && (e.session_id !== undefined || at(e) - at(last.at(-1)!) < GAP_MS)) last.push(e);
    else runs.push([e]);
    groups.set(key, runs);
  }
  return [...groups.values()].flat().map((run) => ({
    start: at(run[0]),
    steps: run.map((e) => e.type).filter((t, i, types) => i === 0 || t !== types[i - 1]),
  }));
}

testEachBackend("funnel's paths equal a recomputation from the raw events of the other world", async (backend) => {
  const { events } = otherWorld({ seed: 31, users: 120, start: new Date("2026-01-05T00:00:00Z"), days: 21 });
  const pluginsDir = await pluginsFolder([{ name: "funnel", from: new URL("plugins/", REPO) }]);
  const sessions = sessionsOf(events);
  await withRuntime(backend, { pluginsDir, money: { base: "USD", rates: {} } }, async (rt) => {
    for (let i = 0; i < events.length; i += 1000) {
      assert.deepEqual((await postJson(rt, "/v1/events", events.slice(i, i + 1000))).body.rejected, []);
    }
    await waitForCatchUp(rt);
    const cases = [
      { event: "product_view", direction: "next", depth: 3, from: null, to: null },
      {
        event: "purchase",
        direction: "previous",
        depth: 3,
        from: "2026-01-12T00:00:00.000Z",
        to: "2026-01-20T00:00:00.000Z",
      },
    ] as const;
    for (const q of cases) {
      const label = `${q.direction} ${q.event}`;
      const walks = new Map<string, number>();
      const nodes = new Map<string, { sessions: number; drop_off: number }>();
      let total = 0;
      for (const s of sessions) {
        const at = s.steps.indexOf(q.event);
        if (at < 0 || (q.from && s.start < Date.parse(q.from)) || (q.to && s.start >= Date.parse(q.to))) continue;
        total++;
        const rest = q.direction === "next" ? s.steps.slice(at + 1) : s.steps.slice(0, at).reverse();
        const walk = rest.slice(0, q.depth);
        walks.set(walk.join(" "), (walks.get(walk.join(" ")) ?? 0) + 1);
        for (const [level, step] of [q.event, ...walk].entries()) {
          const node = nodes.get(`${level} ${step}`) ?? { sessions: 0, drop_off: 0 };
          node.sessions++;
          if (level === rest.length) node.drop_off++;
          nodes.set(`${level} ${step}`, node);
        }
      }
      assert.ok(total > 30 && walks.size <= 100, `${label}: a real case, every walk listed`);
      const query = new URLSearchParams({ event: q.event, direction: q.direction, depth: String(q.depth) });
      query.set("width", "12");
      query.set("top", "100");
      if (q.from) query.set("from", q.from);
      if (q.to) query.set("to", q.to);
      const answer = (await getJson(rt, `/api/funnel/paths?${query}`)).body;
      assert.equal(answer.sessions, total, label);
      assert.deepEqual(
        Object.fromEntries(
          answer.nodes.map((n: Json) => [`${n.level} ${n.step}`, { sessions: n.sessions, drop_off: n.drop_off }]),
        ),
        Object.fromEntries(nodes),
        label,
      );
      assert.deepEqual(
        Object.fromEntries(answer.top_paths.map((p: Json) => [p.steps.join(" "), p.sessions])),
        Object.fromEntries(walks),
        label,
      );
    }
  });
});
