/**
 * The learned model beside the rules: a CART tree (`ml-cart`) trained on outcomes an analyst labelled. It
 * joins the decision only when, on a holdout of the latest labelled purchases, rules-or-model catches fraudulent
 * users better (per-user F1) than the rules alone.
 */
import { DecisionTreeClassifier } from "ml-cart";
import { type Context, median } from "./rules.ts";

/** What the model sees of a purchase, in order. */
export const FEATURES = [
  "amount",
  "user_ratio", // amount / the user's median (0 without history)
  "user_mad_z", // (amount − median) / MAD (0 without history)
  "user_history", // earlier purchases
  "store_ratio", // amount / the store's 99.5th percentile
  "count_2min", // the user's purchases within 2 minutes
  "small_30min", // the user's purchases of at most 5.00 within 30 minutes
  "new_country", // first seen for the user within 24 h
  "new_device",
  "account_days",
  "rule_score",
] as const;

const DAY = 86_400_000;

/** The model's view of a purchase in its context. */
export function featuresOf(c: Context, ruleScore: number): number[] {
  const med = c.history.length ? median(c.history) : 0;
  const mad = c.history.length ? median(c.history.map((a) => Math.abs(a - med))) : 0;
  const isNew = (seen: number | null) => seen !== null && seen > c.ts - DAY ? 1 : 0;
  const round = (x: number) => Math.round(x * 100) / 100;
  return [
    round(c.amount),
    med > 0 ? round(c.amount / med) : 0,
    c.history.length ? round((c.amount - med) / (mad || 1)) : 0,
    c.history.length,
    round(c.amount / c.storeAt(0.995)),
    c.recent.filter((r) => r.ts > c.ts - 120_000).length,
    c.recent.filter((r) => r.ts > c.ts - 1_800_000 && r.amount <= 5).length,
    isNew(c.countrySeen),
    isNew(c.deviceSeen),
    Math.floor((c.ts - c.accountSeen) / DAY),
    ruleScore,
  ];
}

/** A node of a trained tree, as `ml-cart` serializes it. */
export interface TreeNode {
  splitColumn?: number;
  splitValue?: number;
  left?: TreeNode;
  right?: TreeNode;
  distribution?: number[][];
}

/** Trains a tree on labelled feature vectors; fraud is rare, so its examples are repeated √(legitimate / fraud) times. */
export function trainTree(xs: number[][], fraud: boolean[]): TreeNode {
  const positives = fraud.filter(Boolean).length;
  const repeat = Math.max(1, Math.round(Math.sqrt((fraud.length - positives) / Math.max(1, positives))));
  const rows: number[][] = [];
  const labels: number[] = [];
  xs.forEach((x, i) => {
    for (let k = 0; k < (fraud[i] ? repeat : 1); k++) {
      rows.push(x);
      labels.push(fraud[i] ? 1 : 0);
    }
  });
  const tree = new DecisionTreeClassifier({ gainFunction: "gini", maxDepth: 5, minNumSamples: 10, gainThreshold: 0 });
  tree.train(rows, labels);
  return JSON.parse(JSON.stringify(tree.toJSON().root));
}

/** The fraud probability of the tree's leaf for `x`, and the path to it. */
export function predict(root: TreeNode, x: number[]): { p: number; path: string[] } {
  const path: string[] = [];
  let node = root;
  while (node.left && node.right && node.splitColumn !== undefined) {
    const goesLeft = x[node.splitColumn] < node.splitValue!;
    path.push(`${FEATURES[node.splitColumn]} ${goesLeft ? "<" : "≥"} ${Math.round(node.splitValue! * 100) / 100}`);
    node = goesLeft ? node.left : node.right;
  }
  return { p: node.distribution?.[0]?.[1] ?? 0, path };
}

/** Per-user precision, recall and F1 of a decision over purchases. */
export function perUser(
  purchases: { user_id: string; fraud: boolean }[],
  flagged: boolean[],
): { precision: number; recall: number; f1: number } {
  const fraudUsers = new Set(purchases.filter((p) => p.fraud).map((p) => p.user_id));
  const flaggedUsers = new Set(purchases.filter((_, i) => flagged[i]).map((p) => p.user_id));
  const hits = [...flaggedUsers].filter((u) => fraudUsers.has(u)).length;
  const precision = flaggedUsers.size ? hits / flaggedUsers.size : 1;
  const recall = fraudUsers.size ? hits / fraudUsers.size : 1;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  const r = (x: number) => Math.round(x * 1e4) / 1e4;
  return { precision: r(precision), recall: r(recall), f1: r(f1) };
}
