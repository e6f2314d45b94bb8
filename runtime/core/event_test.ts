import assert from "node:assert/strict";
import { KNOWN_TYPES, toStorable, validateEvent } from "./event.ts";

const deep = (n: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = [v];
  return v;
};
const base = { event_id: "e1", type: "page_view", user_id: "u1", timestamp: "2026-01-31T12:00:00+01:00" };

Deno.test("validateEvent() normalizes the timestamp to UTC and defaults properties", () => {
  assert.deepEqual(validateEvent(base), {
    ok: true,
    event: { event_id: "e1", type: "page_view", user_id: "u1", timestamp: "2026-01-31T11:00:00.000Z", properties: {} },
  });
});

Deno.test("validateEvent() accepts known and custom types and keeps unknown properties", () => {
  assert.equal(KNOWN_TYPES.length, 13);
  for (const type of [...KNOWN_TYPES.filter((t) => t !== "purchase"), "newsletter.signup", "a"]) {
    assert.equal(validateEvent({ ...base, type }).ok, true, type);
  }
  const v = validateEvent({ ...base, properties: { plan: "pro", price: 0 } });
  assert.deepEqual(v.ok && v.event.properties, { plan: "pro", price: 0 });
});

Deno.test("validateEvent() computes a purchase's amount from its items when absent", () => {
  const v = validateEvent({
    ...base,
    type: "purchase",
    properties: { items: [{ product_id: "p", price: 19.99, quantity: 3 }, { price: 0.1, quantity: 2 }] },
  });
  assert.equal(v.ok && v.event.properties.amount, 60.17);
});

Deno.test("validateEvent() rejects what the design forbids, saying why", () => {
  const cases: [unknown, string][] = [
    [null, "event must be a JSON object"],
    [{ ...base, event_id: "" }, "event_id: must not be empty"],
    [{ ...base, event_id: "x".repeat(129) }, "event_id: must be ≤ 128 chars"],
    [{ ...base, user_id: 7 }, "user_id: must be a string"],
    [{ ...base, type: "9lives" }, "type: must match [a-z][a-z0-9_.]{0,63}"],
    [{ ...base, timestamp: "2026-02-30T12:00:00Z" }, "timestamp: is not a valid date"],
    [{ ...base, properties: { quantity: 1.5 } }, "properties.quantity: must be an integer ≥ 1"],
    [{ ...base, properties: { price: "3" } }, "properties.price: must be a number"],
    [
      { ...base, type: "purchase", properties: { items: [{ price: 1, quantity: 0 }] } },
      "properties.items.0.quantity: must be ≥ 1",
    ],
    [{ ...base, user_id: "\ud800" }, "strings must be well-formed Unicode without NUL characters"],
    [{ ...base, event_id: "\ufeffe1" }, "strings must not contain U+FEFF (a byte order mark)"],
    [{ ...base, properties: { ["\ufeff"]: "\0" } }, "strings must be well-formed Unicode without NUL characters"],
    [{ ...base, timestamp: "0000-06-01T00:00:00Z" }, "timestamp: must be within the years 1000 to 8999 UTC"],
    // Plugins compute windows around event times: the year 9999 would put "a day later" out of ISO-8601's reach.
    [{ ...base, timestamp: "9999-12-31T23:59:59Z" }, "timestamp: must be within the years 1000 to 8999 UTC"],
    [{ ...base, timestamp: "0999-12-31T23:59:59Z" }, "timestamp: must be within the years 1000 to 8999 UTC"],
    [{ ...base, properties: { a: deep(40) } }, "event nests deeper than 32 levels"],
    [
      { ...base, type: "purchase", properties: { items: [{ price: 1e12, quantity: 10 }] } },
      "properties.items: the purchase's amount (Σ price × quantity) must be ≤ 1e12",
    ],
    // Caps that keep every sum and product a plugin makes finite.
    [{ ...base, type: "add_to_cart", properties: { price: 1e308, quantity: 2 } }, "properties.price: must be ≤ 1e12"],
    [{ ...base, properties: { quantity: 1e7 } }, "properties.quantity: must be ≤ 1e6"],
    [
      { ...base, type: "video_progress", properties: { position_s: 1, duration_s: 1e300 } },
      "properties.duration_s: must be ≤ 1e9",
    ],
  ];
  for (const [raw, error] of cases) assert.deepEqual(validateEvent(raw), { ok: false, error });
});

Deno.test("validateEvent() measures the normalized form too: what it accepts, it accepts again", () => {
  const raw = { ...base, timestamp: "2026-01-31T12:00:00Z" }; // gains ".000" when normalized
  const pad = 32 * 1024 - JSON.stringify({ ...raw, properties: { note: "" } }).length;
  const exact = { ...raw, properties: { note: "x".repeat(pad) } };
  assert.equal(JSON.stringify(exact).length, 32 * 1024);
  const v = validateEvent(exact);
  assert.deepEqual(v, { ok: false, error: "event is 32772 bytes once normalized, over the 32768 byte limit" });
  const fits = validateEvent({ ...exact, properties: { note: "x".repeat(pad - 4) } });
  assert.ok(fits.ok && validateEvent(fits.event).ok); // a canonical event validates as itself
});

Deno.test("validateEvent() rejects an event over 32 KiB serialized", () => {
  const v = validateEvent({ ...base, properties: { page: "x".repeat(32 * 1024) } });
  assert.equal(v.ok, false);
  assert.match(!v.ok ? v.error : "", /^event is \d+ bytes serialized, over the 32768 byte limit$/);
});

Deno.test("toStorable() cuts what nests too deep and replaces what Postgres cannot store", () => {
  assert.deepEqual(toStorable({ s: "a\u0000b\ud800" }), { s: "a\uFFFDb\uFFFD" });
  let v = toStorable(deep(100_000));
  let depth = 0;
  while (Array.isArray(v)) {
    v = v[0];
    depth++;
  }
  assert.equal(depth, 32);
  assert.equal(v, "[nested deeper than 32 levels]");
});

Deno.test("validateEvent() bounds what properties can hold: counts, key lengths and strings all fall under 32 KiB", () => {
  const cases: [string, Record<string, unknown>][] = [
    ["5,000 properties", Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`p${i}`, 0]))],
    ["a 40,000-character key", { ["k".repeat(40_000)]: 1 }],
    ["17,000 three-byte characters (51 KB in UTF-8)", { note: "€".repeat(17_000) }],
    ["6,000 small nested arrays", { a: Array.from({ length: 6000 }, () => [[1]]) }],
  ];
  for (const [what, properties] of cases) {
    const v = validateEvent({ ...base, properties });
    assert.equal(v.ok, false, what);
    assert.match(!v.ok ? v.error : "", /^event is \d+ bytes serialized, over the 32768 byte limit$/, what);
  }
  assert.ok(validateEvent({ ...base, properties: { note: "€".repeat(10_000) } }).ok); // 30 KB: fits
});
