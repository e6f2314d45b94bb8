/**
 * Random and malformed input for the fuzz test (`fuzz_test.ts`): odd strings and numbers, any JSON, mutations of a
 * valid value, malformed bodies and odd headers. Everything comes from one seeded generator, so a seed reproduces it.
 */
import { rng } from "../../runtime/sources/simulator/mod.ts";

/** A request to make, as plain data (so a failure can print it). */
export interface FuzzRequest {
  method: string;
  /** Path and query, already percent-encoded (or deliberately not). */
  url: string;
  headers: Record<string, string>;
  /** A JSON value (sent serialized), raw text, raw bytes, or nothing. */
  body: { json: unknown } | { text: string } | { bytes: Uint8Array<ArrayBuffer> } | null;
}

const ODD_STRINGS = [
  "",
  " ",
  "a",
  "x".repeat(129),
  "x".repeat(3000),
  "ü",
  "日本語テキスト",
  "😀👍🏽",
  "\u200b",
  "\u202eevil",
  "e\u0301",
  "\ud800",
  "\udc00x",
  "\0",
  "a\0b",
  "\u0001\u001f\u007f",
  "\u2028\u2029",
  "\ufeff",
  "\uffff",
  "'; drop table host.events; --",
  '" or 1=1 --',
  "$1",
  "%00",
  "%",
  "../../etc/passwd",
  "<script>alert(1)</script>",
  "null",
  "NaN",
  "-1",
  "1e309",
  "0x10",
  "2026-02-30T00:00:00Z",
  "2026-01-01T00:00:00Z",
  "2026-01-01T00:00:00",
  "0000-01-01T00:00:00Z",
  "0001-01-01T00:00:00+14:00",
  "9999-12-31T23:59:59.999999999-23:59",
  "+275760-09-13T00:00:00Z",
  "2026-01-01T24:00:00Z",
  "2026-01-01T23:59:60Z",
  "__proto__",
  "constructor",
  "toString",
  "{}",
  "[]",
  "\\",
  "\\u0000",
  "page_view",
  "purchase",
  "Page_View",
  "a".repeat(64),
  "a".repeat(65),
  "a.b.c",
  "US",
  "usa",
  "EUR",
];

const ODD_NUMBERS = [0, -0, 1, -1, 0.5, 2, 3, 1000, 1001, 128, 65_536, 1e308, -1e308, 5e-324, 2 ** 53 + 1, 1e21];

/** Event times at the edges of the accepted range, or odd in form. */
const EDGE_TIMES = [
  "0001-01-01T00:00:00Z",
  "9999-12-31T23:59:59.999Z",
  "1970-01-01T00:00:00Z",
  "2026-05-01T00:00:00+14:00",
  "2026-05-01T23:59:59.999999999-12:00",
  "2000-02-29T12:00:00Z",
  "2026-05-10T10:00Z",
];

const TYPES = ["page_view", "product_view", "search", "add_to_cart", "checkout", "purchase", "login", "video_play"];

/** Random choices from one seeded generator. */
export class Fuzz {
  readonly random: () => number;

  constructor(seed: number) {
    this.random = rng(seed);
  }

  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  /** A string: an odd one, random code points (any plane, surrogates included), or a plain word. */
  string(): string {
    const r = this.random();
    if (r < 0.5) return this.pick(ODD_STRINGS);
    if (r < 0.8) {
      return String.fromCharCode(...Array.from({ length: 1 + this.int(20) }, () => this.int(0x10000)));
    }
    return `w${this.int(1000)}`;
  }

  /** A number, odd or plain. */
  number(): number {
    return this.chance(0.6) ? this.pick(ODD_NUMBERS) : Math.round((this.random() - 0.2) * 10_000) / 100;
  }

  /** Any JSON value, nested up to `depth` levels (sometimes deeper than the 32 levels events may use). */
  value(depth = 3): unknown {
    const r = this.random();
    if (depth <= 0 || r < 0.3) return this.string();
    if (r < 0.5) return this.number();
    if (r < 0.55) return this.chance(0.5);
    if (r < 0.6) return null;
    if (r < 0.62) return nest(this.int(2) ? [] : {}, 30 + this.int(10));
    if (r < 0.8) return Array.from({ length: this.int(5) }, () => this.value(depth - 1));
    return Object.fromEntries(Array.from({ length: this.int(5) }, () => [this.string(), this.value(depth - 1)]));
  }

  /** A valid event (its id from `id`), of a random type with plausible properties. */
  event(id: string): Record<string, unknown> {
    const type = this.pick(TYPES);
    const day = 1 + this.int(28);
    const properties: Record<string, unknown> = {
      product_id: `p-${this.int(20)}`,
      category: this.pick(["books", "home", "sports"]),
      price: this.int(10_000) / 100,
      quantity: 1 + this.int(3),
      country: this.pick(["US", "DE", "FR"]),
      device: this.pick(["mobile", "desktop"]),
    };
    if (type === "purchase") properties.amount = this.int(100_000) / 100;
    if (type === "search") properties.query = this.pick(["lamp", "novel"]);
    const event: Record<string, unknown> = {
      event_id: id,
      type,
      user_id: `fz${this.int(50)}`,
      timestamp: `2026-05-${String(day).padStart(2, "0")}T${String(this.int(24)).padStart(2, "0")}:${
        String(this.int(60)).padStart(2, "0")
      }:00Z`,
      properties,
    };
    if (this.chance(0.5)) event.session_id = `s${this.int(100)}`;
    return event;
  }

