import assert from "node:assert/strict";
import { type Json, testEachBackend, testPlugin } from "@runtime/testing";

const at = (minute: number) => new Date(Date.parse("2026-04-01T10:00:00Z") + minute * 60_000).toISOString();
const purchase = (
  id: string,
  user: string,
  minute: number,
  amount: number,
  where = { country: "DE", device: "mobile" },
) => ({
  event_id: id,
  type: "purchase",
  user_id: user,
  timestamp: at(minute),
  properties: { amount, ...where },
});

testEachBackend(
  "fraud rules are data: edited at run time, versioned, and only firing rules make alerts",
  async (backend) => {
    await using h = await testPlugin(new URL("./", import.meta.url), { backend });
    // A calm user: four ordinary purchases. Never alerted.
    const calm = [1, 2, 3, 4].map((k) => purchase(`c${k}`, "calm", k * 1440, 40 + k));
    // A burst: five purchases seconds apart.
    const burst = [0, 1, 2, 3, 4].map((k) => ({
      ...purchase(`b${k}`, "burst", 0, 50),
      timestamp: new Date(Date.parse(at(0)) + k * 5000).toISOString(),
    }));
    await h.send([...calm, ...burst]);
    let alerts = (await h.get("/alerts")).body.alerts;
    assert.deepEqual(alerts.map((a: Json) => a.event_id).sort(), ["b3", "b4"]); // the 4th and 5th within 120 s
    assert.match(alerts.find((a: Json) => a.event_id === "b4").reasons[0], /^velocity: 5 purchases within 120 s/);

    // Score a candidate without storing it; then loosen the velocity rule: the same candidate is no longer flagged.
    const candidate = {
      user_id: "burst",
      timestamp: new Date(Date.parse(at(0)) + 25_000).toISOString(),
      properties: { amount: 50 },
    };
    const before = (await h.post("/score", candidate)).body;
    assert.equal(before.flagged, true);
    const edit = await h.request("/rules/velocity", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ kind: "velocity", params: { window_s: 120, max_count: 10 }, points: 60 }),
    });
    assert.equal(edit.status, 200);
    const edited = edit.body;
    assert.equal(edited.version, 2);
    const after = (await h.post("/score", candidate)).body;
    assert.deepEqual([after.flagged, after.score, after.ruleset], [false, 0, before.ruleset + 1]);
    const history = (await h.get("/rules/history")).body.changes;
    assert.deepEqual(history[0], { ...history[0], rule_id: "velocity", version: 2 });

    // Bad rules and thresholds are refused with the reason.
    const bad = await h.request("/rules/velocity", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ kind: "velocity", params: { window_s: -1 }, points: 60 }),
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /params\.window_s/);
    assert.equal((await h.post("/score", { user_id: "x" })).status, 400);
    for (const timestamp of ["+010000-01-01T00:00:00Z", "-000001-01-01T00:00:00Z", "1", "yesterday"]) {
      const res = await h.post("/score", { user_id: "x", timestamp, properties: { amount: 1 } });
      assert.equal(res.status, 400, timestamp);
    }
    // A rule deleted and made again carries on its version history.
    assert.equal((await h.request("/rules/velocity", { method: "DELETE" })).status, 204);
    const again = await h.request("/rules/velocity", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ kind: "velocity", params: { window_s: 120, max_count: 10 }, points: 60 }),
    });
    assert.equal(again.status, 200);
    assert.equal(again.body.version, 4); // 1 made, 2 edited, 3 deleted, 4 made again
    // The same purchase labelled twice in one request: the last label counts.
    const labelled = await h.post("/labels", {
      labels: [{ event_id: "b1", fraud: false }, { event_id: "b1", fraud: true }],
    });
    assert.deepEqual(labelled.body, { labelled: 1, unknown: [] });

    // A purchase far above the store's range with the threshold raised past every rule: scored, not alerted.
    await h.request("/threshold", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ threshold: 1000 }),
    });
    await h.send([purchase("big", "calm", 6 * 1440, 50_000)]);
    alerts = (await h.get("/alerts")).body.alerts;
    assert.deepEqual(alerts.map((a: Json) => a.event_id).sort(), ["b3", "b4"]);
    assert.ok(alerts.every((a: Json) => a.user_id !== "calm"));
    const scored = (await h.post("/score", {
      user_id: "calm",
      timestamp: at(7 * 1440),
      properties: { amount: 50_000 },
    })).body;
    assert.ok(
      scored.score > 0 && !scored.flagged && scored.reasons.some((r: string) => r.startsWith("amount_vs_user")),
    );
  },
);
