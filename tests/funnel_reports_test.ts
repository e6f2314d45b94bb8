/**
 * funnel's custom reports against a recomputation in plain TypeScript from the raw events of the other world
 * (`support/other_world.ts`): a history the simulator did not make, with duplicates, late deliveries and several
 * devices per user.
 * @module
 */
import assert from "node:assert/strict";
import type { Event } from "../runtime/core/event.ts";
import { otherWorld } from "./support/other_world.ts";
import {
  type Json,
  pluginsFolder,
  postJson,
  REPO,
  testEachBackend,
  waitForCatchUp,
  withRuntime,
} from "./support/harness.ts";

/** A report's question: steps (event types), order, window, range and an optional device to keep. */
interface Ask {
  steps: string[];
  order: "sequential" | "strict";
  window: number;
  from: string | null;
  to: string | null;
  device: string | null;
}

/**
 * Per step, how many users' best attempt reached it, and per country of the event that started it, recomputed from the
 * events: each user's events in time order (then arrival), duplicates once. An attempt starts at a first-step event in
 * the range; each next step is a later event within the window (in strict order, the very next event); the best
 * attempt is the furthest, the earliest on ties. An event on another device counts as no step.
 */
function recompute(events: Event[], ask: Ask): { steps: number[]; byCountry: Map<string, number[]> } {
  const seen = new Set<string>();
  const byUser = new Map<string, { e: Event; at: number; arrival: number }[]>();
  events.forEach((e, arrival) => {
    if (seen.has(e.event_id)) return;
    seen.add(e.event_id);
    byUser.set(e.user_id, [...byUser.get(e.user_id) ?? [], { e, at: Date.parse(e.timestamp), arrival }]);
  });
  const from = ask.from === null ? -Infinity : Date.parse(ask.from);
  const to = ask.to === null ? Infinity : Date.parse(ask.to);
  const steps = new Array<number>(ask.steps.length).fill(0);
  const byCountry = new Map<string, number[]>();
  for (const list of byUser.values()) {
    list.sort((a, b) => a.at - b.at || a.arrival - b.arrival);
    const step = ({ e }: { e: Event }) => ask.device === null || e.properties.device === ask.device ? e.type : null;
    let best: { start: number; reached: number } | null = null;
    for (let i = 0; i < list.length; i++) {
      if (list[i].at < from || list[i].at >= to || step(list[i]) !== ask.steps[0]) continue;
      let reached = 1;
      for (let j = i + 1; j < list.length && list[j].at <= list[i].at + ask.window * 1000; j++) {
        if (reached === ask.steps.length) break;
        if (step(list[j]) === ask.steps[reached]) reached++;
        else if (ask.order === "strict") break;
      }
      if (best === null || reached > best.reached) best = { start: i, reached };
    }
    if (best === null) continue;
    const country = String(list[best.start].e.properties.country);
    const row = byCountry.get(country) ?? new Array<number>(ask.steps.length).fill(0);
    for (let k = 0; k < best.reached; k++) {
      steps[k]++;
      row[k]++;
    }
    byCountry.set(country, row);
  }
  return { steps, byCountry };
}

testEachBackend(
  "funnel's custom reports equal a recomputation from the raw events of the other world",
  async (backend) => {
    const { events } = otherWorld({ seed: 37, users: 140, start: new Date("2026-01-05T00:00:00Z"), days: 21 });
    const pluginsDir = await pluginsFolder([{ name: "funnel", from: new URL("plugins/", REPO) }]);
    await withRuntime(backend, { pluginsDir, money: { base: "USD", rates: {} } }, async (rt) => {
      for (let i = 0; i < events.length; i += 1000) {
        assert.deepEqual((await postJson(rt, "/v1/events", events.slice(i, i + 1000))).body.rejected, []);
      }
      await waitForCatchUp(rt);
      const week = { from: "2026-01-12T00:00:00.000Z", to: "2026-01-19T00:00:00.000Z" };
      const asks: Ask[] = [
        {
          steps: ["product_view", "add_to_cart", "purchase"],
          order: "sequential",
          window: 86_400,
          from: null,
          to: null,
          device: null,
        },
        {
          steps: ["product_view", "add_to_cart", "checkout"],
          order: "sequential",
          window: 3600,
          ...week,
          device: "ios",
        },
        { steps: ["product_view", "add_to_cart"], order: "strict", window: 1800, ...week, device: null },
      ];
      for (const ask of asks) {
        const label = `${ask.order} ${ask.steps.join(" > ")} ${ask.from ?? "all time"} ${ask.device ?? ""}`;
        const query = new URLSearchParams({ breakdown: "country", breakdown_limit: "50" });
        if (ask.from) query.set("from", ask.from);
        if (ask.to) query.set("to", ask.to);
        if (ask.device) query.set("where", `device:eq:${ask.device}`);
        const definition = { name: "asked", steps: ask.steps, order: ask.order, window_seconds: ask.window };
        const res = await postJson(rt, `/api/funnel/report?${query}`, definition);
        assert.equal(res.status, 200, `${label}: ${JSON.stringify(res.body)}`);
        const expected = recompute(events, ask);
        assert.ok(expected.steps.at(-1)! > 0 && expected.steps.at(-1)! < expected.steps[0], `${label}: a real case`);
        assert.deepEqual(res.body.steps.map((s: Json) => s.users), expected.steps, label);
        const rows = new Map(res.body.breakdown.rows.map((r: Json) => [r.key, r.users]));
        assert.deepEqual(rows, expected.byCountry, `${label}, by country`);
      }
    });
  },
);
