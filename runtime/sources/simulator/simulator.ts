import type { Event } from "../../core/event.ts";

/** A seeded pseudo-random generator (mulberry32): the same seed gives the same traffic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A product of the simulated store. */
export interface Product {
  /** Its id, such as `p042`. */
  product_id: string;
  /** One of the store's five categories. */
  category: string;
  /** Its unit price. */
  price: number;
}

const CATEGORIES: [string, number, number][] = [
  ["electronics", 40, 900],
  ["books", 6, 45],
  ["fashion", 15, 180],
  ["home", 10, 300],
  ["sports", 12, 250],
];
const COUNTRIES: [string, number][] = [
  ["US", 30],
  ["DE", 15],
  ["GB", 12],
  ["FR", 10],
  ["IN", 10],
  ["BR", 8],
  ["JP", 8],
  ["ES", 7],
];
const DEVICES: [string, number][] = [["mobile", 55], ["desktop", 38], ["tablet", 7]];
const PAGES = ["/", "/deals", "/new", "/help", "/account", "/blog"];
const QUERIES = [
  "headphones",
  "novel",
  "running shoes",
  "lamp",
  "jacket",
  "laptop",
  "yoga mat",
  "cookbook",
  "desk",
  "watch",
];

/** What shapes the traffic. */
export interface SimulatorOptions {
  /** The seed: the same seed makes the same traffic. */
  seed: number;
  /** Size of the user base. */
  users?: number;
  /** What user ids start with (default "u"): two simulated populations can then live side by side. */
  userPrefix?: string;
  /** Sessions in progress at once (interleaved). */
  concurrency?: number;
  /** Event time of the first event; the clock then advances with the simulated sessions. */
  start?: Date;
  /** Stamp events with the wall clock instead of the simulated clock. */
  live?: boolean;
  /**
   * The share of sessions (0..1, default 0) a user starts signed out, under their device's anonymous id
   * (`anon-<user id>`): before adding to cart they log in, and the login carries the anonymous id, which links it.
   */
  anonymous?: number;
}

type Step = "start" | "browse" | "viewed" | "carted" | "checkout" | "video" | "end";

interface Session {
  user: number;
  id: string | undefined;
  at: number;
  step: Step;
  cart: { product_id: string; price: number; quantity: number }[];
  lastProduct: Product | null;
  video: { id: string; duration: number; position: number } | null;
  /** Buying intent, 0..1: scales the chance of adding to cart, checking out and buying. */
  intent: number;
  /** Where the session comes from, when not the user's usual country and device. */
  where?: { country: string; device: string };
  /** Signed out: events go under the device's anonymous id until the user logs in. */
  anonymous: boolean;
}

/**
 * Stateful shopping sessions over a user base and ~125 products: landing, browsing, search, product
 * views, carts, checkout and purchase with realistic drop-off, logins and video plays. Deterministic for
 * a seed. About 30% of sessions carry no session_id, to exercise inactivity-based sessions.
 */
export class Simulator {
  /** The store's catalogue. */
  readonly products: Product[];
  readonly #random: () => number;
  readonly #opts: Required<Omit<SimulatorOptions, "start">>;
  readonly #users: { country: string; device: string }[];
  readonly #sessions: Session[] = [];
  #seq = 0;
  #sessionSeq = 0;

  /** A simulator of `opts.users` users (2000 by default), deterministic for `opts.seed`. */
  constructor(opts: SimulatorOptions) {
    this.#opts = { users: 2000, concurrency: 40, live: false, userPrefix: "u", anonymous: 0, ...opts };
    this.#random = rng(opts.seed);
    this.products = CATEGORIES.flatMap(([category, lo, hi]) =>
      Array.from({ length: 25 }, (_, i) => ({
        product_id: `${category.slice(0, 3)}-${String(i + 1).padStart(3, "0")}`,
        category,
        price: Math.round((lo + (hi - lo) * this.#random() ** 2) * 100) / 100,
      }))
    );
    this.#users = Array.from({ length: this.#opts.users }, () => ({
      country: this.#weighted(COUNTRIES),
      device: this.#weighted(DEVICES),
    }));
    const t0 = (opts.start ?? new Date("2026-01-01T00:00:00Z")).getTime();
    for (let i = 0; i < this.#opts.concurrency; i++) this.#sessions.push(this.#newSession(t0 + i * 2000));
  }

  /** The next `n` events. */
  take(n: number): Event[] {
    return Array.from({ length: n }, () => this.next());
  }

