import assert from "node:assert/strict";
import { check, type Context, evaluate, type Rule } from "./rules.ts";
import { decide } from "./training.ts";

const T = Date.parse("2026-05-01T12:00:00Z");
const MIN = 60_000, DAY = 86_400_000;
const ctx = (c: Partial<Context> = {}): Context => ({
  ts: T,
  amount: 50,
  history: [40, 50, 60, 45, 55],
  recent: [{ ts: T, amount: 50 }],
  countrySeen: T - 100 * DAY,
  deviceSeen: T - 100 * DAY,
  accountSeen: T - 100 * DAY,
  storeAt: (p) => (p >= 0.99 ? 1000 : 100),
  storeSamples: 500,
  ...c,
});
const rule = (kind: Rule["kind"], params: Record<string, unknown>, points = 10): Rule => ({
  rule_id: kind,
  kind,
  params,
  points,
  enabled: true,
});

Deno.test("amount_vs_user fires above median + k·MAD and ratio × median, with enough history", () => {
  const r = rule("amount_vs_user", { min_history: 3, mad_k: 5, ratio: 3 });
  assert.equal(check(r, ctx({ amount: 140 })), null); // 2.8× the median of 50: not yet
  assert.equal(check(r, ctx({ amount: 500 })), "amount 500.00 is 10.0× this user's median 50.00");
  assert.equal(check(r, ctx({ amount: 500, history: [50, 50] })), null); // too little history
});

Deno.test("amount_vs_store compares with a multiple of the store's percentile", () => {
  assert.match(check(rule("amount_vs_store", { percentile: 0.995, multiple: 1 }), ctx({ amount: 1500 }))!, /above/);
  assert.equal(check(rule("amount_vs_store", { percentile: 0.995, multiple: 2 }), ctx({ amount: 1500 })), null);
});

