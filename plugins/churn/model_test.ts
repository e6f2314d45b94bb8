import assert from "node:assert/strict";
import { DecisionTreeClassifier } from "ml-cart";
import { rng } from "@runtime/testing";
import { FEATURES } from "./features.ts";
import { importance, prAuc, predict, rocAuc, type Sample, trainCart, trainLogistic } from "./model.ts";
import { promotion } from "./train.ts";

Deno.test("rocAuc() and prAuc() match hand-worked values, ties counted half", () => {
  assert.equal(rocAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]), 0.75);
  assert.equal(rocAuc([0.5, 0.5], [false, true]), 0.5);
  assert.equal(rocAuc([1, 2, 3], [false, false, false]), 0.5); // undefined without both classes
  // Ranked: 0.8 (churner), 0.4, 0.35 (churner), 0.1: precision 1 at the first, 2/3 at the second.
  assert.equal(prAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]), (1 + 2 / 3) / 2);
});

/** Samples where churn follows recency, with a twist only a tree sees: short-tenure users who never bought. */
function samples(n: number, seed: number): Sample[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const x = FEATURES.map(() => Math.round(r() * 30));
    const risk = x[0] / 30 + (x[1] < 8 && x[11] < 5 ? 0.6 : 0) + 0.3 * r();
    return { x, churned: risk > 0.8 };
  });
}

Deno.test("predict() walks the tree as ml-cart does; leaves give the churned share; the path gives reasons", () => {
  const train = samples(1500, 1);
  const model = trainCart(train);
  const tree = new DecisionTreeClassifier({ gainFunction: "gini", maxDepth: 6, minNumSamples: 150, gainThreshold: 0 });
  tree.train(train.map((s) => s.x), train.map((s) => s.churned ? 1 : 0));
  const test = samples(500, 2);
  const classes = tree.predict(test.map((s) => s.x));
  test.forEach((s, i) => assert.equal(predict(model, s.x).score > 0.5 ? 1 : 0, classes[i]));
  const { score, reasons } = predict(model, test[0].x);
  assert.ok(score >= 0 && score <= 1);
  assert.match(reasons[0], /^[a-z_0-9]+ (<|≥) [\d.]+ \(is [\d.]+\)$/);
  assert.ok(rocAuc(test.map((s) => predict(model, s.x).score), test.map((s) => s.churned)) > 0.9);
  assert.equal(Object.keys(importance(model))[0], "recency_days"); // the feature that matters most leads
});

Deno.test("trainLogistic() learns the direction of risk", () => {
  const model = trainLogistic(samples(1500, 3));
  const test = samples(500, 4);
  assert.ok(rocAuc(test.map((s) => predict(model, s.x).score), test.map((s) => s.churned)) > 0.8);
  const calm = predict(model, FEATURES.map((f) => f === "recency_days" ? 0 : 15)).score;
  const quiet = predict(model, FEATURES.map((f) => f === "recency_days" ? 30 : 15)).score;
  assert.ok(quiet > calm);
});

Deno.test("promotion(): a model goes live only when strictly better than the live one on the same holdout", () => {
  assert.deepEqual(promotion(0.91, 0.8, { version: 3, auc: 0.9 }, 0.02), {
    outcome: "promoted",
    decision: "AUC 0.91 > 0.9 of live version 3 on the same holdout",
  });
  assert.deepEqual(promotion(0.9, 0.8, { version: 3, auc: 0.9 }, 0.02), {
    outcome: "kept",
    decision: "kept live version 3: its AUC 0.9 ≥ 0.9 on the same holdout",
  });
  assert.equal(promotion(0.85, 0.8, { version: 3, auc: 0.9 }, 0.02).outcome, "kept");
});

Deno.test("promotion(): a model must beat the better simple score by 0.02 ROC-AUC, else the baseline scores", () => {
  assert.deepEqual(promotion(0.83, 0.8, null, 0.02), {
    outcome: "promoted",
    decision: "AUC 0.83 ≥ 0.82 (the better simple score's 0.8 + 0.02) on the same holdout",
  });
  assert.deepEqual(promotion(0.81, 0.8, null, 0.02), {
    outcome: "baseline",
    decision: "the baseline scores: AUC 0.81 is under 0.82, the better simple score's 0.8 + 0.02, on the same " +
      "holdout, so no model earns its complexity",
  });
  // A live model that no longer clears the bar on a newer holdout gives way to the baseline.
  assert.equal(promotion(0.81, 0.8, { version: 3, auc: 0.815 }, 0.02).outcome, "baseline");
  assert.equal(promotion(0.819, 0.8, { version: 3, auc: 0.83 }, 0.02).outcome, "kept");
});
