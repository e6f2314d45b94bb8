import assert from "node:assert/strict";
import { assertFilled, type Json, routeChecker, testEachBackend, testPlugin } from "@runtime/testing";
import plugin from "./mod.ts";

const HOUR = 3_600_000;
const T0 = Date.parse("2026-04-01T00:00:00Z");
const purchase = (id: string, user: string, t: number, amount: number) => ({
  event_id: id,
  type: "purchase",
  user_id: user,
  timestamp: new Date(t).toISOString(),
  properties: { amount, country: "DE", device: "mobile" },
});

/**
 * 60 users with three purchases each, interleaved in time; a quarter of the users make one purchase of 9.00 that
 * an analyst labels fraud, which no rule catches and a tree learns at once. Then a burst the velocity rule alerts.
 */
function purchasesAndLabels() {
  const purchases = [];
  const labels = [];
  for (let k = 0; k < 3; k++) {
    for (let i = 0; i < 60; i++) {
      const fraud = i % 4 === 0 && k === (i / 4) % 3;
      const id = `p${i}-${k}`;
      purchases.push(purchase(id, `u${i}`, T0 + (k * 60 + i) * HOUR, fraud ? 9 : 30 + (i * 7 + k * 13) % 50));
      labels.push({ event_id: id, fraud });
    }
  }
  const burst = [0, 1, 2, 3, 4].map((s) => purchase(`b${s}`, "burst", T0 + 200 * HOUR + s * 5000, 50));
  return { events: [...purchases, ...burst], labels };
}

// On both backends: what the database drivers make of numeric, jsonb and timestamptz is part of the answer.
testEachBackend(
  "fraud: every route answers what its described response schema says, field by field",
  async (backend) => {
    await using h = await testPlugin(new URL("./", import.meta.url), { backend });
    const routes = routeChecker(plugin, h.runtime.app);
    const { events, labels } = purchasesAndLabels();
    assert.equal((await h.send(events)).body.accepted, events.length);

    const alerts = await routes.call("GET /alerts", "/alerts?limit=10");
    assert.deepEqual(alerts.alerts.map((a: Json) => a.event_id).sort(), ["b3", "b4"]);
    assertFilled(alerts, "alerts");
    const since = alerts.alerts[1].created_at;
    const mine = await routes.call("GET /alerts", `/alerts?since=${since}&user_id=burst`);
    assert.ok(mine.alerts.length >= 1);
    assert.deepEqual((await routes.call("GET /alerts", `/alerts?since=${since}&user_id=nobody`)).alerts, []);
    assertFilled(await routes.call("GET /rules", "/rules"), "rules");

    // A rule made, edited, then deleted: the history holds each definition, and null for the deletion.
    const big = { kind: "amount_vs_store", params: { percentile: 0.99, multiple: 3 }, points: 40 };
    assertFilled(await routes.call("PUT /rules/:rule_id", "/rules/big_spender", big), "saved");
    const edited = await routes.call("PUT /rules/:rule_id", "/rules/big_spender", { ...big, enabled: false });
    assert.deepEqual([edited.version, edited.enabled], [2, false]);
    await routes.call("DELETE /rules/:rule_id", "/rules/big_spender");
    const history = await routes.call("GET /rules/history", "/rules/history");
    assert.deepEqual(history.changes.slice(0, 3).map((c: Json) => [c.version, c.definition?.enabled ?? null]), [
      [3, null],
      [2, false],
      [1, true],
    ]);
    assertFilled(history, "history", ["history.changes[].definition"]);
    assertFilled(await routes.call("PUT /threshold", "/threshold", { threshold: 60 }), "threshold");

    const labelled = await routes.call("POST /labels", "/labels", {
      labels: [...labels, { event_id: "nope", fraud: true }],
    });
    assert.deepEqual(labelled, { labelled: labels.length, unknown: ["nope"] });
    // Trained twice: the first model is enabled (the rules miss every 9.00), so the second is compared with it.
    const first = await routes.call("POST /model/train", "/model/train");
    assert.equal(first.enabled, true, first.metrics.decision);
    const second = await routes.call("POST /model/train", "/model/train");
    assertFilled(second, "train");
    assertFilled(await routes.call("GET /model", "/model"), "model", ["model.models[].metrics.enabled_model"]);

    const candidate = {
      user_id: "u1",
      timestamp: new Date(T0 + 300 * HOUR).toISOString(),
      properties: { amount: 9 },
    };
    const scored = await routes.call("POST /score", "/score", candidate);
    assert.equal(scored.flagged, true, JSON.stringify(scored));
    assertFilled(scored, "score");
    routes.assertCovered();
  },
);
