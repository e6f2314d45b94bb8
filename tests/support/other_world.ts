/**
 * An independent evaluation world: a seeded history of users, sessions, orders and fraud, written without reference
 * to the project's simulator, so that models tuned on the simulator can be judged on a world they did not see.
 *
 * - Cohorts: the store opens with no users and no orders; people sign up along a slow ramp with acquisition waves
 *   (one just before the sale week), each with a `signup` first. The first week holds only a few dozen orders.
 * - Archetypes: weekly (the same weekday(s) each week, mostly Saturday), commuters (weekday mornings), bursty (10–40
 *   silent days, then several sessions in a few days) and casual (irregular, log-normal gaps).
 * - Leaving: abrupt (normal until a last visit) or fading (visits thin out over 3–6 weeks, then a last one); each
 *   leaver's last event time is in `labels.churned`. Bursty silences are not churn: those users come back.
 * - Seasons: weekends bring longer visits and more carts; a sale week (from day ⌊0.55·days⌋) brings more orders and
 *   larger baskets, a slow holiday week (from day ⌊0.8·days⌋) fewer visits.
 * - Hard negatives, never labelled fraud (`labels.hardNegatives`): travellers buying abroad on their usual device,
 *   new phones at home, B2B buyers whose every order is 1,000–4,000, sale-week gift buyers (2–3 mid-size orders in
 *   an hour), digital buyers (3–5 orders of 0.99–4.99 over a day).
 * - Fraud, in {@linkcode OTHER_FRAUD_PATTERNS}: see each pattern's function below.
 * - Noise: ~2% duplicates (same event_id and content, next to or far from the original in the array), ~1% delivered
 *   1–12 hours late (later in the array, true timestamp), a few bots' rapid page views, ~0.1% of browsing events
 *   with a clock skewed by 1–5 minutes, and optional strays dated 1–3 years before the start or up to a year after
 *   the end. Everything else comes in event-time order.
 * - Limits: churn is only labelled with 3 weeks of history after it, a takeover needs an account 16 days old and a
 *   midsize burst 23 days, so short histories have no leavers and fewer fraud patterns.
 * @module
 */
import type { Event, EventItem, EventProperties } from "../../runtime/core/event.ts";

/** The fraud patterns of the other world, none of them a classic rule's recipe. */
export const OTHER_FRAUD_PATTERNS = [
  "takeover_new_country",
  "slow_card_testing",
  "midsize_burst",
  "young_store_outlier",
] as const;
/** One of {@linkcode OTHER_FRAUD_PATTERNS}. */
export type OtherFraudPattern = typeof OTHER_FRAUD_PATTERNS[number];

/** Legitimate behaviours that a naive fraud rule flags; the world never labels them fraud. */
export const HARD_NEGATIVES = ["traveller", "new_phone", "b2b", "gift_buyer", "digital_buyer"] as const;
/** One of {@linkcode HARD_NEGATIVES}. */
export type HardNegative = typeof HARD_NEGATIVES[number];

/** What world to make. */
export interface OtherWorldOptions {
  /** Same seed (a 32-bit integer; fractions are dropped), same world. It is also part of every event_id. */
  seed: number;
  /** How many accounts, an integer ≥ 1 (fraudsters' own accounts included). */
  users: number;
  /** When the store opens. */
  start: Date;
  /** How long the dense history lasts, in days (> 0). */
  days: number;
  /** share of accounts that see fraud, default 0.05 */
  fraudShare?: number;
  /** stray events dated far from the dense history (old or future), default 0 */
  strays?: number;
  /** user id prefix, default "w" */
  userPrefix?: string;
}

