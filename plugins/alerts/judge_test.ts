import assert from "node:assert/strict";
import { type Clock, type Hours, judgeBatch, RECENT, type Tick } from "./judge.ts";
import type { StoredRule } from "./rules.ts";

const T0 = Date.parse("2026-06-01T00:00:00Z");
const MIN = 60_000;
const HOUR = 60 * MIN;
const START: Clock = { watermark: null, recent: [] };

function rule(fields: Partial<StoredRule> & Pick<StoredRule, "kpi" | "condition" | "threshold">): StoredRule {
  return {
    name: "r",
    window: "hour",
    min_events: 0,
    grace_minutes: 5,
    enabled: true,
    version: 1,
    next_window: null,
    created_at: "2026-06-01T00:00:00.000Z",
    updated_at: "2026-06-01T00:00:00.000Z",
    ...fields,
  };
}

/** `n` events of `type` at `at` (ms), `amount` each. */
const ticks = (n: number, type: string, at: number, amount = 0): Tick[] =>
  Array.from({ length: n }, () => ({ ms: at, type, amount }));
/** Enough logins at `at` that the watermark is `at`: all of the recent events. */
const advance = (at: number) => ticks(RECENT, "login", at);

/** What fired, as `<window start> <value> <previous> <events>`. */
const shown = (j: ReturnType<typeof judgeBatch>) =>
  j.fired.map((f) => `${new Date(f.window_start).toISOString().slice(11, 16)} ${f.value} ${f.previous} ${f.events}`);

Deno.test("judgeBatch() fires a falls_by rule once the watermark is past the window and its grace", () => {
  const r = rule({ kpi: "conversion_rate", condition: "falls_by", threshold: 0.3 });
  const hours: Hours = new Map();
  const first = judgeBatch([r], START, hours, [
    ...ticks(100, "page_view", T0 + 10 * MIN), // hour 0: 10 / 100 = 0.1
    ...ticks(10, "purchase", T0 + 20 * MIN, 5),
    ...ticks(100, "page_view", T0 + HOUR + 10 * MIN), // hour 1: 6 / 100 = 0.06, down 40% so far
    ...ticks(6, "purchase", T0 + HOUR + 20 * MIN, 5),
    ...advance(T0 + 2 * HOUR + 4 * MIN), // within hour 1's grace: not judged yet
  ]);
  assert.deepEqual(shown(first), []);
  assert.equal(first.watermark, T0 + 2 * HOUR + 4 * MIN);
  assert.equal(first.next.get("r"), T0 + HOUR); // hour 0 was judged (nothing before it to fall from)
  const later = judgeBatch([{ ...r, next_window: T0 + HOUR }], first, hours, [
    ...ticks(1, "purchase", T0 + HOUR + 50 * MIN, 5), // late, still counts: hour 1 is 7 / 100, down 30%, fires
    ...advance(T0 + 2 * HOUR + 5 * MIN),
    ...ticks(1, "purchase", T0 + HOUR + 55 * MIN, 5), // too late: hour 1 was judged
  ]);
  assert.deepEqual(shown(later), ["01:00 0.07 0.1 107"]);
  assert.equal(later.next.get("r"), T0 + 2 * HOUR);
});

Deno.test("judgeBatch() judges alike however the log is cut into batches", () => {
  const rules = [
    rule({ name: "quiet", kpi: "events", condition: "below", threshold: 3, grace_minutes: 0 }),
    rule({ name: "rich", kpi: "revenue", window: "day", condition: "above", threshold: 100, grace_minutes: 30 }),
    rule({ name: "surge", kpi: "events.search", condition: "rises_by", threshold: 1, min_events: 2 }),
    rule({ name: "cents", kpi: "revenue", condition: "below", threshold: 0.17, grace_minutes: 0 }),
  ];
  const log: Tick[] = [];
  for (let h = 0; h < 60; h++) {
    const at = T0 + h * HOUR + 7 * MIN;
    log.push(...ticks(h % 5, "search", at), ...ticks(h % 3, "purchase", at + MIN, 20 + h));
    log.push(...ticks(30, "login", at + 30 * MIN)); // enough to move the watermark
    if (h % 7 === 0) log.push(...ticks(2, "search", at - 3 * HOUR)); // late, some within a grace, some not
    if (h % 11 === 0) log.push(...[0.01, 0.14, 0.015].map((amount) => ({ ms: at, type: "purchase", amount })));
  }
  const whole = judgeBatch(rules, START, new Map(), log);
  assert.ok(whole.fired.length > 20);
  // Revenue is summed exactly: 0.01 + 0.14 + 0.015 is 0.165, 0.17 to the cent (0.15 stored, then + 0.015 in floats,
  // is 0.16499…, 0.16: the cut would decide).
  const cents = whole.fired.filter((f) => f.rule === "cents").map((f) => (f.window_start - T0) / HOUR);
  assert.deepEqual([cents.includes(3), cents.includes(0), cents.includes(33)], [true, false, false]);
  for (const cut of [1, 17, 100, 151]) {
    let clock: Clock = START;
    let state = rules;
    const hours: Hours = new Map();
    const fired = [];
    for (let i = 0; i < log.length; i += cut) {
      const j = judgeBatch(state, clock, hours, log.slice(i, i + cut));
      fired.push(...j.fired);
      state = state.map((r) => ({ ...r, next_window: j.next.get(r.name)! }));
      clock = j;
    }
    assert.deepEqual(fired, whole.fired, `batches of ${cut}`);
  }
});

Deno.test("judgeBatch(): one device's clock far ahead moves no watermark; a real jump costs a week of windows", () => {
  const r = rule({ kpi: "events", condition: "below", threshold: 1, grace_minutes: 0 });
  const future = Date.parse("2099-01-01T00:00:00Z");
  const stray = judgeBatch([r], START, new Map(), [...advance(T0), ...ticks(12, "login", future)]);
  assert.equal(stray.watermark, T0);
  assert.deepEqual(stray.fired, []);
  const jump = judgeBatch([{ ...r, next_window: stray.next.get("r")! }], stray, new Map(), ticks(13, "login", future));
  assert.equal(jump.watermark, future);
  assert.equal(jump.fired.length, 7 * 24); // the empty hours of the week before 2099, none of the years between
  assert.equal(new Date(jump.fired[0].window_start).toISOString(), "2098-12-25T00:00:00.000Z");
});

Deno.test("judgeBatch() leaves a window without a value alone, and counts an event type named like a property", () => {
  const conversion = rule({ kpi: "conversion_rate", condition: "below", threshold: 0.5, grace_minutes: 0 });
  const none = judgeBatch([conversion], START, new Map(), [...ticks(3, "login", T0), ...advance(T0 + 2 * HOUR)]);
  assert.deepEqual(none.fired, []);
  const views = judgeBatch([conversion], START, new Map(), [...ticks(3, "page_view", T0), ...advance(T0 + HOUR)]);
  assert.deepEqual(shown(views), ["00:00 0 null 3"]);
  const odd = [
    rule({ name: "a", kpi: "events", condition: "below", threshold: 10, grace_minutes: 0 }),
    rule({ name: "b", kpi: "events.constructor", condition: "above", threshold: 1, grace_minutes: 0 }),
  ];
  const j = judgeBatch(odd, START, new Map(), [
    ...ticks(2, "constructor", T0),
    ...ticks(1, "__proto__", T0),
    ...advance(T0 + HOUR),
  ]);
  assert.deepEqual(j.fired.map((f) => [f.rule, f.value, f.events]), [["a", 3, 3], ["b", 2, 3]]);
});
