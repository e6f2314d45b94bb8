import assert from "node:assert/strict";
import type { Event } from "../../runtime/core/event.ts";
import type { Runtime } from "../../runtime/runtime.ts";
import { FRAUD_PATTERNS, simulateHistory } from "../../runtime/sources/simulator/mod.ts";
import { OTHER_FRAUD_PATTERNS, otherWorld } from "../support/other_world.ts";
import {
  BACKENDS,
  getJson,
  type Json,
  pluginsFolder,
  postJson,
  REPO,
  waitForCatchUp,
  withRuntime,
} from "../support/harness.ts";

const PLUGINS = new URL("plugins/", REPO);

async function fraudRuntime(
  backend: (typeof BACKENDS)[number],
  fn: Parameters<typeof withRuntime>[2],
  opts: Partial<Parameters<typeof withRuntime>[1]> = {},
) {
  await withRuntime(backend, { pluginsDir: await pluginsFolder([{ name: "fraud", from: PLUGINS }]), ...opts }, fn);
}

/**
 * Judges the alerts against the truth, per user: precision and recall of at least 0.9, at least one user of every
 * pattern caught, and every alert with its reasons.
 */
async function judgeAlerts(rt: Runtime, fraudUsers: Record<string, string>, patterns: readonly string[]) {
  const alerts = (await getJson(rt, "/api/fraud/alerts?limit=1000")).body.alerts;
  const flagged = new Set<string>(alerts.map((a: Json) => a.user_id));
  const fraudsters = new Set(Object.keys(fraudUsers));
  const caught = [...fraudsters].filter((u) => flagged.has(u));
  const precision = caught.length / flagged.size;
  const recall = caught.length / fraudsters.size;
  const wrong = [...flagged].filter((u) => !fraudsters.has(u));
  assert.ok(precision >= 0.9 && recall >= 0.9, `precision ${precision}, recall ${recall}; wrongly flagged ${wrong}`);
  for (const pattern of patterns) {
    const users = [...fraudsters].filter((u) => fraudUsers[u] === pattern);
    assert.ok(users.length > 0 && users.some((u) => flagged.has(u)), `${pattern} users caught`);
  }
  for (const a of alerts) assert.ok(a.reasons.length > 0 && a.score >= 60, JSON.stringify(a));
  console.log(`fraud users ${fraudsters.size}, flagged ${flagged.size}: precision ${precision}, recall ${recall}`);
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
      await judgeAlerts(rt, labels.fraudUsers, FRAUD_PATTERNS);

      // With every outcome labelled, a learned model is trained and judged beside rules this good.
      await label(rt, events, labels.fraudEvents);
      const trained = await postJson(rt, "/api/fraud/model/train", {});
      assert.equal(trained.status, 201, JSON.stringify(trained.body));
      assert.ok(trained.body.metrics.rules.precision >= 0.9, JSON.stringify(trained.body.metrics));
    });
  },
});

Deno.test({
  name: "fraud: on a world the simulator did not make, each pattern caught per user with precision and recall ≥ 0.9",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // Account takeovers from a new country, slow card testing, bursts of mid-size orders and first-order outliers in a
    // young store, beside travellers, new phones, B2B buyers, gift buyers and digital buyers (tests/support).
    const { events, labels } = otherWorld({ seed: 1, users: 500, start: new Date("2026-01-05T00:00:00Z"), days: 84 });
    await fraudRuntime(BACKENDS[0], async (rt) => {
      for (let i = 0; i < events.length; i += 900) await postJson(rt, "/v1/events", events.slice(i, i + 900));
      await waitForCatchUp(rt, 300_000);
      await judgeAlerts(rt, labels.fraudUsers, OTHER_FRAUD_PATTERNS);
    }, { money: { base: "USD", rates: {} } }); // this world sells in US dollars
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
      // The card-testing rules are off: the rules alone miss those users.
      for (
        const [id, params] of [
          ["card_testing", { window_s: 1800, max_amount: 5, min_count: 4 }],
          ["slow_card_testing", { window_s: 43200, max_amount: 5, min_count: 6 }],
        ] as const
      ) {
        const off = await rt.app.request(`/api/fraud/rules/${id}`, {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ kind: "card_testing", params, points: 70, enabled: false }),
        });
        assert.equal(off.status, 200);
      }
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