/** The truth about the world, for scoring models against it. */
export interface OtherWorldLabels {
  /** per user who leaves for good: ISO time of their last event */
  churned: Record<string, string>;
  /** per fraudulent purchase event_id: its pattern (purchases only, not the checkouts before them) */
  fraudEvents: Record<string, OtherFraudPattern>;
  /** per user whose account saw fraud: the pattern */
  fraudUsers: Record<string, OtherFraudPattern>;
  /** per user who behaves in a way that looks like fraud but is not: the behaviour (beyond the brief's three) */
  hardNegatives: Record<string, HardNegative>;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const DEVICES = ["ios", "android", "web-desktop", "web-mobile"];
const HOMES = ["US", "US", "US", "US", "GB", "GB", "DE", "DE", "FR", "CA", "CA", "BR", "IN", "JP", "AU", "NL", "ES"];
const ABROAD = ["US", "GB", "DE", "FR", "ES", "IT", "PT", "GR", "TH", "JP", "MX", "CA", "AU", "NL", "HR", "TR"];
const TAKEOVER_FROM = ["NG", "RU", "VN", "ID", "RO", "UA", "PH", "KE", "BD", "PK", "EG", "CO"];
const CATEGORIES = ["apparel", "home", "electronics", "beauty", "books", "sports", "toys", "garden"];
const PAGES = ["/", "/deals", "/new", "/account", "/help", "/blog", "/category", "/wishlist"];
const QUERIES = ["shoes", "lamp", "headphones", "gift", "sale", "jacket", "kettle", "yoga mat", "lego", "serum"];
/** The events whose clocks may be skewed: not the ones fraud labels and churn times hang on. */
const SKEWABLE = ["page_view", "product_view", "search", "video_play", "video_progress"];
const WEEKDAYS = [[6], [6], [6], [0], [0, 3], [2, 6], [5]];
/** Typical steps of a visit per archetype. */
const STEPS = { weekly: 22, commuter: 8, bursty: 15, casual: 12 } as const;
type Archetype = keyof typeof STEPS;
type Mode = "signup" | "visit" | "buy" | "b2b" | "bot" | "gift" | "digital";

/** A seeded source of randomness (mulberry32): the same seed gives the same stream. */
function makeRng(seed: number) {
  let state = (Math.imul(seed | 0, 0x9e3779b1) ^ 0x85ebca6b) >>> 0;
  const float = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const range = (lo: number, hi: number) => lo + (hi - lo) * float();
  return {
    float,
    range,
    int: (lo: number, hi: number) => Math.floor(range(lo, hi + 1)),
    chance: (p: number) => float() < p,
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(float() * xs.length)],
    logRange: (lo: number, hi: number) => lo * Math.pow(hi / lo, float()),
    /** Log-normal around `median` (Box–Muller). */
    logNormal: (median: number, sigma: number) =>
      median * Math.exp(sigma * Math.sqrt(-2 * Math.log(1 - float())) * Math.cos(2 * Math.PI * float())),
    shuffle: <T>(xs: T[]): T[] => {
      for (let i = xs.length - 1; i > 0; i--) {
        const j = Math.floor(float() * (i + 1));
        [xs[i], xs[j]] = [xs[j], xs[i]];
      }
      return xs;
    },
  };
}
type Rng = ReturnType<typeof makeRng>;

