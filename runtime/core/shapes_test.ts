import assert from "node:assert/strict";
import { validateEvent } from "./event.ts";
import { countryCode, fromFlatShape, timeOf } from "./shapes.ts";

Deno.test("fromFlatShape() maps a pipeline's flat purchase to our event, and validation takes it", () => {
  const flat = {
    event_id: "evt-001",
    event_type: "purchase",
    user_id: 1042,
    session_id: "sess-9",
    event_timestamp: "2026-03-01 10:15:30",
    product_id: 77,
    product_category: "electronics",
    product_price: 19.99,
    quantity: null,
    total: 19.99,
    currency: "usd",
    device_type: "mobile",
    country: "Nigeria",
    payment_method: "card",
    search_query: null,
  };
  const candidate = fromFlatShape(flat);
  assert.deepEqual(candidate, {
    event_id: "evt-001",
    type: "purchase",
    user_id: "1042",
    session_id: "sess-9",
    timestamp: "2026-03-01T10:15:30Z",
    properties: {
      product_id: "77",
      category: "electronics",
      price: 19.99,
      quantity: 1,
      amount: 19.99,
      currency: "USD",
      device: "mobile",
      country: "NG",
      payment_method: "card",
    },
  });
  const v = validateEvent(candidate);
  assert.ok(v.ok, JSON.stringify(v));
  assert.equal(v.event.timestamp, "2026-03-01T10:15:30.000Z");
});

Deno.test("fromFlatShape() computes a purchase's amount from price × quantity, and items' null quantities as 1", () => {
  assert.deepEqual(
    (fromFlatShape({
      event_id: "e1",
      event_type: "Order Completed",
      user_id: "u",
      timestamp: 1772360130,
      product_price: 12.5,
      quantity: 3,
    }) as { properties: unknown }).properties,
    { price: 12.5, quantity: 3, amount: 37.5 },
  );
  const withItems = fromFlatShape({
    event_id: "e2",
    event_type: "transaction",
    user_id: "u",
    ts: "2026-03-01T10:00:00+01:00",
    products: [{ product_id: 1, product_price: 10, quantity: null }, { product_id: "p2", price: 2.5, qty: 2 }],
  });
  assert.deepEqual(withItems, {
    event_id: "e2",
    type: "purchase",
    user_id: "u",
    timestamp: "2026-03-01T10:00:00+01:00",
    properties: { items: [{ product_id: "1", price: 10, quantity: 1 }, { product_id: "p2", price: 2.5, quantity: 2 }] },
  });
  const v = validateEvent(withItems);
  assert.ok(v.ok && v.event.properties.amount === 15, JSON.stringify(v)); // Σ price × quantity, by validation
});

Deno.test("fromFlatShape() leaves our own events and what it cannot read alone", () => {
  const ours = { event_id: "e", type: "page_view", user_id: "u", timestamp: "2026-03-01 10:00", properties: {} };
  assert.equal(fromFlatShape(ours), ours); // ours stays strict: a time without its zone is still refused
  assert.equal(fromFlatShape("text"), "text");
  assert.equal(fromFlatShape(null), null);
  const noType = { event_id: "e", user_id: "u" };
  assert.equal(fromFlatShape(noType), noType);
  const bad = fromFlatShape({ event_id: "e", event_type: "page_view", user_id: "u", event_timestamp: "yesterday" });
  assert.deepEqual(validateEvent(bad), {
    ok: false,
    error: "timestamp: must be ISO-8601 with a UTC offset, like 2026-01-31T12:00:00Z",
  });
});

Deno.test("timeOf() reads times without a zone as UTC, dates as midnight, epoch seconds and milliseconds", () => {
  assert.equal(timeOf("2026-03-01 10:15"), "2026-03-01T10:15:00Z");
  assert.equal(timeOf("2026-03-01T10:15:30.123"), "2026-03-01T10:15:30.123Z");
  assert.equal(timeOf("2026-03-01"), "2026-03-01T00:00:00Z");
  assert.equal(timeOf("2026-03-01 10:15:30+02:00"), "2026-03-01T10:15:30+02:00");
  assert.equal(timeOf(1772360130), "2026-03-01T10:15:30.000Z");
  assert.equal(timeOf(1772360130123), "2026-03-01T10:15:30.123Z");
  assert.equal(timeOf("yesterday"), "yesterday");
});

Deno.test("countryCode() knows codes in any case, English names without accents or articles, and common others", () => {
  const cases: [string, string | null][] = [
    ["Nigeria", "NG"],
    ["nigeria", "NG"],
    ["Germany", "DE"], // not DD, the old code CLDR also names Germany
    ["Myanmar (Burma)", "MM"],
    ["Russia", "RU"],
    ["de", "DE"],
    ["United States", "US"],
    ["USA", "US"],
    ["United Kingdom", "GB"],
    ["UK", "GB"],
    ["The Netherlands", "NL"],
    ["Côte d’Ivoire", "CI"],
    ["Cote d'Ivoire", "CI"],
    ["Ivory Coast", "CI"],
    ["South Korea", "KR"],
    ["Türkiye", "TR"],
    ["Turkey", "TR"],
    ["Atlantis", null],
    ["European Union", null],
  ];
  assert.deepEqual(cases.map(([name]) => [name, countryCode(name)]), cases);
});
