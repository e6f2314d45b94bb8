import assert from "node:assert/strict";
import { type Hours, judgeBatch, type Tick } from "./judge.ts";
import type { StoredRule } from "./rules.ts";

const T0 = Date.parse("2026-06-01T00:00:00Z");
const MIN = 60_000;
const HOUR = 60 * MIN;

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

/** What fired, as `<window start> <value> <previous> <events>`. */
const shown = (j: ReturnType<typeof judgeBatch>) =>
  j.fired.map((f) => `${new Date(f.window_start).toISOString().slice(11, 16)} ${f.value} ${f.previous} ${f.events}`);

Deno.test("judgeBatch() fires a falls_by rule once the watermark is past the window and its grace", () => {
  const r = rule({ kpi: "conversion_rate", condition: "falls_by", threshold: 0.3 });
  const batch = [
    ...ticks(100, "page_view", T0 + 10 * MIN), // hour 0: 10 / 100 = 0.1
    ...ticks(10, "purchase", T0 + 20 * MIN, 5),
    ...ticks(100, "page_view", T0 + HOUR + 10 * MIN), // hour 1: 6 / 100 = 0.06, down 40%
    ...ticks(6, "purchase", T0 + HOUR + 20 * MIN, 5),
    ...ticks(1, "login", T0 + 2 * HOUR + 4 * MIN), // within hour 1's grace: not judged yet
  ];
  const first = judgeBatch([r], null, new Map(), batch);
  assert.deepEqual(shown(first), []);
  assert.equal(first.next.get("r"), T0 + HOUR); // hour 0 was judged (nothing before it to fall from)
  // A late purchase for hour 1 still counts; then the watermark passes its grace.
  const hours: Hours = new Map();
  judgeBatch([r], null, hours, batch);
  const later = judgeBatch([{ ...r, next_window: T0 + HOUR }], first.watermark, hours, [
    ...ticks(1, "purchase", T0 + HOUR + 50 * MIN, 5), // hour 1: 7 / 100, down 30%: still fires (≤ −30%)
    ...ticks(1, "login", T0 + 2 * HOUR + 5 * MIN),
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
  ];
  const log: Tick[] = [];
  for (let h = 0; h < 60; h++) {
    const at = T0 + h * HOUR + 7 * MIN;
    log.push(...ticks(h % 5, "search", at), ...ticks(h % 3, "purchase", at + MIN, 20 + h));
    if (h % 7 === 0) log.push(...ticks(2, "search", at - 3 * HOUR)); // late, some within a grace, some not
  }
  const whole = judgeBatch(rules, null, new Map(), log);
  assert.ok(whole.fired.length > 20);
  for (const cut of [1, 17, 100, 151]) {
    let state = { rules, watermark: null as number | null };
    const hours: Hours = new Map();
    const fired = [];
    for (let i = 0; i < log.length; i += cut) {
      const j = judgeBatch(state.rules, state.watermark, hours, log.slice(i, i + cut));
      fired.push(...j.fired);
      state = { rules: state.rules.map((r) => ({ ...r, next_window: j.next.get(r.name)! })), watermark: j.watermark };
    }
    assert.deepEqual(fired, whole.fired, `batches of ${cut}`);
  }
});

Deno.test("judgeBatch() passes over windows a week or more old: a stray clock far ahead costs a week of windows", () => {
  const r = rule({ kpi: "events", condition: "below", threshold: 1, grace_minutes: 0 });
  const j = judgeBatch([r], null, new Map(), [
    ...ticks(1, "login", T0),
    ...ticks(1, "login", Date.parse("2099-01-01T00:00:00Z")),
  ]);
  assert.equal(j.fired.length, 7 * 24); // the empty hours of the week before 2099, none of the years between
  assert.equal(new Date(j.fired[0].window_start).toISOString(), "2098-12-25T00:00:00.000Z");
  assert.equal(j.next.get("r"), Date.parse("2099-01-01T00:00:00Z"));
});

Deno.test("judgeBatch() leaves a window without a value alone: no views, no conversion rate", () => {
  const r = rule({ kpi: "conversion_rate", condition: "below", threshold: 0.5, grace_minutes: 0 });
  const j = judgeBatch([r], null, new Map(), [...ticks(3, "login", T0), ...ticks(1, "login", T0 + 2 * HOUR)]);
  assert.deepEqual(j.fired, []);
  const views = judgeBatch([r], null, new Map(), [...ticks(3, "page_view", T0), ...ticks(1, "login", T0 + HOUR)]);
  assert.deepEqual(shown(views), ["00:00 0 null 3"]);
});
