import assert from "node:assert/strict";
import { baselineScore } from "./baseline.ts";
import { FEATURES } from "./features.ts";

/** Features with only what the baseline reads set. */
const user = (recency: number, activeDays: number) =>
  FEATURES.map((f) => ({ recency_days: recency, active_days_30d: activeDays })[f as string] ?? 0);

const near = (got: number, want: number) => assert.ok(Math.abs(got - want) < 1e-3, `${got} is not about ${want}`);

Deno.test("baselineScore(): half the horizon of silence beyond the credit is 0.5; none is near 0", () => {
  // No active day, no credit: 7 days silent at a 14-day horizon is the midpoint; 0 days is 1 / (1 + e^3.5).
  near(baselineScore(user(7, 0), 14).score, 0.5);
  near(baselineScore(user(0, 0), 14).score, 0.0293);
  near(baselineScore(user(14, 0), 14).score, 0.9707);
});

Deno.test("baselineScore(): of two users silent a week, the regular one is safer", () => {
  // Active 30 days of 30: credit 2 ln 31 = 6.87 days, silence 0.13 day; twice: credit 2 ln 3 = 2.2, silence 4.8.
  near(baselineScore(user(7, 30), 14).score, 1 / (1 + Math.exp(-(0.1320 - 7) / 2)));
  near(baselineScore(user(7, 2), 14).score, 1 / (1 + Math.exp(-(4.8028 - 7) / 2)));
  assert.ok(baselineScore(user(7, 30), 14).score < baselineScore(user(7, 2), 14).score);
  assert.deepEqual(baselineScore(user(7, 2), 14).reasons, [
    "silent 7 days; 2 active days in the last 30 earn 2.2 days' credit",
  ]);
});
