/**
 * Weeks of simulated history with ground truth, so model quality is measured rather than asserted. Users
 * join over time and visit at their own rate; churners' visits and buying intent decay for a while before
 * they go quiet for good; a few accounts see injected fraud. The truth travels beside the events (`labels`),
 * never inside them.
 */
import type { Event } from "../../core/event.ts";
import { rng, Simulator } from "./simulator.ts";

/** The injected fraud patterns. */
export const FRAUD_PATTERNS = ["amount_outlier", "burst", "new_geo_device", "card_testing"] as const;
/** One of the injected fraud patterns. */
export type FraudPattern = typeof FRAUD_PATTERNS[number];

/** What shapes a history. */
export interface HistoryOptions {
  /** The seed: the same seed makes the same history. */
  seed: number;
  /** How many users join over the history. */
  users: number;
  /** Event time of day 0 (midnight UTC is best). */
  start: Date;
  /** How many days of history. */
  days: number;
  /**
   * Share of settled users who churn, fading out over weeks (some only after the history ends). Besides, most
   * new users who buy nothing in their first 10 days leave soon after. Default 0.3.
   */
  churnShare?: number;
  /** Share of established users (two weeks of history or more) whose account sees fraud. Default 0.05. */
  fraudShare?: number;
  /** What user ids start with (default "u"). */
  userPrefix?: string;
}

/** The ground truth of a history, for evaluation only. */
export interface Labels {
  /** Per churning user: when their last visit happened (they never come back). */
  churned: Record<string, string>;
  /** Per fraudulent purchase (event_id): its pattern. */
  fraudEvents: Record<string, FraudPattern>;
  /** Per user whose account saw fraud: the pattern. */
  fraudUsers: Record<string, FraudPattern>;
}

const DAY = 86_400_000;
/** New users who buy nothing in their first days mostly leave soon after. */
const ONBOARDING_DAYS = 10;
const COUNTRIES = ["US", "DE", "GB", "FR", "IN", "BR", "JP", "ES"];
const DEVICES = ["mobile", "desktop", "tablet"];

/** A history of `days` days: its events in event-time order and its labels. */
export function simulateHistory(opts: HistoryOptions): { events: Event[]; labels: Labels } {
  const { seed, users, days } = opts;
  const t0 = opts.start.getTime();
  const prefix = opts.userPrefix ?? "u";
  const sim = new Simulator({ seed, users, userPrefix: prefix });
  const random = rng(seed ^ 0x5eed);
  const labels: Labels = { churned: {}, fraudEvents: {}, fraudUsers: {} };
  const events: Event[] = [];
  for (let u = 0; u < users; u++) {
    const joined = Math.floor(days * 0.6 * random() ** 1.5);
    const rate = 0.15 + 1.2 * random() ** 2; // visits per day
    let churns = random() < (opts.churnShare ?? 0.3);
    let quits = churns ? joined + 10 + random() * (days - joined + 10) : Infinity;
    let decay = 10 + 15 * random(); // days of fading before quitting
    let bought = false;
    let last = -1;
    // Legitimate changes of place that fraud rules must not mistake for takeovers: a trip abroad on the usual
    // device for some users, a new device at home for others.
    const home = sim.user(u);
    const trip = random() < 0.1 ? { from: joined + random() * days, days: 3 + 5 * random() } : null;
    const tripCountry = COUNTRIES[Math.floor(random() * COUNTRIES.length)];
    const newDeviceFrom = random() < 0.15 ? joined + random() * days : Infinity;
    const newDevice = DEVICES[Math.floor(random() * DEVICES.length)];
    for (let d = joined; d < Math.min(days, quits); d++) {
      if (d === joined + ONBOARDING_DAYS && !bought && random() < 0.6) {
        // A failed start: no purchase in the first days, and most such users leave soon after.
        churns = true;
        quits = Math.min(quits, d + 2 + 5 * random());
        decay = 3;
      }
      // Fading linearly to a sixth of the usual rate and intent over the last `decay` days.
      const f = Math.min(1, Math.max(1 / 6, (quits - d) / decay));
      for (let v = poisson(rate * f, random); v > 0; v--) {
        const at = t0 + d * DAY + Math.floor((0.3 + 0.65 * random()) * DAY);
        const away = trip !== null && d >= trip.from && d < trip.from + trip.days;
        const device = d >= newDeviceFrom ? newDevice : home.device;
        const session = sim.session(u, at, f, { country: away ? tripCountry : home.country, device });
        events.push(...session);
        bought ||= session.some((e) => e.type === "purchase");
        last = Math.max(last, ...session.map((e) => Date.parse(e.timestamp)));
      }
    }
    if (churns && quits < days && last >= 0) labels.churned[`${prefix}${u}`] = new Date(last).toISOString();
  }
  // Fraud: on accounts with at least two weeks of history, at a moment a week or more into it; patterns in turn.
  const spans = new Map<string, { first: number; last: number }>();
  for (const e of events) {
    const t = Date.parse(e.timestamp);
    const s = spans.get(e.user_id);
    spans.set(e.user_id, s ? { first: Math.min(s.first, t), last: Math.max(s.last, t) } : { first: t, last: t });
  }
  const established = [...spans].filter(([, s]) => s.last - s.first >= 14 * DAY).map(([u]) => u).sort();
  const victims = established.filter(() => random() < (opts.fraudShare ?? 0.05));
  victims.forEach((user, i) => {
    const pattern = FRAUD_PATTERNS[i % FRAUD_PATTERNS.length];
    const { first, last } = spans.get(user)!;
    const at = first + 7 * DAY + random() * (last - first - 7 * DAY) + 7 * 60_000;
    const fraud = injectFraud(
      sim.user(Number(user.slice(prefix.length))),
      pattern,
      at,
      random,
      `sim-${seed}-fraud-${i}`,
    );
    for (const e of fraud) if (e.type === "purchase") labels.fraudEvents[e.event_id] = pattern;
    labels.fraudUsers[user] = pattern;
    events.push(...fraud);
  });
  events.sort((a, b) => a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0);
  return { events, labels };
}

