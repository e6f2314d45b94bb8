/**
 * The churn models and how they are judged: a CART decision tree (`ml-cart`), a logistic-regression
 * baseline (`ml-logistic-regression`) and a recency-only baseline; ROC-AUC and PR-AUC on a holdout. Pure
 * functions over feature vectors, so they are tested without a database.
 */
import { DecisionTreeClassifier } from "ml-cart";
import LogisticRegression from "ml-logistic-regression";
import { Matrix } from "ml-matrix";
import { FEATURES } from "./features.ts";

/** One observation: features at a moment, and whether the user was gone in the horizon after it. */
export interface Sample {
  x: number[];
  churned: boolean;
}

/** A node of a trained tree, as `ml-cart` serializes it. */
interface TreeNode {
  splitColumn?: number;
  splitValue?: number;
  numberSamples?: number;
  gain?: number | null;
  left?: TreeNode;
  right?: TreeNode;
  /** At a leaf: the share of each class (index 0 stayed, 1 churned) among its training samples. */
  distribution?: number[][];
}

/** A model as stored: a tree, or standardized logistic weights (bias first). */
export type Model =
  | { kind: "cart"; root: TreeNode }
  | { kind: "logistic"; mean: number[]; std: number[]; weights: number[] };

/**
 * Tree settings: shallow enough to read as reasons; nodes under 150 samples are not split, and no gain
 * threshold (the library's default of 0.01 stops at the first split on imbalanced classes).
 */
const TREE = { gainFunction: "gini", maxDepth: 6, minNumSamples: 150, gainThreshold: 0 };

/** Trains a CART tree; a user's score is the churned share of their leaf. */
export function trainCart(samples: Sample[]): Model {
  const tree = new DecisionTreeClassifier(TREE);
  tree.train(samples.map((s) => s.x), samples.map((s) => s.churned ? 1 : 0));
  return { kind: "cart", root: JSON.parse(JSON.stringify(tree.toJSON().root)) };
}

/** Trains logistic regression on standardized features. */
export function trainLogistic(samples: Sample[]): Model {
  const n = samples.length;
  const mean = FEATURES.map((_, j) => samples.reduce((s, x) => s + x.x[j], 0) / n);
  const std = FEATURES.map((_, j) => Math.sqrt(samples.reduce((s, x) => s + (x.x[j] - mean[j]) ** 2, 0) / n) || 1);
  const rows = samples.map((s) => [1, ...s.x.map((v, j) => (v - mean[j]) / std[j])]);
  // The library's gradient is a sum over samples: a step of 1/n is a mean step of 1.
  const lr = new LogisticRegression({ numSteps: 200, learningRate: 4 / n });
  lr.train(new Matrix(rows), Matrix.columnVector(samples.map((s) => s.churned ? 1 : 0)));
  // One-vs-all: classifier 0 is trained to score "not class 0", that is, churned.
  const weights = (lr.classifiers[0] as unknown as { weights: Matrix }).weights.to1DArray();
  return { kind: "logistic", mean, std, weights };
}

/** A model's churn probability for `x`, with the reasons behind it. */
export function predict(model: Model, x: number[]): { score: number; reasons: string[] } {
  if (model.kind === "logistic") {
    const z = x.map((v, j) => (v - model.mean[j]) / model.std[j]);
    const parts = z.map((v, j) => ({ j, c: model.weights[j + 1] * v }));
    const score = 1 / (1 + Math.exp(-(model.weights[0] + parts.reduce((s, p) => s + p.c, 0))));
    const reasons = parts.filter((p) => p.c > 0).sort((a, b) => b.c - a.c).slice(0, 3)
      .map((p) => `${FEATURES[p.j]} = ${round(x[p.j])}`);
    return { score, reasons };
  }
  const reasons: string[] = [];
  let node = model.root;
  while (node.left && node.right && node.splitColumn !== undefined) {
    const name = FEATURES[node.splitColumn];
    const goesLeft = x[node.splitColumn] < node.splitValue!;
    reasons.push(`${name} ${goesLeft ? "<" : "≥"} ${round(node.splitValue!)} (is ${round(x[node.splitColumn])})`);
    node = goesLeft ? node.left : node.right;
  }
  return { score: node.distribution?.[0]?.[1] ?? 0, reasons };
}

/** Each feature's share of the model's decisions: gini gain × samples for a tree, |weight| for logistic. */
export function importance(model: Model): Record<string, number> {
  const raw = new Array<number>(FEATURES.length).fill(0);
  if (model.kind === "logistic") model.weights.slice(1).forEach((w, j) => raw[j] = Math.abs(w));
  else {
    const walk = (n: TreeNode | undefined) => {
      if (!n || n.splitColumn === undefined || !n.left) return;
      raw[n.splitColumn] += (n.gain ?? 0) * (n.numberSamples ?? 0);
      walk(n.left);
      walk(n.right);
    };
    walk(model.root);
  }
  const total = raw.reduce((s, v) => s + v, 0) || 1;
  return Object.fromEntries(
    FEATURES.map((f, j) => [f, round(raw[j] / total)] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]),
  );
}

/** ROC-AUC: the chance a random churner scores above a random stayer (ties count half). */
export function rocAuc(scores: number[], churned: boolean[]): number {
  const order = scores.map((s, i) => ({ s, y: churned[i] })).sort((a, b) => a.s - b.s);
  let rankSum = 0;
  let positives = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j < order.length && order[j].s === order[i].s) j++;
    const rank = (i + 1 + j) / 2; // average rank of the tie group (1-based)
    for (let k = i; k < j; k++) {
      if (order[k].y) {
        rankSum += rank;
        positives++;
      }
    }
    i = j;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return 0.5;
  return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
}

/** PR-AUC as average precision: the mean of precision at each churner, ranked by score (ties as one step). */
export function prAuc(scores: number[], churned: boolean[]): number {
  const order = scores.map((s, i) => ({ s, y: churned[i] })).sort((a, b) => b.s - a.s);
  const positives = churned.filter(Boolean).length;
  if (positives === 0) return 0;
  let seen = 0;
  let hits = 0;
  let sum = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    let tieHits = 0;
    while (j < order.length && order[j].s === order[i].s) tieHits += order[j++].y ? 1 : 0;
    seen = j;
    hits += tieHits;
    sum += tieHits * (hits / seen);
    i = j;
  }
  return sum / positives;
}

/** `x` to 4 significant decimals, for reasons and reports. */
export function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
