/**
 * stats' retention against a recomputation from the raw events, on the other world (`support/other_world.ts`): a
 * history the simulator did not make, with sign-up waves, users who leave or pause, duplicates and late deliveries.
 * @module
 */
import assert from "node:assert/strict";
import type { Event } from "../runtime/core/event.ts";
import { otherWorld } from "./support/other_world.ts";
import {
  allPages,
  getJson,
  pluginsFolder,
  postJson,
  REPO,
  testEachBackend,
  waitForCatchUp,
  withRuntime,
} from "./support/harness.ts";

const DAY = 86_400_000;

/** Per cohort start (YYYY-MM-DD): its users and, per period, how many came back; null for periods not begun. */
function recompute(
  events: Event[],
  step: 1 | 7,
  periods: number,
  from: string,
  to: string,
  startEvent: string | null,
  returnEvent: string | null,
): [string, number, (number | null)[]][] {
  const seen = new Set<string>();
  const unique = events.filter((e) => !seen.has(e.event_id) && seen.add(e.event_id));
  const dayOf = (e: Event) => Math.floor(Date.parse(e.timestamp) / DAY);
  // Weeks begin on Monday; day 0 (1970-01-01) was a Thursday.
  const periodOf = (day: number) => step === 1 ? day : day - ((day + 3) % 7);
  const first = new Map<string, number>();
  const active = new Map<string, Set<number>>();
  for (const e of unique) {
    const day = dayOf(e);
    if (startEvent === null || e.type === startEvent) first.set(e.user_id, Math.min(first.get(e.user_id) ?? day, day));
    if (returnEvent === null || e.type === returnEvent) {
      active.set(e.user_id, (active.get(e.user_id) ?? new Set()).add(periodOf(day)));
    }
  }
  const watermark = Math.max(...unique.map(dayOf));
  const rows: [string, number, (number | null)[]][] = [];
  for (let start = periodOf(Date.parse(from) / DAY); start < Date.parse(to) / DAY; start += step) {
    const cohort = [...first].filter(([, day]) => periodOf(day) === start).map(([user]) => user);
    const retained = Array.from({ length: periods + 1 }, (_, k) => {
      if (start + k * step > watermark) return null;
      if (k === 0) return cohort.length;
      return cohort.filter((u) => active.get(u)?.has(start + k * step)).length;
    });
    rows.push([new Date(start * DAY).toISOString().slice(0, 10), cohort.length, retained]);
  }
  return rows;
}

/** The users first seen on `day` (YYYY-MM-DD) with a `type` event the day after, by id. */
function backOn(events: Event[], day: string, type: string): string[] {
  const seen = new Set<string>();
  const unique = events.filter((e) => !seen.has(e.event_id) && seen.add(e.event_id));
  const first = new Map<string, string>();
  for (const e of unique) {
    const d = e.timestamp.slice(0, 10);
    if (!first.has(e.user_id) || d < first.get(e.user_id)!) first.set(e.user_id, d);
  }
  const next = new Date(Date.parse(day) + DAY).toISOString().slice(0, 10);
  const back = new Set(
    unique.filter((e) => e.type === type && e.timestamp.slice(0, 10) === next).map((e) => e.user_id),
  );
  return [...first].filter(([u, d]) => d === day && back.has(u)).map(([u]) => u).sort();
}

testEachBackend("stats' retention equals a recomputation from the raw events of the other world", async (backend) => {
  const { events } = otherWorld({ seed: 23, users: 160, start: new Date("2026-01-05T00:00:00Z"), days: 40 });
  const pluginsDir = await pluginsFolder([{ name: "stats", from: new URL("plugins/", REPO) }]);
  // The other world's amounts are in dollars: none is refused, so the raw events are what stats saw.
  await withRuntime(backend, { pluginsDir, money: { base: "USD", rates: {} } }, async (rt) => {
    for (let i = 0; i < events.length; i += 1000) {
      assert.deepEqual((await postJson(rt, "/v1/events", events.slice(i, i + 1000))).body.rejected, []);
    }
    await waitForCatchUp(rt);
    const cases: [interval: "day" | "week", periods: number, start: string | null, back: string | null][] = [
      ["day", 14, null, null],
      ["day", 7, "signup", "purchase"],
      ["day", 10, "purchase", null],
      ["week", 5, null, null],
      ["week", 4, "add_to_cart", null],
      ["week", 4, null, "add_to_cart"],
    ];
    // The people behind a cell: a cohort's users back the day after, recomputed from the raw events.
    const cell = recompute(events, 1, 1, "2026-01-05", "2026-02-16", null, "purchase")
      .find(([, , retained]) => (retained[1] ?? 0) > 0)!;
    const expected = backOn(events, cell[0], "purchase");
    assert.equal(expected.length, cell[2][1]);
    const listed = await allPages(rt, `/api/stats/retention/users?cohort=${cell[0]}&period=1&return_event=purchase`, 2);
    assert.deepEqual(listed.toSorted(), expected);
    for (const [interval, periods, start, back] of cases) {
      const query = new URLSearchParams({ interval, periods: String(periods), from: "2026-01-05", to: "2026-02-16" });
      if (start) query.set("start_event", start);
      if (back) query.set("return_event", back);
      const answer = (await getJson(rt, `/api/stats/retention?${query}`)).body;
      const expected = recompute(events, interval === "day" ? 1 : 7, periods, "2026-01-05", "2026-02-16", start, back);
      const label = `${interval}, from ${start ?? "any"} back on ${back ?? "any"}`;
      assert.ok(expected.some(([, users, retained]) => users > 0 && (retained[1] ?? 0) > 0), `${label}: a real case`);
      assert.deepEqual(
        answer.cohorts.map((c: { start: string; users: number; retained: (number | null)[] }) => [
          c.start,
          c.users,
          c.retained,
        ]),
        expected,
        label,
      );
    }
  });
});