Deno.test("amount_vs_store waits for enough store purchases, under absolute bounds that are settings", () => {
  const young = { percentile: 0.995, multiple: 1, min_samples: 20 };
  // Nineteen orders: too few for a percentile, so only the absolute ceiling speaks.
  assert.equal(check(rule("amount_vs_store", young), ctx({ amount: 1500, storeSamples: 19 })), null);
  assert.equal(
    check(rule("amount_vs_store", { ...young, max_amount: 1200 }), ctx({ amount: 1500, storeSamples: 19 })),
    "amount 1500.00 is above the absolute bound 1200.00",
  );
  assert.match(check(rule("amount_vs_store", young), ctx({ amount: 1500, storeSamples: 20 }))!, /above the store's/);
  // At or below the absolute floor, never.
  assert.equal(check(rule("amount_vs_store", { ...young, min_amount: 1500 }), ctx({ amount: 1500 })), null);
});

Deno.test("velocity with min_percentile counts only the orders that are large for the store", () => {
  const r = rule("velocity", { window_s: 3600, max_count: 3, min_percentile: 0.75 });
  const burst = (amounts: number[]) => amounts.map((amount, i) => ({ ts: T - i * 5 * MIN, amount }));
  // The store's 75th percentile is 100 (see ctx): four orders of 150 within 20 minutes, but not four of 60.
  assert.equal(
    check(r, ctx({ recent: burst([150, 150, 150, 150]) })),
    "4 purchases of at least 100.00 (the store's 75th percentile) within 3600 s (more than 3)",
  );
  assert.equal(check(r, ctx({ recent: burst([150, 150, 150, 60]) })), null);
});

Deno.test("new_account fires on an early purchase of an account first seen within the window", () => {
  const r = rule("new_account", { max_account_h: 24, max_purchases: 0 });
  assert.equal(
    check(r, ctx({ accountSeen: T - 20 * MIN, history: [] })),
    "first purchase on an account first seen 20 min ago",
  );
  assert.equal(check(r, ctx({ accountSeen: T - 20 * MIN, history: [30] })), null); // not the first purchase
  assert.equal(check(r, ctx({ accountSeen: T - 2 * DAY, history: [] })), null); // an older account
  assert.equal(
    check(
      rule("new_account", { max_account_h: 24, max_purchases: 1 }),
      ctx({ accountSeen: T - 5 * 3600_000, history: [30] }),
    ),
    "purchase 2 on an account first seen 5.0 h ago",
  );
});

Deno.test("velocity counts and sums the user's purchases in the window", () => {
  const recent = [0, 10, 20, 30, 200].map((s) => ({ ts: T - s * 1000, amount: 900 }));
  assert.equal(
    check(rule("velocity", { window_s: 60, max_count: 3 }), ctx({ recent })),
    "4 purchases within 60 s (more than 3)",
  );
  assert.equal(check(rule("velocity", { window_s: 60, max_count: 4 }), ctx({ recent })), null);
  assert.equal(
    check(rule("velocity", { window_s: 3600, max_count: 100, max_sum: 4000 }), ctx({ recent })),
    "4500.00 spent within 3600 s (more than 4000.00)",
  );
  // One order over the sum is the amount rules' business, not velocity's.
  const single = ctx({ amount: 4500, recent: [{ ts: T, amount: 4500 }] });
  assert.equal(check(rule("velocity", { window_s: 3600, max_count: 100, max_sum: 4000 }), single), null);
});

Deno.test("new_country_device needs both, or either, first seen recently on an established account", () => {
  const travel = ctx({ countrySeen: T - 30 * MIN }); // a new country on the usual device
  const both = rule("new_country_device", { recent_h: 24, min_account_days: 3, match: "both" });
  const either = rule("new_country_device", { recent_h: 24, min_account_days: 3, match: "either" });
  assert.equal(check(both, travel), null);
  assert.match(check(either, travel)!, /^a country first seen in the last 24 h on an account 100 days old$/);
  assert.match(check(both, ctx({ countrySeen: T - MIN, deviceSeen: T - MIN }))!, /^a country and a device/);
  const one = rule("new_country_device", { recent_h: 24, min_account_days: 3, match: "one" });
  assert.match(check(one, travel)!, /^a country first seen/);
  assert.equal(check(one, ctx({ countrySeen: T - MIN, deviceSeen: T - MIN })), null); // both new: not "one"
  assert.equal(check(both, ctx({ countrySeen: T - MIN, deviceSeen: T - MIN, accountSeen: T - DAY })), null); // new account
});

Deno.test("card_testing fires on a small purchase among many small ones", () => {
  const recent = [1, 2, 3, 4].map((m) => ({ ts: T - m * MIN, amount: 1.5 }));
  const r = rule("card_testing", { window_s: 1800, max_amount: 5, min_count: 4 });
  assert.match(check(r, ctx({ amount: 1.5, recent }))!, /^4 purchases of at most 5.00 within 30 min/);
  assert.equal(check(r, ctx({ amount: 80, recent })), null);
});

Deno.test("evaluate() adds the points of enabled rules that fire, reasons largest first; nothing fires, nothing adds", () => {
  const rules = [
    rule("amount_vs_user", { min_history: 3, mad_k: 5, ratio: 3 }, 35),
    { ...rule("amount_vs_store", { percentile: 0.995, multiple: 1 }, 20), rule_id: "store" },
    { ...rule("velocity", { window_s: 60, max_count: 0 }, 60), enabled: false },
  ];
  const { score, reasons } = evaluate(rules, ctx({ amount: 5000 }));
  assert.equal(score, 55);
  assert.deepEqual(reasons.map((r) => r.split(":")[0]), ["amount_vs_user", "store"]);
  assert.deepEqual(evaluate(rules, ctx()), { score: 0, reasons: [] });
});

Deno.test("decide(): a learned model is enabled only where it improves, and never over a better enabled one", () => {
  assert.equal(decide(1, 1, null).enabled, false); // the rules alone are as good
  assert.equal(decide(0.8, 0.95, null).enabled, true);
  assert.deepEqual(decide(0.8, 0.9, { version: 2, f1: 0.95 }), {
    enabled: false,
    decision: "not enabled: enabled version 2 does better on the same holdout (F1 0.95)",
  });
  assert.equal(decide(0.8, 0.95, { version: 2, f1: 0.95 }).enabled, true);
});

Deno.test("new_account with min_median_multiple wants an amount far above the store's median, from a few orders", () => {
  const r = rule("new_account", { max_account_h: 24, min_median_multiple: 8, min_samples: 5 });
  const young = { accountSeen: T - 30 * MIN, history: [], storeAt: () => 40, storeSamples: 6 };
  assert.equal(
    check(r, ctx({ ...young, amount: 720 })),
    "first purchase of 720.00, 18.0× the store's median 40.00, on an account first seen 30 min ago",
  );
  assert.equal(check(r, ctx({ ...young, amount: 300 })), null); // 7.5× the median
  assert.equal(check(r, ctx({ ...young, amount: 720, storeSamples: 4 })), null); // too few orders to judge
  // A grown store's percentiles judge amounts instead.
  const grown = rule("new_account", { max_account_h: 24, min_median_multiple: 8, max_samples: 100 });
  assert.equal(check(grown, ctx({ ...young, amount: 720, storeSamples: 101 })), null);
  assert.match(check(grown, ctx({ ...young, amount: 720, storeSamples: 100 }))!, /^first purchase of 720\.00/);
});
