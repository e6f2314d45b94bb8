import assert from "node:assert/strict";
import type { Event } from "../../runtime/core/event.ts";
import type { Runtime } from "../../runtime/runtime.ts";
import { FRAUD_PATTERNS, simulateHistory } from "../../runtime/sources/simulator/mod.ts";
import {
  BACKENDS,
  getJson,
  type Json,
  pluginsFolder,
  postJson,
  REPO,
  testEachBackend,
  waitForCatchUp,
  withRuntime,
} from "../../tests/support/harness.ts";

const PLUGINS = new URL("plugins/", REPO);

async function fraudRuntime(backend: (typeof BACKENDS)[number], fn: Parameters<typeof withRuntime>[2]) {
  await withRuntime(backend, { pluginsDir: await pluginsFolder([{ name: "fraud", from: PLUGINS }]) }, fn);
}

/** Sends the simulated history both measurements use (500 users over 60 days, with injected fraud). */
async function sendHistory(rt: Runtime) {
  const history = simulateHistory({ seed: 4, users: 500, start: new Date("2026-01-01T00:00:00Z"), days: 60 });
  const { events } = history;
  for (let i = 0; i < events.length; i += 900) await postJson(rt, "/v1/events", events.slice(i, i + 900));
  await waitForCatchUp(rt, 120_000);
  return history;
}

Deno.test({
  name: "fraud: every injected pattern caught per user with precision and recall ≥ 0.9, each alert with reasons",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await fraudRuntime(BACKENDS[0], async (rt) => {
      const { events, labels } = await sendHistory(rt);
      const alerts = (await getJson(rt, "/api/fraud/alerts?limit=1000")).body.alerts;
      const flagged = new Set<string>(alerts.map((a: Json) => a.user_id));
      const fraudsters = new Set(Object.keys(labels.fraudUsers));
      const caught = [...fraudsters].filter((u) => flagged.has(u));
      const precision = caught.length / flagged.size;
      const recall = caught.length / fraudsters.size;
      assert.ok(precision >= 0.9 && recall >= 0.9, `precision ${precision}, recall ${recall}`);
      for (const pattern of FRAUD_PATTERNS) {
        const users = [...fraudsters].filter((u) => labels.fraudUsers[u] === pattern);
        assert.ok(users.length > 0 && users.every((u) => flagged.has(u)), `every ${pattern} user caught`);
      }
      for (const a of alerts) {
        assert.ok(a.reasons.length > 0 && a.score >= 60, JSON.stringify(a));
        assert.ok(a.event_id in labels.fraudEvents, `alert on a legitimate purchase: ${JSON.stringify(a)}`);
      }
      console.log(`fraud users ${fraudsters.size}, flagged ${flagged.size}: precision ${precision}, recall ${recall}`);

      // With every outcome labelled, a learned model has nothing to add to rules this good: it stays off.
      await label(rt, events, labels.fraudEvents);
      const trained = await postJson(rt, "/api/fraud/model/train", {});
      assert.equal(trained.status, 201, JSON.stringify(trained.body));
      assert.equal(trained.body.enabled, false, trained.body.metrics.decision);
      assert.equal(trained.body.metrics.rules.f1, 1);
    });
  },
});

/** Labels every purchase of the history from its ground truth, as an analyst's feedback would. */
async function label(rt: Runtime, events: Event[], fraudEvents: Record<string, unknown>) {
  const purchases = events.filter((e) => e.type === "purchase");
  for (let i = 0; i < purchases.length; i += 5000) {
    const labels = purchases.slice(i, i + 5000).map((e) => ({
      event_id: e.event_id,
      fraud: e.event_id in fraudEvents,
    }));
    assert.equal((await postJson(rt, "/api/fraud/labels", { labels })).body.labelled, labels.length);
  }
}