interface Product {
  product_id: string;
  category: string;
  price: number;
}
interface Person {
  id: string;
  kind: Archetype;
  join: number;
  /** Activity ends before this instant (the leaving time, the end of the history, or a fraud account's hour). */
  stop: number;
  leaves: "abrupt" | "fade" | null;
  country: string;
  devices: string[];
  explicit: boolean; // sends session_id (else sessions are inferred from gaps)
  buy: number; // how readily they fill a cart, around 1
  likes: string[]; // favourite categories
  hour: number; // usual hour of a weekly visit
  weekdays: number[];
  role: HardNegative | null;
  roleAt: number; // when the role's special visit happens
  fraud: OtherFraudPattern | null;
  fraudAt: number;
  fraudOnly: boolean; // an account made by a fraudster: a signup, then only the fraud
  bot: boolean;
  trip: { from: number; to: number; country: string } | null;
  phone: { at: number; device: string } | null;
  sessions: number;
  lastSeen: string; // the country and device of the last session, to log in again when they change
}
interface Ctx {
  sid?: string;
  country: string;
  device: string;
  login: boolean;
}
interface Draft {
  t: number;
  id: string;
  user: string;
  sid?: string;
  type: string;
  props: EventProperties;
}
interface World {
  rng: Rng;
  start: number;
  end: number;
  days: number;
  ids: string;
  sale: [number, number];
  slow: [number, number];
  products: Product[];
  digital: Product[];
  byCategory: Map<string, Product[]>;
  drafts: Draft[];
  orders: Map<string, { t: number; amount: number }[]>;
  labels: OtherWorldLabels;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const iso = (t: number) => new Date(Math.round(t)).toISOString();
const dayOf = (t: number) => Math.floor(t / DAY) * DAY;
const isWeekend = (t: number) => [0, 6].includes(new Date(t).getUTCDay());
const within = (t: number, [from, to]: [number, number]) => t >= from && t < to;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Makes the world of `opts`: its events (in delivery order) and the truth about them. */
export function otherWorld(opts: OtherWorldOptions): { events: Event[]; labels: OtherWorldLabels } {
  if (!Number.isInteger(opts.users) || opts.users < 1) {
    throw new RangeError(`otherWorld: users must be an integer ≥ 1, got ${opts.users}`);
  }
  if (!(opts.days > 0)) throw new RangeError(`otherWorld: days must be > 0, got ${opts.days}`);
  const start = opts.start.getTime();
  if (Number.isNaN(start)) throw new RangeError("otherWorld: start must be a valid date, got an invalid one");
  const rng = makeRng(opts.seed);
  const products = Array.from({ length: 240 }, (_, i): Product => {
    const r = rng.float();
    const price = r < 0.85 ? rng.logRange(5, 80) : r < 0.98 ? rng.range(200, 900) : rng.range(1_500, 3_000);
    return { product_id: `sku-${i}`, category: rng.pick(CATEGORIES), price: round2(price) };
  }).sort((a, b) => a.price - b.price);
  const mark = (at: number) => start + Math.floor(opts.days * at) * DAY;
  const w: World = {
    rng,
    start,
    end: start + opts.days * DAY,
    days: opts.days,
    ids: `${opts.userPrefix ?? "w"}-${opts.seed}-`,
    sale: [mark(0.55), mark(0.55) + 7 * DAY],
    slow: [mark(0.8), mark(0.8) + 7 * DAY],
    products,
    digital: [0.99, 1.99, 2.99, 3.99, 4.99].map((price, i) => ({ product_id: `app-${i}`, category: "digital", price })),
    byCategory: new Map(CATEGORIES.map((c) => [c, products.filter((p) => p.category === c)])),
    drafts: [],
    orders: new Map(),
    labels: { churned: {}, fraudEvents: {}, fraudUsers: {}, hardNegatives: {} },
  };
  const people = makePeople(w, opts.users, opts.userPrefix ?? "w");
  assignRoles(w, people, opts.fraudShare ?? 0.05);
  for (const p of people) for (const [t, mode] of schedule(w, p)) play(w, p, t, mode);
  const early = [...w.orders.values()].flat().filter((o) => o.t < w.start + 10 * DAY);
  for (const p of people) if (p.fraud) commitFraud(w, p, early);
  const events = deliver(w, people, opts.strays ?? 0);
  const leavers = new Set(people.filter((p) => p.leaves && !p.fraudOnly).map((p) => p.id));
  const { churned } = w.labels;
  for (const e of events) {
    // ISO strings of the same form compare as their times do
    if (leavers.has(e.user_id) && !(e.timestamp <= churned[e.user_id])) churned[e.user_id] = e.timestamp;
  }
  return { events, labels: w.labels };
}

/** The accounts: when each joins (a ramp plus waves), how they behave, and whether and how they leave. */
function makePeople(w: World, users: number, prefix: string): Person[] {
  const { rng } = w;
  const waves = [(w.sale[0] - w.start) / DAY - 3, rng.range(0.15, 0.9) * w.days, rng.range(0.15, 0.9) * w.days];
  const weights = Array.from(
    { length: Math.ceil(w.days) },
    (_, d) => 0.8 + 0.5 * Math.min(1, d / 14) + waves.reduce((s, c) => s + 3 * Math.max(0, 1 - Math.abs(d - c) / 2), 0),
  );
  const total = weights.reduce((a, b) => a + b, 0);
  const joinAt = () => {
    let r = rng.float() * total, d = 0;
    while (r > weights[d] && d < weights.length - 1) r -= weights[d++];
    return Math.min(w.start + (d + rng.float()) * DAY, w.end - HOUR);
  };
  return Array.from({ length: users }, (_, i) => {
    const primary = rng.pick(DEVICES);
    const join = joinAt();
    const p: Person = {
      id: `${prefix}${String(i + 1).padStart(4, "0")}`,
      kind: rng.pick(["weekly", "weekly", "commuter", "commuter", "bursty", "bursty", "casual", "casual", "casual"]),
      join,
      stop: w.end,
      leaves: null,
      country: rng.pick(HOMES),
      devices: primary !== "web-desktop" && rng.chance(0.4) ? [primary, "web-desktop"] : [primary],
      explicit: rng.chance(0.7),
      buy: rng.chance(0.35) ? 0.15 : rng.logRange(0.5, 2),
      likes: [rng.pick(CATEGORIES), rng.pick(CATEGORIES)],
      hour: rng.range(9, 20),
      weekdays: rng.pick(WEEKDAYS),
      role: null,
      roleAt: 0,
      fraud: null,
      fraudAt: 0,
      fraudOnly: false,
      bot: false,
      trip: null,
      phone: null,
      sessions: 0,
      lastSeen: "",
    };
    const leave = join + rng.logRange(7, 90) * DAY;
    if (rng.chance(0.55) && leave <= w.end - 21 * DAY) {
      [p.leaves, p.stop] = [rng.chance(0.5) ? "abrupt" : "fade", leave];
    }
    return p;
  });
}

/** Picks the fraud victims and fraudsters (about `share` of accounts, four equal groups), hard negatives and bots. */
function assignRoles(w: World, people: Person[], share: number): void {
  const { rng } = w;
  const pool = rng.shuffle([...people]);
  const least = people.length >= 400 ? 3 : 0; // so that a pattern can be scored at all
  const per = share > 0 ? Math.max(least, Math.round((share * people.length) / 4)) : 0;
  const span = (p: Person) => p.stop - p.join;
  const take = (n: number, ok: (p: Person) => boolean, set: (p: Person) => void) => {
    for (const p of pool) {
      if (n <= 0) return;
      if (p.fraud || p.role || p.bot || !ok(p)) continue;
      set(p);
      n--;
    }
  };
  const fraudster = (p: Person, pattern: OtherFraudPattern, join: number, after: number) => {
    Object.assign(p, { fraud: pattern, fraudOnly: true, leaves: null, join, stop: join + HOUR });
    p.fraudAt = join + after;
  };
  take(
    per,
    () => true,
    (p) =>
      fraudster(
        p,
        "young_store_outlier",
        w.start + rng.range(Math.min(1, w.days / 4), Math.min(9.3, w.days * 0.8)) * DAY,
        0,
      ),
  );
  const fresh = Math.ceil(per / 2);
  take(
    fresh,
    (p) => p.join < w.end - 2 * DAY,
    (p) => fraudster(p, "slow_card_testing", p.join, rng.range(0.2, 6) * HOUR),
  );
  take(per - fresh, (p) => span(p) > 4 * DAY, (p) => {
    [p.fraud, p.fraudAt] = ["slow_card_testing", p.join + rng.range(0.5, Math.min(10, span(p) / DAY - 2)) * DAY];
  });
  take(per, (p) => span(p) > 16 * DAY, (p) => {
    [p.fraud, p.fraudAt] = ["takeover_new_country", rng.range(p.join + 14 * DAY, p.stop - 2 * HOUR)];
  });
  take(per, (p) => span(p) > 23 * DAY, (p) => {
    [p.fraud, p.fraudAt] = ["midsize_burst", rng.range(p.join + 21 * DAY, p.stop - 2 * HOUR)];
  });
  const count = (f: number) => Math.max(least, Math.round(f * people.length));
  const role = (r: HardNegative, f: number, ok: (p: Person) => boolean, set: (p: Person) => void) =>
    take(count(f), ok, (p) => {
      set(p);
      p.role = w.labels.hardNegatives[p.id] = r;
    });
  role(
    "b2b",
    0.01,
    (p) => p.join < w.end - 14 * DAY,
    (p) => Object.assign(p, { kind: "commuter", leaves: null, stop: w.end }),
  );
  role("traveller", 0.04, (p) => span(p) > 20 * DAY, (p) => {
    const from = p.join + rng.range(0.3, 0.7) * span(p);
    p.trip = { from, to: from + rng.range(5, 14) * DAY, country: rng.pick(ABROAD.filter((c) => c !== p.country)) };
    p.roleAt = from + rng.range(2, 30) * HOUR;
  });
  role("new_phone", 0.04, (p) => span(p) > 20 * DAY, (p) => {
    p.phone = { at: p.join + rng.range(0.3, 0.7) * span(p), device: p.devices[0] === "ios" ? "android" : "ios" };
    p.roleAt = p.phone.at;
  });
  role("gift_buyer", 0.03, (p) => p.join < w.sale[0] - DAY && p.stop > w.sale[1], (p) => {
    p.roleAt = rng.range(w.sale[0], w.sale[1] - 2 * HOUR);
  });
  role("digital_buyer", 0.03, (p) => span(p) > 5 * DAY, (p) => {
    p.roleAt = dayOf(p.join + rng.range(1, span(p) / DAY - 2) * DAY) + rng.range(7, 10) * HOUR;
  });
  take(Math.max(2, Math.round(people.length * 0.008)), (p) => span(p) > 10 * DAY, (p) => (p.bot = true));
}

/** When a person visits, and how: their archetype's rhythm, the seasons, fading, and their special occasions. */
function schedule(w: World, p: Person): [number, Mode][] {
  const { rng } = w;
  if (p.fraudOnly) return [[p.join, "signup"]];
  let slots: [number, Mode][] = [];
  const at = (t: number, mode: Mode = "visit") => slots.push([t, mode]);
  if (p.kind === "weekly" || p.kind === "commuter") {
    for (let day = dayOf(p.join); day < p.stop; day += DAY) {
      const dow = new Date(day).getUTCDay();
      if (p.kind === "weekly") {
        if (p.weekdays.includes(dow) && rng.chance(0.85)) at(day + (p.hour + rng.range(-1.5, 1.5)) * HOUR);
        else if (rng.chance(0.04)) at(day + rng.range(9, 22) * HOUR);
      } else {
        if (dow > 0 && dow < 6 && rng.chance(0.8)) at(day + rng.range(6.5, 9) * HOUR);
        if (rng.chance(0.15)) at(day + rng.range(18, 22.5) * HOUR);
      }
    }
  } else if (p.kind === "bursty") {
    for (let i = rng.int(1, 3); i > 0; i--) at(p.join + rng.range(2, 72) * HOUR);
    for (let t = p.join + rng.range(10, 40) * DAY; t < p.stop;) {
      const span = rng.range(2, 5) * DAY;
      for (let i = rng.int(3, 7); i > 0; i--) at(t + rng.float() * span);
      t += span + rng.range(10, 40) * DAY;
    }
  } else {
    for (let t = p.join + rng.logNormal(2 * DAY, 0.9); t < p.stop; t += rng.logNormal(2.5 * DAY, 0.9)) {
      if (isWeekend(t) || rng.chance(0.7)) {
        at(dayOf(t) + (rng.chance(0.6) ? rng.range(18, 23) : rng.range(8, 18)) * HOUR);
      }
    }
  }
  if (p.kind !== "commuter") {
    for (let day = w.sale[0]; day < w.sale[1]; day += DAY) if (rng.chance(0.25)) at(day + rng.range(10, 22) * HOUR);
  }
  const fadeFrom = p.leaves === "fade" ? Math.max(p.join, p.stop - rng.range(21, 42) * DAY) : Infinity;
  slots = slots.filter(([t]) =>
    t > p.join + 30 * MINUTE && t < p.stop - 40 * MINUTE && !(within(t, w.slow) && rng.chance(0.55)) &&
    (t < fadeFrom || rng.chance(Math.pow(1 - (t - fadeFrom) / (p.stop - fadeFrom), 1.5)))
  );
  if (p.role === "b2b") slots = slots.map(([t], i) => [t, i === 0 || rng.chance(0.3) ? "b2b" : "visit"]);
  if (p.leaves) { // a last visit at their usual hour, on the leaving day or the day before
    const last = dayOf(p.stop) + p.hour * HOUR;
    at(Math.max(p.join + HOUR, last < p.stop - HOUR ? last : last - DAY));
  }
  if (p.role === "traveller" || p.role === "new_phone") at(p.roleAt, "buy");
  if (p.role === "gift_buyer") at(Math.max(p.roleAt, p.join + HOUR), "gift");
  if (p.role === "digital_buyer") at(p.roleAt, "digital");
  if (p.bot) { for (let i = rng.int(3, 6); i > 0; i--) at(rng.range(p.join + DAY, p.stop - HOUR), "bot"); }
  return [[p.join, "signup"] as [number, Mode], ...slots.sort((a, b) => a[0] - b[0])];
}

/** Opens a session at `t`: where the person is, on which device, and whether they log in (a new place or device). */
function openSession(w: World, p: Person, t: number, country?: string, device?: string): Ctx {
  const { rng } = w;
  country ??= p.trip && within(t, [p.trip.from, p.trip.to]) ? p.trip.country : p.country;
  const other = p.devices[1];
  if (p.phone && t >= p.phone.at) device ??= other && t > p.phone.at && rng.chance(0.2) ? other : p.phone.device;
  device ??= other && rng.chance(0.25) ? other : p.devices[0];
  const seen = `${country} ${device}`;
  const login = seen !== p.lastSeen || rng.chance(0.12);
  p.lastSeen = seen;
  return { sid: p.explicit ? `${p.id}-s${++p.sessions}` : undefined, country, device, login };
}

/** Records one event (not past the end of the history); returns its id. */
function emit(w: World, p: Person, ctx: Ctx, t: number, type: string, props: EventProperties = {}): string {
  const id = `${w.ids}${w.drafts.length.toString(36)}`;
  if (t >= w.end) return id;
  w.drafts.push({ t: Math.round(t), id, user: p.id, sid: ctx.sid, type, props: { ...props, ...place(ctx) } });
  return id;
}
const place = (ctx: Ctx) => ({ country: ctx.country, device: ctx.device });
const view = (x: Product) => ({ product_id: x.product_id, category: x.category, price: x.price });

/** A checkout shortly before `t` and (when `complete`) the purchase at `t`: items, or a bare amount. */
function order(w: World, p: Person, ctx: Ctx, t: number, what: EventItem[] | number, complete = true): string {
  const amount = round2(typeof what === "number" ? what : what.reduce((s, i) => s + i.price * i.quantity, 0));
  emit(w, p, ctx, t - w.rng.range(15, 55) * 1000, "checkout", { amount, currency: "USD" });
  if (!complete || t >= w.end) return "";
  const items = typeof what !== "number" && w.rng.chance(0.8) ? { items: what } : {};
  (w.orders.get(p.id) ?? w.orders.set(p.id, []).get(p.id)!).push({ t, amount });
  return emit(w, p, ctx, t, "purchase", { amount, currency: "USD", ...items });
}

/** Items worth a little under `target`: products at most `cap` each, at most `maxQ` of each. */
function basketNear(w: World, target: number, maxQ: number, cap = Infinity): EventItem[] {
  const items: EventItem[] = [];
  let left = target;
  while (items.length < 12 && left >= w.products[0].price) {
    const top = w.products.findLastIndex((x) => x.price <= Math.min(left, cap));
    const x = w.products[Math.max(0, top - w.rng.int(0, 6))];
    const quantity = Math.max(1, Math.min(maxQ, Math.floor(left / x.price)));
    items.push({ product_id: x.product_id, price: x.price, quantity });
    left -= x.price * quantity;
  }
  if (items.length === 0) items.push({ product_id: w.products[0].product_id, price: w.products[0].price, quantity: 1 });
  return items;
}

/** Plays one slot of a person's schedule. */
function play(w: World, p: Person, t0: number, mode: Mode): void {
  const { rng } = w;
  if (mode === "digital") {
    for (let i = rng.int(3, 5), t = t0; i > 0; i--, t += rng.range(1.5, 4) * HOUR) {
      const ctx = openSession(w, p, t), app = rng.pick(w.digital);
      emit(w, p, ctx, t, "product_view", view(app));
      order(w, p, ctx, t + rng.range(1, 4) * MINUTE, [{ product_id: app.product_id, price: app.price, quantity: 1 }]);
    }
    return;
  }
  const ctx = openSession(w, p, t0);
  let t = t0;
  const next = () => (t += Math.min(rng.logNormal(20_000, 0.8), 12 * MINUTE));
  if (mode === "signup") emit(w, p, ctx, t, "signup", { page: "/signup" });
  else if (ctx.login) emit(w, p, ctx, t, "login");
  if (mode === "bot") {
    for (let i = rng.int(60, 200); i > 0; i--) emit(w, p, ctx, t += rng.range(300, 2_500), "page_view", { page: "/" });
    return;
  }
  if (mode === "gift") {
    for (let i = rng.int(2, 3); i > 0; i--, t += rng.range(8, 25) * MINUTE) {
      const items = basketNear(w, rng.range(150, 400), 2);
      for (const item of items) emit(w, p, ctx, next(), "add_to_cart", { ...item });
      order(w, p, ctx, next() + MINUTE, items);
    }
    return;
  }
  const sale = within(t0, w.sale), weekend = isWeekend(t0);
  const addP = p.fraudOnly || p.role === "b2b" ? 0 : 0.28 * p.buy * (sale ? 1.8 : 1) * (weekend ? 1.25 : 1);
  const cart: EventItem[] = [];
  const add = (x: Product) => {
    const quantity = sale && rng.chance(0.5) ? rng.int(2, 4) : rng.chance(0.12) ? 2 : 1;
    emit(w, p, ctx, next(), "add_to_cart", { ...view(x), quantity });
    cart.push({ product_id: x.product_id, price: x.price, quantity });
  };
  const steps = mode === "signup" ? rng.int(2, 6) : STEPS[p.kind] * (weekend ? 1.3 : 1) * rng.range(0.4, 1.6);
  for (let n = Math.round(steps); n > 0; n--) {
    const r = rng.float();
    if (r < 0.28) emit(w, p, ctx, next(), "page_view", { page: rng.pick(PAGES) });
    else if (r < 0.38) emit(w, p, ctx, next(), "search", { query: rng.pick(QUERIES) });
    else if (r < 0.42) {
      const video = { video_id: `v${rng.int(1, 40)}`, duration_s: rng.int(30, 600) };
      emit(w, p, ctx, next(), "video_play", { ...video, position_s: 0 });
      emit(w, p, ctx, t += video.duration_s * 500, "video_progress", { ...video, position_s: video.duration_s / 2 });
      if (rng.chance(0.6)) {
        emit(w, p, ctx, t += video.duration_s * 500, "video_complete", { ...video, position_s: video.duration_s });
      }
    } else {
      const x = rng.chance(0.7) ? rng.pick(w.byCategory.get(rng.pick(p.likes))!) : rng.pick(w.products);
      emit(w, p, ctx, next(), "product_view", view(x));
      if (rng.chance(addP * (x.price > 1_000 ? 0.06 : x.price > 150 ? 0.2 : 1))) add(x);
      else if (cart.length > 0 && rng.chance(0.05)) emit(w, p, ctx, next(), "remove_from_cart", { ...cart.pop()! });
    }
  }
  if (mode === "buy" && cart.length === 0) {
    add(rng.pick(w.byCategory.get(p.likes[0])!.filter((x) => x.price < 150)) ?? w.products[0]);
  }
  if (mode === "b2b") {
    for (const item of basketNear(w, rng.range(1_050, 4_000), 200, 80)) {
      emit(w, p, ctx, next(), "add_to_cart", { ...item });
      cart.push(item);
    }
  }
  if (cart.length > 0 && (mode !== "visit" || rng.chance(0.55))) {
    order(w, p, ctx, next() + MINUTE, cart, mode !== "visit" || rng.chance(0.75));
  }
  if (rng.chance(0.08)) emit(w, p, ctx, next(), "logout");
}

/** Commits a person's fraud; `early` are the store's orders of its first 10 days. */
function commitFraud(w: World, p: Person, early: { t: number; amount: number }[]): void {
  const { rng } = w;
  const pattern = p.fraud!;
  const buy = (ctx: Ctx, t: number, what: EventItem[] | number) => {
    const id = order(w, p, ctx, t, what);
    if (id) w.labels.fraudEvents[id] = pattern;
  };
  const unseen = (xs: string[], seen: (string | undefined)[]) => xs.filter((x) => !seen.includes(x));
  w.labels.fraudUsers[p.id] = pattern;
  let t = p.fraudAt;
  if (pattern === "takeover_new_country") {
    // Someone else logs in from a country and device the account never used, and buys big within the hour.
    const ctx = openSession(
      w,
      p,
      t,
      rng.pick(TAKEOVER_FROM),
      rng.pick(unseen(DEVICES, [...p.devices, p.phone?.device])),
    );
    emit(w, p, ctx, t, "login");
    const own = (w.orders.get(p.id) ?? []).filter((o) => o.t < t).map((o) => o.amount);
    const first = own.length > 0 ? median(own) * rng.range(6, 20) : rng.range(800, 3_000);
    buy(ctx, t += rng.range(2, 60) * MINUTE, basketNear(w, first, 3));
    for (let i = rng.int(0, 2); i > 0; i--) {
      buy(ctx, t += rng.range(5, 25) * MINUTE, basketNear(w, first * rng.range(0.3, 1), 3));
    }
  } else if (pattern === "slow_card_testing") {
    // Small charges, one every 20–90 minutes for hours: too slow for a velocity rule, too small for an amount rule.
    for (let i = rng.int(6, 15); i > 0; i--, t += rng.range(20, 90) * MINUTE) {
      const ctx = openSession(w, p, t, p.country, p.devices[0]);
      emit(w, p, ctx, t - rng.range(1, 5) * MINUTE, "product_view", view(rng.pick(w.digital)));
      buy(ctx, t, round2(rng.range(0.5, 4)));
    }
    if (rng.chance(0.4)) buy(openSession(w, p, t, p.country, p.devices[0]), t, basketNear(w, rng.range(400, 2_000), 3));
  } else if (pattern === "midsize_burst") {
    // 4–8 mid-size orders a few minutes apart from home, sometimes on a new device.
    const device = rng.chance(0.5) ? rng.pick(unseen(DEVICES, [...p.devices, p.phone?.device])) : p.devices[0];
    const ctx = openSession(w, p, t, p.country, device);
    for (let i = rng.int(4, 8); i > 0; i--) {
      emit(w, p, ctx, t - rng.range(70, 100) * 1000, "product_view", view(rng.pick(w.products)));
      buy(ctx, t, basketNear(w, rng.range(160, 600), 2));
      t += rng.range(2, 8) * MINUTE;
    }
  } else {
    // A brand-new account's first order dwarfs anything the young store has seen.
    const ctx = openSession(w, p, t, p.country, p.devices[0]);
    const seen = early.filter((o) => o.t < t).map((o) => o.amount);
    const typical = early.length > 0 ? median(early.map((o) => o.amount)) : 40;
    const target = Math.max(typical * rng.range(10, 40), Math.max(0, ...seen) * rng.range(1.2, 2));
    emit(w, p, ctx, t += rng.range(5, 40) * MINUTE, "product_view", view(w.products.at(-1)!));
    buy(ctx, t + rng.range(2, 10) * MINUTE, basketNear(w, target, 4));
  }
}

/** Turns the drafts into events in delivery order, with duplicates, late arrivals, skewed clocks and strays. */
function deliver(w: World, people: Person[], strays: number): Event[] {
  const { rng } = w;
  const joins = new Map(people.map((p) => [p.id, p.join]));
  const sent: { at: number; event: Event }[] = [];
  for (const d of w.drafts.sort((a, b) => a.t - b.t)) {
    const event: Event = { event_id: d.id, type: d.type, user_id: d.user, timestamp: iso(d.t), properties: d.props };
    if (d.sid) event.session_id = d.sid;
    let at = d.t;
    const r = rng.float();
    if (r < 0.01) at += rng.range(1, 12) * HOUR;
    else if (r < 0.012 && SKEWABLE.includes(d.type) && d.t - joins.get(d.user)! > HOUR && d.t < w.end - HOUR) {
      event.timestamp = iso(d.t + (rng.chance(0.5) ? 1 : -1) * rng.range(1, 5) * MINUTE);
    }
    sent.push({ at, event });
    if (rng.chance(0.02)) {
      sent.push({
        at: at + (rng.chance(0.5) ? rng.range(0, 10_000) : rng.range(HOUR, 10 * DAY)),
        event: structuredClone(event),
      });
    }
  }
  const hosts = rng.shuffle(people.filter((p) => !p.leaves && !p.fraudOnly)).slice(0, 3);
  for (let i = 0; i < strays && hosts.length > 0; i++) {
    const p = hosts[i % hosts.length];
    const t = i % 2 === 0 ? w.start - rng.range(365, 3 * 365) * DAY : w.end + rng.range(HOUR, 365 * DAY);
    const event = { event_id: `${w.ids}stray-${i}`, type: "page_view", user_id: p.id, timestamp: iso(t) };
    sent.push({ at: rng.range(w.start, w.end), event: { ...event, properties: { page: "/", country: p.country } } });
  }
  return sent.sort((a, b) => a.at - b.at).map((s) => s.event);
}
