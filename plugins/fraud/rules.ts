/**
 * The rule engine: rules are data (a kind, parameters, points), each kind a pure check of one purchase in its
 * context that answers a reason or nothing. A purchase's score is the sum of the points of the rules that
 * fire; at or above the threshold it is flagged.
 */
import { z } from "zod";

/** What a rule sees of one purchase. Times in ms. */
export interface Context {
  ts: number;
  amount: number;
  /** The user's earlier purchase amounts (the latest 100). */
  history: number[];
  /** The user's purchases in the longest rule window up to this one, this one included. */
  recent: { ts: number; amount: number }[];
  /** When the purchase's country and device were first seen for the user (null when it has none). */
  countrySeen: number | null;
  deviceSeen: number | null;
  /** The user's first event. */
  accountSeen: number;
  /** The store's purchase amount at a percentile (0..1), without the purchase being judged. */
  storeAt: (percentile: number) => number;
  /** How many purchases the store's percentiles are taken over. */
  storeSamples: number;
  /** The enabled learned model's view of the purchase, when one is enabled. */
  learned?: { version: number; p: number; path: string[] } | null;
}

const PARAMS = {
  amount_vs_user: z.strictObject({
    min_history: z.int().min(1).max(100),
    mad_k: z.number().min(0).max(100),
    ratio: z.number().min(1).max(1000),
  }),
  amount_vs_store: z.strictObject({
    percentile: z.number().min(0.5).max(0.9999),
    multiple: z.number().min(0.1).max(100),
    /** Below this many other purchases the store's percentiles say too little: the rule waits (cold start). */
    min_samples: z.int().min(1).max(100_000).default(10),
    /** An amount at or below this never fires, whatever the store (absolute floor). */
    min_amount: z.number().min(0).default(0),
    /** An amount above this always fires, however young the store (absolute ceiling). */
    max_amount: z.number().min(0).optional(),
  }),
  velocity: z.strictObject({
    window_s: z.int().min(1).max(86_400),
    max_count: z.int().min(1).max(1000),
    max_sum: z.number().min(0).optional(),
    /** Count only purchases at or above the store's amount at this percentile (orders that are large for it). */
    min_percentile: z.number().min(0).max(0.9999).optional(),
  }),
  new_country_device: z.strictObject({
    recent_h: z.number().min(0).max(720),
    min_account_days: z.number().min(0).max(365),
    /** Which must be new: both, either (at least one), or one (exactly one). */
    match: z.enum(["both", "either", "one"]).default("both"),
  }),
  model: z.strictObject({ min_probability: z.number().min(0).max(1) }),
  new_account: z.strictObject({
    /** The account's first event was at most this many hours before the purchase. */
    max_account_h: z.number().min(0).max(720),
    /** The user had at most this many purchases before (0: the first purchase). */
    max_purchases: z.int().min(0).max(1000).default(0),
    /** And the amount is above this multiple of the store's median (a robust statistic, without the purchase). */
    min_median_multiple: z.number().min(0).max(10_000).default(0),
    /** Below this many other purchases the store's median says too little: the rule waits. */
    min_samples: z.int().min(1).max(100_000).default(5),
    /** Above this many, the store is no longer young: its percentiles judge amounts (amount_vs_store). */
    max_samples: z.int().min(1).max(100_000).optional(),
  }),
  card_testing: z.strictObject({
    window_s: z.int().min(1).max(86_400),
    max_amount: z.number().min(0),
    min_count: z.int().min(2).max(1000),
  }),
};

/** The kinds of rule. */
export type Kind = keyof typeof PARAMS;
export const KINDS = Object.keys(PARAMS) as Kind[];

/** A rule of one kind as edited and stored: parsed, its params are its kind's with their defaults filled in. */
const ruleOf = <K extends Kind>(kind: K) =>
  z.strictObject({
    kind: z.literal(kind),
    params: PARAMS[kind],
    points: z.number().min(-1000).max(1000).describe("added to the score when the rule fires"),
    enabled: z.boolean().default(true),
  });

/** A rule as edited and stored, one shape per kind. */
export const Rule = z.discriminatedUnion(
  "kind",
  KINDS.map(ruleOf) as [ReturnType<typeof ruleOf>, ...ReturnType<typeof ruleOf>[]],
  { error: (i) => i.code === "invalid_union" ? `must be one of ${KINDS.join(", ")}` : undefined },
);
/** A rule as the engine reads it. */
export type Rule = { rule_id: string; kind: Kind; params: Record<string, unknown>; points: number; enabled: boolean };

/**
 * How far back (s) the context holds the user's recent purchases: the longest rule window, and at least the 30
 * minutes the learned model's features look at.
 */
export function longestWindow(rules: Rule[]): number {
  return Math.max(1800, ...rules.map((r) => Number((r.params as { window_s?: number }).window_s ?? 0)));
}

const money = (x: number) => x.toFixed(2);
const DAY = 86_400_000;