  /** A valid event at the edges of what ingest accepts: extreme times, sizes, numbers and names. */
  edgeEvent(id: string): Record<string, unknown> {
    const e = this.event(id);
    const p = e.properties as Record<string, unknown>;
    const edits = [
      () => e.timestamp = this.pick(EDGE_TIMES),
      () => e.user_id = this.pick(["u".repeat(128), "😀", "'; drop table users; --", " fz1", "FZ1", "\u202e", "a:b"]),
      () => e.session_id = this.pick(["s".repeat(128), "😀", "a:b", "s:x", "%"]),
      () => e.type = this.pick(["a".repeat(64), "x.y", "purchase", "video_complete", "checkout", "z9_"]),
      () => Object.assign(p, { price: 1e12, quantity: 1e6 }),
      () => Object.assign(p, { price: 0, amount: 0 }),
      () => p.amount = this.pick([1e12, 0, 5e-324, 0.005, 0.015, 2 ** 53]),
      () =>
        p.items = Array.from({ length: 1 + this.int(300) }, (_, k) => ({
          product_id: `p-${k % 25}`,
          price: this.pick([0, 0.01, 1e9]),
          quantity: 1 + this.int(1000),
        })),
      () =>
        Object.assign(p, { video_id: "v", position_s: this.pick([0, 1e9, 10]), duration_s: this.pick([0, 1e9, 5]) }),
      () =>
        Object.assign(p, {
          country: "ZZ",
          currency: "XXX",
          device: "d".repeat(64),
          page: "/".repeat(2048),
          query: "q".repeat(1024),
          category: "c".repeat(128),
          product_id: "p".repeat(128),
        }),
      () => {
        for (let k = 0; k < 200; k++) p[`k${k}`] = k;
      },
      () => delete e.properties,
    ];
    for (let n = 1 + this.int(3); n > 0; n--) this.pick(edits)();
    return e;
  }

  /** `value` with a few random changes: a field replaced, removed or added, a wrap, a retype. */
  mutate(value: unknown, changes = 1 + this.int(3)): unknown {
    let v = structuredClone(value);
    for (let i = 0; i < changes; i++) v = this.#mutateOnce(v);
    return v;
  }

  #mutateOnce(v: unknown): unknown {
    if (v === null || typeof v !== "object" || this.chance(0.1)) {
      const r = this.random();
      if (r < 0.6) return this.value(2);
      if (r < 0.8) return [v];
      return { value: v };
    }
    const keys = Object.keys(v);
    const obj = v as Record<string, unknown>;
    const r = this.random();
    if (keys.length === 0 || r < 0.15) {
      obj[this.chance(0.5) ? this.string() : this.pick(["properties", "items", "amount", "where", "params"])] = this
        .value(2);
    } else if (r < 0.3) delete obj[this.pick(keys)];
    else if (r < 0.7) {
      const k = this.pick(keys);
      obj[k] = this.chance(0.3) ? this.#mutateOnce(obj[k]) : this.value(2);
    } else {
      const k = this.pick(keys);
      obj[k] = this.#mutateOnce(obj[k]);
    }
    return v;
  }
}

/** `inner` nested `levels` deep in arrays or objects. */
function nest(inner: unknown, levels: number): unknown {
  let v = inner;
  for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { n: v };
  return v;
}

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/octet-stream",
  "a/b;;;=",
  "",
];

/** Not JSON, or JSON of a shape no handler wants, as text. */
const MALFORMED = [
  "",
  " ",
  "{",
  "{not json",
  "[1,2,",
  "{'event_id': 'x'}",
  '{"event_id": "x",}',
  "NaN",
  "undefined",
  "\ufeff{}",
  "// comment\n{}",
  '{"a": 1e400}',
  '{"a": -1e400, "b": 123456789012345678901234567890}',
  '{"a": "\\ud800"}',
  '{"a\\u0000": "\\u0000"}',
  '"\\u0000"',
  "\u0000",
  "null",
  "true",
  "0",
  '"text"',
  "[]",
  "{}",
  '{"events": null}',
  '{"events": "x"}',
  '{"events": {"0": 1}}',
  '{"__proto__": {"events": [1]}}',
  "[".repeat(5000) + "]".repeat(5000),
  "[".repeat(5000),
  '{"a":'.repeat(3000) + "1" + "}".repeat(3000),
];

/** A body for a route that takes one, derived from `seed` (a valid body for it) or from nothing at all. */
export function fuzzBody(f: Fuzz, seed: unknown): NonNullable<FuzzRequest["body"]> {
  const r = f.random();
  if (r < 0.2 && seed !== undefined) return { json: seed };
  if (r < 0.65 && seed !== undefined) return { json: f.mutate(seed) };
  if (r < 0.8) return { json: f.value(3) };
  if (r < 0.95) return { text: f.pick(MALFORMED) };
  // Invalid UTF-8, overlong forms and stray continuation bytes.
  return { bytes: new Uint8Array(Array.from({ length: 1 + f.int(40) }, () => f.pick([0xc0, 0xff, 0x80, 0xed, 0x7b]))) };
}

/** Request headers: a content type (or none), sometimes odd extras. */
export function fuzzHeaders(f: Fuzz): Record<string, string> {
  const headers: Record<string, string> = {};
  const type = f.pick(CONTENT_TYPES);
  if (type) headers["content-type"] = type;
  if (f.chance(0.1)) headers["accept"] = f.pick(["*/*", "text/event-stream", "application/xml"]);
  if (f.chance(0.05)) headers["content-length"] = f.pick(["abc", "-1", "99999999999", "0"]);
  if (f.chance(0.05)) headers["authorization"] = f.pick(["Bearer ", "Bearer x", "Basic Zm9vOmJhcg==", "x".repeat(500)]);
  return headers;
}
