import assert from "node:assert/strict";
import { validateEvent } from "../../core/event.ts";
import { drive } from "./drive.ts";
import { FRAUD_PATTERNS, simulateHistory } from "./history.ts";
import { Simulator } from "./simulator.ts";

Deno.test("Simulator is deterministic for a seed", () => {
  const a = new Simulator({ seed: 42 }).take(500);
  const b = new Simulator({ seed: 42 }).take(500);
  const c = new Simulator({ seed: 43 }).take(500);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

Deno.test("Simulator events are valid, unique, in event-time order, over ~125 products in 5 categories", () => {
  const sim = new Simulator({ seed: 1 });
  const events = sim.take(20_000);
  for (const e of events) assert.deepEqual(validateEvent(e), { ok: true, event: e });
  assert.equal(new Set(events.map((e) => e.event_id)).size, events.length);
  for (let i = 1; i < events.length; i++) assert.ok(events[i - 1].timestamp <= events[i].timestamp);
  assert.equal(sim.products.length, 125);
  assert.equal(new Set(sim.products.map((p) => p.category)).size, 5);
  const types = new Set(events.map((e) => e.type));
  for (
    const t of ["page_view", "search", "login", "video_play", "product_view", "add_to_cart", "checkout", "purchase"]
  ) {
    assert.ok(types.has(t), t);
  }
});

Deno.test("Simulator drop-off looks like a real store: ~60% views, ~30% carts, ~10% purchases of commerce events", () => {
  const events = new Simulator({ seed: 3 }).take(50_000);
  const count = (t: string) => events.filter((e) => e.type === t).length;
  const [views, carts, purchases] = [count("product_view"), count("add_to_cart"), count("purchase")];
  const total = views + carts + purchases;
  assert.ok(Math.abs(views / total - 0.6) < 0.06, `views ${(views / total).toFixed(3)}`);
  assert.ok(Math.abs(carts / total - 0.3) < 0.06, `carts ${(carts / total).toFixed(3)}`);
  assert.ok(Math.abs(purchases / total - 0.1) < 0.04, `purchases ${(purchases / total).toFixed(3)}`);
  for (const p of events.filter((e) => e.type === "purchase")) {
    const items = p.properties.items!;
    const total = Math.round(items.reduce((s, i) => s + i.price * i.quantity, 0) * 100) / 100;
    assert.equal(p.properties.amount, total);
  }
  const withoutSession = events.filter((e) => e.session_id === undefined).length / events.length;
  assert.ok(withoutSession > 0.15 && withoutSession < 0.45, `without session_id: ${withoutSession}`);
});

Deno.test("drive() produces at its rate, holds back while paused, and stops at its count", async () => {
  const batches: number[] = [];
  let paused = true;
  const done = drive(new Simulator({ seed: 9 }), {
    rate: 1000,
    count: 300,
    sink: (events) => {
      batches.push(events.length);
      return Promise.resolve();
    },
    paused: () => paused,
  });
  await new Promise((r) => setTimeout(r, 350));
  assert.deepEqual(batches, []); // back-pressure: nothing while paused
  paused = false;
  assert.equal(await done, 300);
  assert.equal(batches.reduce((a, b) => a + b, 0), 300);
});

Deno.test("simulateHistory() writes weeks of valid events and keeps its ground truth beside them", () => {
  const opts = { seed: 5, users: 200, start: new Date("2026-01-01T00:00:00Z"), days: 60 };
  const { events, labels } = simulateHistory(opts);
  assert.deepEqual(simulateHistory(opts), { events, labels }); // deterministic
  for (const e of events) assert.deepEqual(validateEvent(e), { ok: true, event: e });
  assert.equal(new Set(events.map((e) => e.event_id)).size, events.length);
  for (let i = 1; i < events.length; i++) assert.ok(events[i - 1].timestamp <= events[i].timestamp);
  assert.ok(Date.parse(events.at(-1)!.timestamp) - Date.parse(events[0].timestamp) > 50 * 86_400_000);
  // Churners never come back after their last visit (an injected fraud on their account may come later).
  const churned = Object.entries(labels.churned);
  assert.ok(churned.length > 20, `${churned.length} churners`);
  for (const [user, last] of churned) {
    assert.ok(events.every((e) => e.user_id !== user || e.timestamp <= last || e.event_id in labels.fraudEvents));
  }
  // Every pattern is injected; the labels name purchases that exist; no label travels inside an event.
  assert.deepEqual(new Set(Object.values(labels.fraudUsers)), new Set(FRAUD_PATTERNS));
  const byId = new Map(events.map((e) => [e.event_id, e]));
  for (const [id, pattern] of Object.entries(labels.fraudEvents)) {
    const e = byId.get(id)!;
    assert.equal(e.type, "purchase");
    assert.equal(labels.fraudUsers[e.user_id], pattern);
    if (pattern === "card_testing") assert.ok(e.properties.amount! <= 3);
    if (pattern === "amount_outlier") assert.ok(e.properties.amount! >= 4000);
  }
  assert.ok(events.every((e) => !JSON.stringify(e).includes('fraud"') && !("label" in e.properties)));
});

Deno.test("Simulator with anonymous sessions: a signed-out user browses as their device, then logs in with its id", () => {
  const events = new Simulator({ seed: 5, anonymous: 0.5 }).take(5000);
  const logins = events.filter((e) => e.type === "login" && e.properties.anonymous_id !== undefined);
  assert.ok(logins.length > 50, `${logins.length} linking logins`);
  for (const login of logins) assert.equal(login.properties.anonymous_id, `anon-${login.user_id}`);
  const anonymous = events.filter((e) => e.user_id.startsWith("anon-"));
  assert.ok(anonymous.length > 500 && anonymous.length < 2500, `${anonymous.length} anonymous events`);
  // No signed-out user carts: they log in first.
  assert.equal(anonymous.filter((e) => e.type === "add_to_cart").length, 0);
  assert.deepEqual(new Simulator({ seed: 5 }).take(100), new Simulator({ seed: 5, anonymous: 0 }).take(100));
});
