import assert from "node:assert/strict";
import { testPlugin } from "@runtime/testing";

/** A Shopify `orders/create` webhook body, trimmed to what matters (the fields as Shopify names and types them). */
const order = (id: number, fields: Record<string, unknown> = {}) => ({
  id,
  created_at: "2026-03-01T10:00:00-05:00",
  currency: "EUR",
  total_price: "64.90",
  test: false,
  customer: { id: 7001, email: "ada@example.com" },
  billing_address: { country_code: "DE" },
  line_items: [
    { sku: "MUG-1", product_id: 11, price: "12.45", quantity: 2, title: "Mug" },
    { sku: null, product_id: 12, price: "40.00", quantity: 1, title: "Teapot" },
  ],
  ...fields,
});

Deno.test("shop_orders maps Shopify orders to purchases, drops test orders and refuses the rest", async () => {
  await using p = await testPlugin(new URL("./", import.meta.url));
  const answer = await p.source([
    order(1),
    order(2, { test: true }),
    order(3, { customer: null }),
    { hello: "world" },
    order(4, { currency: "USD" }), // no rate for USD is configured: refused at validation, after the transform
    order(1), // Shopify retries a webhook: acknowledged again, stored once
  ]);
  assert.deepEqual(answer.body, {
    accepted: 2,
    dropped: 1,
    rejected: [
      { index: 2, error: "transform shop_orders: a guest order has no customer id to count it under" },
      { index: 3, error: "transform shop_orders: not a Shopify order: id: Invalid input" },
      { index: 4, error: "properties.currency: no rate for USD into EUR (CURRENCY_RATES has none)" },
    ],
  });
  const logged = await p.runtime.store.query<{ body: Record<string, unknown> }>(
    "select body from host.events where type = 'purchase'",
  );
  assert.equal(logged.length, 1);
  assert.deepEqual(logged[0].body, {
    event_id: "shopify-order-1",
    type: "purchase",
    user_id: "shopify-7001",
    timestamp: "2026-03-01T15:00:00.000Z",
    properties: {
      order_id: "1",
      amount: 64.9,
      currency: "EUR",
      country: "DE",
      items: [{ product_id: "MUG-1", price: 12.45, quantity: 2 }, { product_id: "12", price: 40, quantity: 1 }],
    },
  });
  const letters = await p.deadLetters("transform");
  assert.deepEqual(letters.map((l: { reason: string }) => l.reason).sort(), [
    "a guest order has no customer id to count it under",
    "not a Shopify order: id: Invalid input",
  ]);
});
