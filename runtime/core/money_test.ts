import assert from "node:assert/strict";
import type { Event } from "./event.ts";
import { inBaseCurrency, parseRates } from "./money.ts";

const money = { base: "EUR", rates: { USD: 0.9, JPY: 0.0062 } };
const purchase = (properties: Event["properties"]): Event => ({
  event_id: "e1",
  type: "purchase",
  user_id: "u1",
  timestamp: "2026-03-01T10:00:00.000Z",
  properties,
});

Deno.test("inBaseCurrency() converts amount, price and item prices, keeping what was sent and the rate", () => {
  const v = inBaseCurrency(
    purchase({ amount: 40, price: 20, currency: "USD", items: [{ product_id: "p1", price: 20, quantity: 2 }] }),
    money,
  );
  assert.deepEqual(v, {
    ok: true,
    event: purchase({
      amount: 36,
      price: 18,
      currency: "EUR",
      original_currency: "USD",
      fx_rate: 0.9,
      original_amount: 40,
      original_price: 20,
      items: [{ product_id: "p1", price: 18, quantity: 2, original_price: 20 }],
    }),
  });
  // Products of decimals come out without float noise: 19.99 × 0.0062 = 0.123938.
  const yen = inBaseCurrency(purchase({ amount: 19.99, currency: "JPY" }), money);
  assert.equal(yen.ok && yen.event.properties.amount, 0.123938);
});

Deno.test("inBaseCurrency() leaves the base currency and money without a currency as they are, naming the base", () => {
  const eur = purchase({ amount: 40, currency: "EUR" });
  assert.deepEqual(inBaseCurrency(eur, money), { ok: true, event: eur });
  assert.deepEqual(inBaseCurrency(purchase({ amount: 40 }), money), {
    ok: true,
    event: purchase({ amount: 40, currency: "EUR" }),
  });
  const view = { ...purchase({}), type: "page_view" };
  assert.deepEqual(inBaseCurrency(view, money), { ok: true, event: view }); // no money: no currency added
});

Deno.test("inBaseCurrency() refuses a currency without a rate, and an amount past the limit once converted", () => {
  assert.deepEqual(inBaseCurrency(purchase({ amount: 40, currency: "GBP" }), money), {
    ok: false,
    error: "properties.currency: no rate for GBP into EUR (CURRENCY_RATES has USD, JPY)",
  });
  assert.deepEqual(inBaseCurrency(purchase({ amount: 40, currency: "GBP" }), { base: "EUR", rates: {} }), {
    ok: false,
    error: "properties.currency: no rate for GBP into EUR (CURRENCY_RATES has none)",
  });
  const rich = inBaseCurrency(purchase({ amount: 9e11, currency: "XAU" }), { base: "EUR", rates: { XAU: 2000 } });
  assert.deepEqual(rich, {
    ok: false,
    error: "properties: 1800000000000000 EUR once converted, over the limit of 1e12",
  });
});

Deno.test("parseRates() reads CODE=rate lists and says what it expected otherwise", () => {
  assert.deepEqual(parseRates("USD=0.92, GBP = 1.17,JPY=6.2e-3", "EUR"), { USD: 0.92, GBP: 1.17, JPY: 0.0062 });
  assert.deepEqual(parseRates("", "EUR"), {});
  for (const bad of ["USD", "USD=0", "usd=1", "USD=-1", "USD=abc"]) {
    assert.throws(() => parseRates(bad, "EUR"), /^Error: must be a comma list of CODE=rate/, bad);
  }
  assert.throws(() => parseRates("EUR=1", "EUR"), new Error("names the base currency EUR, whose rate is 1"));
});