/** Median of `xs` (not empty). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Why `rule` fires for the purchase, or null when it does not. */
export function check(rule: Rule, c: Context): string | null {
  switch (rule.kind) {
    case "amount_vs_user": {
      const p = PARAMS.amount_vs_user.parse(rule.params);
      if (c.history.length < p.min_history) return null;
      const med = median(c.history);
      const mad = median(c.history.map((a) => Math.abs(a - med)));
      if (c.amount > med + p.mad_k * mad && c.amount > p.ratio * med) {
        return `amount ${money(c.amount)} is ${(c.amount / med).toFixed(1)}× this user's median ${money(med)}`;
      }
      return null;
    }
    case "amount_vs_store": {
      const p = PARAMS.amount_vs_store.parse(rule.params);
      if (p.max_amount !== undefined && c.amount > p.max_amount) {
        return `amount ${money(c.amount)} is above the absolute bound ${money(p.max_amount)}`;
      }
      if (c.amount <= p.min_amount || c.storeSamples < p.min_samples) return null;
      const limit = p.multiple * c.storeAt(p.percentile);
      if (c.amount <= limit) return null;
      const where = `${(p.percentile * 100).toFixed(1)}th percentile`;
      return p.multiple === 1
        ? `amount ${money(c.amount)} is above the store's ${where} (${money(limit)})`
        : `amount ${money(c.amount)} is over ${p.multiple}× the store's ${where} (${money(limit)})`;
    }
    case "velocity": {
      const p = PARAMS.velocity.parse(rule.params);
      const floor = p.min_percentile === undefined ? null : c.storeAt(p.min_percentile);
      const inWindow = c.recent.filter((r) => r.ts > c.ts - p.window_s * 1000 && (floor === null || r.amount >= floor));
      const sum = inWindow.reduce((s, r) => s + r.amount, 0);
      if (inWindow.length > p.max_count) {
        const what = floor === null
          ? "purchases"
          : `purchases of at least ${money(floor)} (the store's ${(p.min_percentile! * 100).toFixed(0)}th percentile)`;
        return `${inWindow.length} ${what} within ${p.window_s} s (more than ${p.max_count})`;
      }
      // A single order is the amount rules' business: spending velocity needs two or more.
      if (p.max_sum !== undefined && sum > p.max_sum && inWindow.length > 1) {
        return `${money(sum)} spent within ${p.window_s} s (more than ${money(p.max_sum)})`;
      }
      return null;
    }
    case "new_country_device": {
      const p = PARAMS.new_country_device.parse(rule.params);
      const isNew = (seen: number | null) => seen !== null && seen > c.ts - p.recent_h * 3_600_000;
      const [country, device] = [isNew(c.countrySeen), isNew(c.deviceSeen)];
      const fires = p.match === "both" ? country && device : p.match === "one" ? country !== device : country || device;
      if (c.accountSeen > c.ts - p.min_account_days * DAY || !fires) return null;
      const what = country && device ? "a country and a device" : country ? "a country" : "a device";
      return `${what} first seen in the last ${p.recent_h} h on an account ${
        Math.floor((c.ts - c.accountSeen) / DAY)
      } days old`;
    }
    case "model": {
      const p = PARAMS.model.parse(rule.params);
      const m = c.learned;
      if (!m || m.p < p.min_probability) return null;
      return `fraud probability ${m.p.toFixed(2)} from learned model v${m.version} (${m.path.join(", ")})`;
    }
    case "new_account": {
      const p = PARAMS.new_account.parse(rule.params);
      const hours = (c.ts - c.accountSeen) / 3_600_000;
      if (hours > p.max_account_h || c.history.length > p.max_purchases) return null;
      const which = c.history.length === 0 ? "first purchase" : `purchase ${c.history.length + 1}`;
      const age = hours < 1 ? `${Math.round(hours * 60)} min` : `${hours.toFixed(1)} h`;
      if (p.min_median_multiple === 0) return `${which} on an account first seen ${age} ago`;
      const median = c.storeAt(0.5);
      const young = c.storeSamples >= p.min_samples && c.storeSamples <= (p.max_samples ?? Infinity);
      if (!young || c.amount <= p.min_median_multiple * median) return null;
      const times = (c.amount / median).toFixed(1);
      return `${which} of ${money(c.amount)}, ${times}× the store's median ${
        money(median)
      }, on an account first seen ${age} ago`;
    }
    case "card_testing": {
      const p = PARAMS.card_testing.parse(rule.params);
      const n = c.recent.filter((r) => r.ts > c.ts - p.window_s * 1000 && r.amount <= p.max_amount).length;
      if (c.amount > p.max_amount || n < p.min_count) return null;
      return `${n} purchases of at most ${money(p.max_amount)} within ${p.window_s / 60} min (card testing)`;
    }
  }
}

/** The score of a purchase under `rules`, with the reasons of those that fired (largest points first). */
export function evaluate(rules: Rule[], c: Context): { score: number; reasons: string[] } {
  const fired = rules.filter((r) => r.enabled).map((r) => ({ r, why: check(r, c) })).filter((f) => f.why !== null)
    .sort((a, b) => b.r.points - a.r.points);
  return { score: fired.reduce((s, f) => s + f.r.points, 0), reasons: fired.map((f) => `${f.r.rule_id}: ${f.why}`) };
}
