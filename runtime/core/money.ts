/**
 * Money in one currency: every amount and price of an event is converted at ingest to the base currency
 * (`BASE_CURRENCY`, EUR by default) with the configured rates (`CURRENCY_RATES`), so that no figure a plugin computes
 * ever adds two currencies. The event keeps what was sent: `original_currency`, `original_amount` (and
 * `original_price`) and the `fx_rate` used. An event in a currency without a rate is refused, with that reason.
 * @module
 */
import { type Event, type EventItem, type EventProperties, MAX_MONEY } from "./event.ts";

/** The base currency and the rates into it: one unit of each currency is worth `rates[currency]` base units. */
export interface Money {
  base: string;
  rates: Readonly<Record<string, number>>;
}

/** Amounts in the base currency, to 6 decimals: a product of two decimals, without float noise. */
const converted = (x: number, rate: number) => Math.round(x * rate * 1e6) / 1e6;

/**
 * `event` with its money in the base currency, or why it cannot be. An event without a currency, or in the base one,
 * is as it was (its currency set to the base when it has money in it).
 */
export function inBaseCurrency(event: Event, money: Money): { ok: true; event: Event } | { ok: false; error: string } {
  const p = event.properties;
  const hasMoney = p.amount !== undefined || p.price !== undefined || (p.items?.length ?? 0) > 0;
  const currency = p.currency;
  if (currency === undefined || currency === money.base) {
    if (!hasMoney || currency !== undefined) return { ok: true, event };
    return { ok: true, event: { ...event, properties: { ...p, currency: money.base } } };
  }
  const rate = money.rates[currency];
  if (rate === undefined) {
    const known = Object.keys(money.rates);
    return {
      ok: false,
      error: `properties.currency: no rate for ${currency} into ${money.base} ` +
        `(CURRENCY_RATES has ${known.length ? known.join(", ") : "none"})`,
    };
  }
  const out: EventProperties = { ...p, currency: money.base, original_currency: currency, fx_rate: rate };
  if (p.amount !== undefined) Object.assign(out, { amount: converted(p.amount, rate), original_amount: p.amount });
  if (p.price !== undefined) Object.assign(out, { price: converted(p.price, rate), original_price: p.price });
  if (p.items) {
    out.items = p.items.map((i): EventItem => ({ ...i, price: converted(i.price, rate), original_price: i.price }));
  }
  const largest = Math.max(out.amount ?? 0, out.price ?? 0, ...(out.items ?? []).map((i) => i.price));
  if (largest > MAX_MONEY) {
    return { ok: false, error: `properties: ${largest} ${money.base} once converted, over the limit of 1e12` };
  }
  return { ok: true, event: { ...event, properties: out } };
}

/**
 * Parses `CURRENCY_RATES`: `USD=0.92,GBP=1.17` (one unit of each is worth so many of the base currency). Throws an
 * error saying what was expected for anything else.
 */
export function parseRates(text: string, base: string): Record<string, number> {
  const rates: Record<string, number> = {};
  for (const part of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const m = /^([A-Z]{3})\s*=\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)$/.exec(part);
    const rate = m ? Number(m[2]) : NaN;
    if (!m || !(rate > 0) || !Number.isFinite(rate)) {
      throw new Error(`must be a comma list of CODE=rate with positive rates, like USD=0.92,GBP=1.17; got '${part}'`);
    }
    if (m[1] === base) throw new Error(`names the base currency ${base}, whose rate is 1`);
    rates[m[1]] = rate;
  }
  return rates;
}