/** A Poisson draw (Knuth's method; `mean` is small here). */
function poisson(mean: number, random: () => number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = random(); p > limit; p *= random()) k++;
  return k;
}

/** The events of one fraud pattern on `user`'s account, starting at `at`. */
function injectFraud(
  user: { user_id: string; country: string; device: string },
  pattern: FraudPattern,
  at: number,
  random: () => number,
  prefix: string,
): Event[] {
  const other = <T>(xs: T[], not: T) => xs.filter((x) => x !== not)[Math.floor(random() * (xs.length - 1))];
  const money = (lo: number, hi: number) => Math.round((lo + (hi - lo) * random()) * 100) / 100;
  let n = 0;
  const event = (type: string, t: number, props: Record<string, unknown>, where = user): Event => ({
    event_id: `${prefix}-${++n}`,
    type,
    user_id: user.user_id,
    session_id: `${prefix}-s`,
    timestamp: new Date(Math.round(t)).toISOString(),
    properties: { ...props, country: where.country, device: where.device },
  });
  const purchase = (t: number, amount: number, where = user) =>
    event("purchase", t, { amount, currency: "EUR" }, where);
  switch (pattern) {
    case "amount_outlier": // far above the user's history and the store's normal range
      return [event("page_view", at, { page: "/" }), purchase(at + 40_000, money(4_000, 12_000))];
    case "burst": { // purchases seconds apart
      let t = at;
      return Array.from(
        { length: 5 + Math.floor(random() * 4) },
        () => purchase(t += money(2, 12) * 1000, money(80, 600)),
      );
    }
    case "new_geo_device": { // a country and device never seen for the user, a high amount
      const where = { ...user, country: other(COUNTRIES, user.country), device: other(DEVICES, user.device) };
      return [event("login", at, {}, where), purchase(at + 60_000, money(900, 2_500), where)];
    }
    case "card_testing": { // many tiny purchases
      let t = at;
      return Array.from(
        { length: 10 + Math.floor(random() * 9) },
        () => purchase(t += money(20, 90) * 1000, money(0.5, 3)),
      );
    }
  }
}