  /** A user's country and device (their usual ones). */
  user(user: number): { user_id: string; country: string; device: string } {
    return { user_id: `${this.#opts.userPrefix}${user}`, ...this.#users[user] };
  }

  /**
   * One whole session of `user` starting at `at` (ms), apart from the interleaved stream: for histories
   * that schedule sessions themselves. `intent` (0..1) scales the chance to add to cart, check out and buy;
   * `where` overrides the user's usual country and device.
   */
  session(user: number, at: number, intent = 1, where?: { country: string; device: string }): Event[] {
    const s = this.#newSession(at, user, intent);
    s.where = where;
    const events: Event[] = [];
    while (s.step !== "end") {
      const e = this.#advance(s);
      if (e) events.push(e);
    }
    return events;
  }

  /** The next event, in event-time order of the simulated clock. */
  next(): Event {
    for (;;) {
      let s = this.#sessions[0];
      for (const x of this.#sessions) if (x.at < s.at) s = x;
      const event = this.#advance(s);
      if (s.step === "end") this.#sessions[this.#sessions.indexOf(s)] = this.#newSession(s.at + this.#gap(1, 120));
      if (event) return event;
    }
  }

  #advance(s: Session): Event | null {
    const r = this.#random();
    const at = s.at;
    s.at += this.#gap(3, 90);
    switch (s.step) {
      case "start":
        s.step = "browse";
        if (r < 0.25 && !s.anonymous) return this.#event(s, at, "login", {});
        return this.#event(s, at, "page_view", { page: this.#pick(PAGES) });
      case "browse":
        if (r < 0.12) return this.#end(s, at);
        if (r < 0.27) return this.#event(s, at, "page_view", { page: this.#pick(PAGES) });
        if (r < 0.40) return this.#event(s, at, "search", { query: this.#pick(QUERIES) });
        if (r < 0.45) {
          s.step = "video";
          s.video = {
            id: `vid-${1 + Math.floor(this.#random() * 20)}`,
            duration: 60 + Math.floor(this.#random() * 540),
            position: 0,
          };
          return this.#event(s, at, "video_play", {
            video_id: s.video.id,
            duration_s: s.video.duration,
            position_s: 0,
          });
        }
        return this.#viewProduct(s, at);
      case "viewed":
        if (r < 0.5 * s.intent && s.anonymous) {
          const anonymousId = this.#userId(s);
          s.anonymous = false;
          return this.#event(s, at, "login", { anonymous_id: anonymousId });
        }
        if (r < 0.5 * s.intent) {
          const p = s.lastProduct!;
          const quantity = this.#random() < 0.85 ? 1 : 2;
          s.cart.push({ product_id: p.product_id, price: p.price, quantity });
          s.step = "carted";
          return this.#event(s, at, "add_to_cart", {
            product_id: p.product_id,
            category: p.category,
            price: p.price,
            quantity,
          });
        }
        if (r < 0.6) return this.#end(s, at);
        s.step = "browse";
        return this.#viewProduct(s, at);
      case "carted":
        if (r < 0.45 * s.intent) {
          s.step = "checkout";
          return this.#event(s, at, "checkout", { amount: this.#cartTotal(s) });
        }
        if (r < 0.7) return this.#viewProduct(s, at);
        if (r < 0.75) {
          const item = s.cart.pop()!;
          if (s.cart.length === 0) s.step = "browse";
          return this.#event(s, at, "remove_from_cart", {
            product_id: item.product_id,
            price: item.price,
            quantity: item.quantity,
          });
        }
        return this.#end(s, at);
      case "checkout":
        if (r < 0.75 * s.intent) {
          const amount = this.#cartTotal(s);
          const items = s.cart;
          s.cart = [];
          s.step = "browse";
          return this.#event(s, at, "purchase", { amount, currency: "EUR", items });
        }
        return this.#end(s, at);
      case "video": {
        const v = s.video!;
        v.position = Math.min(v.duration, v.position + 30 + Math.floor(this.#random() * 120));
        if (v.position >= v.duration && r < 0.6) {
          s.step = "browse";
          return this.#event(s, at, "video_complete", {
            video_id: v.id,
            position_s: v.position,
            duration_s: v.duration,
          });
        }
        if (r < 0.2) return this.#end(s, at);
        return this.#event(s, at, "video_progress", { video_id: v.id, position_s: v.position, duration_s: v.duration });
      }
      case "end":
        return null;
    }
  }

  #viewProduct(s: Session, at: number): Event {
    const p = this.#pick(this.products);
    s.lastProduct = p;
    s.step = "viewed";
    return this.#event(s, at, "product_view", { product_id: p.product_id, category: p.category, price: p.price });
  }

  #end(s: Session, at: number): Event | null {
    s.step = "end";
    return this.#random() < 0.2 ? this.#event(s, at, "logout", {}) : null;
  }

  #event(s: Session, at: number, type: string, props: Record<string, unknown>): Event {
    const user = s.where ?? this.#users[s.user];
    const event: Event = {
      event_id: `sim-${this.#opts.seed}-${++this.#seq}`,
      type,
      user_id: this.#userId(s),
      timestamp: new Date(this.#opts.live ? Date.now() : at).toISOString(),
      properties: { ...props, country: user.country, device: user.device },
    };
    if (s.id) event.session_id = s.id;
    return event;
  }

  /** The id a session's events go under: the user's, or their device's while signed out. */
  #userId(s: Session): string {
    return `${s.anonymous ? "anon-" : ""}${this.#opts.userPrefix}${s.user}`;
  }

  #newSession(at: number, who?: number, intent = 1): Session {
    // A skewed user distribution: some users come back often, most rarely. Live, where a session's events come
    // seconds apart instead of minutes, users are drawn evenly, so no one buys several times a minute.
    const user = who ?? Math.floor(this.#opts.users * this.#random() ** (this.#opts.live ? 1 : 1.6));
    const id = this.#random() < 0.7 ? `s${this.#opts.seed}-${++this.#sessionSeq}` : undefined;
    // Drawn only when asked for, so that traffic without anonymous sessions stays what it was for a seed.
    const anonymous = this.#opts.anonymous > 0 && this.#random() < this.#opts.anonymous;
    return { user, id, at, step: "start", cart: [], lastProduct: null, video: null, intent, anonymous };
  }

  #cartTotal(s: Session): number {
    return Math.round(s.cart.reduce((sum, i) => sum + i.price * i.quantity, 0) * 100) / 100;
  }

  #gap(minS: number, maxS: number): number {
    return Math.round((minS + (maxS - minS) * this.#random()) * 1000);
  }

  #pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.#random() * xs.length)];
  }

  #weighted(xs: [string, number][]): string {
    const total = xs.reduce((s, [, w]) => s + w, 0);
    let r = this.#random() * total;
    for (const [x, w] of xs) if ((r -= w) < 0) return x;
    return xs[xs.length - 1][0];
  }
}
