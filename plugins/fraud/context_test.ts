import assert from "node:assert/strict";
import type { Event } from "@runtime/sdk";
import { pluginDatabase } from "@runtime/testing";
import plugin from "./mod.ts";

Deno.test("a purchase is judged against first sightings to the millisecond", async () => {
  await using db = await pluginDatabase(new URL("./", import.meta.url));
  const event = (
    id: string,
    type: string,
    timestamp: string,
    properties: Event["properties"],
    user_id = "u1",
  ): Event => ({ event_id: id, type, user_id, timestamp, properties });
  // The account is 300 ms short of 3 days old at the purchase, from a new country and device: not yet
  // established, so new_country_device does not fire (it would with the first sighting cut to the second).
  const batches = [
    [event("e1", "page_view", "2026-03-01T00:00:00.600Z", { country: "DE", device: "mobile" })],
    [event("e2", "purchase", "2026-03-04T00:00:00.300Z", { amount: 20, country: "FR", device: "tablet" })],
    // The control: the same story 300 ms later is an established account, and the rule fires.
    [event("e3", "page_view", "2026-03-01T00:00:00.600Z", { country: "DE", device: "mobile" }, "u2")],
    [event("e4", "purchase", "2026-03-04T00:00:00.900Z", { amount: 20, country: "FR", device: "tablet" }, "u2")],
  ];
  for (const batch of batches) {
    await db.exec("begin");
    await plugin.queue!(batch, db.env);
    await db.exec("commit");
  }
  const [p] = await db.query<{ score: number; reasons: string[] }>(
    "select score, reasons from fraud.purchases where event_id = 'e2'",
  );
  assert.deepEqual(p, { score: 0, reasons: [] });
  const [control] = await db.query<{ score: number; reasons: string[] }>(
    "select score, reasons from fraud.purchases where event_id = 'e4'",
  );
  assert.ok(control.score > 0, JSON.stringify(control));
  const fired = /^new_country_device: a country and a device first seen in the last \d+ h on an account 3 days old$/;
  assert.ok(control.reasons.some((r) => fired.test(r)), JSON.stringify(control));
});

Deno.test("a young store's outsized first order is judged against the others, not against itself", async () => {
  await using db = await pluginDatabase(new URL("./", import.meta.url));
  const order = (i: number, amount: number): Event => ({
    event_id: `o${i}`,
    type: "purchase",
    user_id: `buyer-${i}`,
    timestamp: `2026-03-01T10:0${i}:00Z`,
    properties: { amount },
  });
  // Seven orders of 20, then one of 500 (each batch on its own: the 500 is stored when it is judged).
  for (const batch of [[0, 1, 2, 3, 4, 5, 6].map((i) => order(i, 20)), [order(7, 500)]]) {
    await db.exec("begin");
    await plugin.queue!(batch, db.env);
    await db.exec("commit");
  }
  const [big] = await db.query<{ score: number; flagged: boolean; reasons: string[] }>(
    "select score, flagged, reasons from fraud.purchases where event_id = 'o7'",
  );
  assert.equal(big.flagged, true, JSON.stringify(big));
  // Seven orders are too few for the store's percentiles (min_samples 10), not for its median. The median is read from
  // 5%-wide log buckets: 20 lies in the bucket [1.05^62 − 1, 1.05^63 − 1), whose upper edge is 20.62.
  assert.deepEqual(big.reasons, [
    "new_account_outlier: first purchase of 500.00, 24.2× the store's median 20.62, on an account first seen 0 min ago",
  ]);
  const [small] = await db.query<{ score: number }>("select score from fraud.purchases where event_id = 'o6'");
  assert.equal(Number(small.score), 0);
});

Deno.test("a grown store's outsized order is judged against its percentiles without itself", async () => {
  await using db = await pluginDatabase(new URL("./", import.meta.url));
  const order = (i: number, amount: number, user = `buyer-${i}`): Event => ({
    event_id: `o${i}`,
    type: "purchase",
    user_id: user,
    timestamp: new Date(Date.parse("2026-03-01T10:00:00Z") + i * 60_000).toISOString(),
    properties: { amount },
  });
  // Twelve orders of 20 from accounts seen for weeks; then one of them orders 500.
  await db.exec("begin");
  await plugin.queue!(
    Array.from(
      { length: 12 },
      (_, i) => ({ ...order(100 + i, 1), type: "page_view", timestamp: "2026-02-01T00:00:00Z" }),
    ),
    db.env,
  );
  await db.exec("commit");
  for (
    const batch of [Array.from({ length: 12 }, (_, i) => order(i, 20, `buyer-${100 + i}`)), [
      order(12, 500, "buyer-100"),
    ]]
  ) {
    await db.exec("begin");
    await plugin.queue!(batch, db.env);
    await db.exec("commit");
  }
  const [big] = await db.query<{ flagged: boolean; reasons: string[] }>(
    "select flagged, reasons from fraud.purchases where event_id = 'o12'",
  );
  assert.equal(big.flagged, true, JSON.stringify(big));
  assert.ok(big.reasons.some((r) => r.startsWith("amount_far_above_store: amount 500.00")), JSON.stringify(big));
});