Deno.test({
  name: "fraud: a learned model trained on labelled outcomes is enabled where the rules miss, and then alerts",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await fraudRuntime(BACKENDS[0], async (rt) => {
      // The card-testing rule is off: the rules alone miss those users.
      const off = await rt.app.request("/api/fraud/rules/card_testing", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          kind: "card_testing",
          params: { window_s: 1800, max_amount: 5, min_count: 4 },
          points: 70,
          enabled: false,
        }),
      });
      assert.equal(off.status, 200);
      const { events, labels } = await sendHistory(rt);
      assert.equal((await postJson(rt, "/api/fraud/model/train", {})).status, 409); // nothing labelled yet
      await label(rt, events, labels.fraudEvents);
      const trained = (await postJson(rt, "/api/fraud/model/train", {})).body;
      const m = trained.metrics;
      assert.equal(trained.enabled, true, JSON.stringify(m));
      assert.ok(m.rules.recall < 1 && m.rules_or_model.recall > m.rules.recall, JSON.stringify(m));
      assert.ok(m.rules_or_model.precision >= 0.9, JSON.stringify(m));
      assert.equal((await getJson(rt, "/api/fraud/model")).body.models[0].enabled, true);
      console.log(
        "holdout per user:",
        JSON.stringify({ rules: m.rules, model: m.model, rules_or_model: m.rules_or_model }),
      );

      // A new card-testing run on an established account: the model alerts, and says why.
      const victim = events.find((e) => !(e.user_id in labels.fraudUsers))!;
      const t0 = Date.parse(events.at(-1)!.timestamp) + 60_000;
      const attack = Array.from({ length: 8 }, (_, k) => ({
        event_id: `test-${k}`,
        type: "purchase",
        user_id: victim.user_id,
        timestamp: new Date(t0 + k * 45_000).toISOString(),
        properties: { amount: 1.5, country: victim.properties.country, device: victim.properties.device },
      }));
      await postJson(rt, "/v1/events", attack);
      await waitForCatchUp(rt);
      const alerts = (await getJson(rt, `/api/fraud/alerts?limit=1000`)).body.alerts
        .filter((a: Json) => a.user_id === victim.user_id);
      assert.ok(alerts.length > 0, "the card-testing run is alerted");
      assert.match(alerts[0].reasons[0], /^learned_model: fraud probability [\d.]+ from learned model v1 \(.+\)$/);
    });
  },
});

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
    await fraudRuntime(backend, async (rt) => {
      // A calm user: four ordinary purchases. Never alerted.
      const calm = [1, 2, 3, 4].map((k) => purchase(`c${k}`, "calm", k * 1440, 40 + k));
      // A burst: five purchases seconds apart.
      const burst = [0, 1, 2, 3, 4].map((k) => ({
        ...purchase(`b${k}`, "burst", 0, 50),
        timestamp: new Date(Date.parse(at(0)) + k * 5000).toISOString(),
      }));
      await postJson(rt, "/v1/events", [...calm, ...burst]);
      await waitForCatchUp(rt);
      let alerts = (await getJson(rt, "/api/fraud/alerts")).body.alerts;
      assert.deepEqual(alerts.map((a: Json) => a.event_id).sort(), ["b3", "b4"]); // the 4th and 5th within 120 s
      assert.match(alerts.find((a: Json) => a.event_id === "b4").reasons[0], /^velocity: 5 purchases within 120 s/);

      // Score a candidate without storing it; then loosen the velocity rule: the same candidate is no longer flagged.
      const candidate = {
        user_id: "burst",
        timestamp: new Date(Date.parse(at(0)) + 25_000).toISOString(),
        properties: { amount: 50 },
      };
      const before = (await postJson(rt, "/api/fraud/score", candidate)).body;
      assert.equal(before.flagged, true);
      const edit = await rt.app.request("/api/fraud/rules/velocity", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ kind: "velocity", params: { window_s: 120, max_count: 10 }, points: 60 }),
      });
      assert.equal(edit.status, 200);
      const edited = await edit.json();
      assert.equal(edited.version, 2);
      const after = (await postJson(rt, "/api/fraud/score", candidate)).body;
      assert.deepEqual([after.flagged, after.score, after.ruleset], [false, 0, before.ruleset + 1]);
      const history = (await getJson(rt, "/api/fraud/rules/history")).body.changes;
      assert.deepEqual(history[0], { ...history[0], rule_id: "velocity", version: 2 });

      // Bad rules and thresholds are refused with the reason.
      const bad = await rt.app.request("/api/fraud/rules/velocity", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ kind: "velocity", params: { window_s: -1 }, points: 60 }),
      });
      assert.equal(bad.status, 400);
      assert.match((await bad.json()).error, /params\.window_s/);
      assert.equal((await postJson(rt, "/api/fraud/score", { user_id: "x" })).status, 400);
      for (const timestamp of ["+010000-01-01T00:00:00Z", "-000001-01-01T00:00:00Z", "1", "yesterday"]) {
        const res = await postJson(rt, "/api/fraud/score", { user_id: "x", timestamp, properties: { amount: 1 } });
        assert.equal(res.status, 400, timestamp);
      }
      // A rule deleted and made again carries on its version history.
      assert.equal((await rt.app.request("/api/fraud/rules/velocity", { method: "DELETE" })).status, 204);
      const again = await rt.app.request("/api/fraud/rules/velocity", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ kind: "velocity", params: { window_s: 120, max_count: 10 }, points: 60 }),
      });
      assert.equal(again.status, 200);
      assert.equal((await again.json()).version, 4); // 1 made, 2 edited, 3 deleted, 4 made again
      // The same purchase labelled twice in one request: the last label counts.
      const labelled = await postJson(rt, "/api/fraud/labels", {
        labels: [{ event_id: "b1", fraud: false }, { event_id: "b1", fraud: true }],
      });
      assert.deepEqual(labelled.body, { labelled: 1, unknown: [] });

      // A purchase far above the store's range with the threshold raised past every rule: scored, not alerted.
      await rt.app.request("/api/fraud/threshold", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ threshold: 1000 }),
      });
      await postJson(rt, "/v1/events", [purchase("big", "calm", 6 * 1440, 50_000)]);
      await waitForCatchUp(rt);
      alerts = (await getJson(rt, "/api/fraud/alerts")).body.alerts;
      assert.deepEqual(alerts.map((a: Json) => a.event_id).sort(), ["b3", "b4"]);
      assert.ok(alerts.every((a: Json) => a.user_id !== "calm"));
      const scored = (await postJson(rt, "/api/fraud/score", {
        user_id: "calm",
        timestamp: at(7 * 1440),
        properties: { amount: 50_000 },
      })).body;
      assert.ok(
        scored.score > 0 && !scored.flagged && scored.reasons.some((r: string) => r.startsWith("amount_vs_user")),
      );
    });
  },
);
