import assert from "node:assert/strict";
import { rng, simulateHistory } from "../../runtime/sources/simulator/mod.ts";
import {
  BACKENDS,
  getJson,
  type Json,
  pluginsFolder,
  postJson,
  REPO,
  waitFor,
  waitForCatchUp,
  withRuntime,
} from "../support/harness.ts";
import { FEATURES } from "../../plugins/churn/features.ts";
import { expectedFeatures } from "../oracles/churn.ts";

const PLUGINS = new URL("plugins/", REPO);

Deno.test({
  name: "churn: features kept current under late and duplicate events, a model trained on a time split, scores",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "churn", from: PLUGINS }]);
    await withRuntime(BACKENDS[0], { pluginsDir }, async (rt) => {
      // Before any history: no model, nobody at risk, nothing to train on.
      assert.equal((await getJson(rt, "/api/churn/model")).status, 404);
      assert.deepEqual((await getJson(rt, "/api/churn/at-risk")).body, { model_version: null, as_of: null, users: [] });
      assert.equal((await postJson(rt, "/api/churn/train", {})).status, 409);

      const { events } = simulateHistory({ seed: 1, users: 400, start: new Date("2026-01-01T00:00:00Z"), days: 84 });
      const random = rng(2);
      for (let i = 0; i < events.length; i += 900) {
        const w = events.slice(i, i + 900).sort(() => random() - 0.5); // late and out of order
        const dups = w.filter(() => random() < 0.05);
        assert.equal((await postJson(rt, "/v1/events", [...w, ...dups])).body.accepted, w.length + dups.length);
      }
      await waitForCatchUp(rt, 120_000);
      // Every batch committed whole: none failed (a failure would be hidden by one-at-a-time retries).
      assert.deepEqual(rt.plugins.list().map((p) => [p.name, p.status, p.processed, p.failed]), [
        ["churn", "running", events.length, 0],
      ]);
      assert.equal((await getJson(rt, "/api/dead-letters")).body.total, 0);

      // The scheduled check trains on its own once there is history (again when event time has moved on a day).
      const latest = events.reduce((t, e) => e.timestamp > t ? e.timestamp : t, "");
      const scheduled = await waitFor("a scheduled model on the whole history", async () => {
        const { status, body } = await getJson(rt, "/api/churn/model");
        return status === 200 && new Date(body.as_of).toISOString() === latest ? body : null;
      }, 60_000);

      // Retraining on the same history is no better: the new version is kept, retired, and the live one stays.
      const trained = await postJson(rt, "/api/churn/train", {});
      assert.equal(trained.status, 201, JSON.stringify(trained.body));
      assert.equal(trained.body.model_version, scheduled.model_version + 1);
      assert.equal(trained.body.live, false);
      assert.match(trained.body.metrics.decision, new RegExp(`^kept live version ${scheduled.model_version}: its AUC`));
      const v = scheduled.model_version;
      const m = trained.body.metrics;
      const { cart, logistic, recency } = m.holdout;
      assert.ok(m.auc >= 0.85, `holdout ROC-AUC ${m.auc}`);
      assert.equal(m.auc, Math.max(cart.auc, logistic.auc)); // the better of the two is kept
      // On this history the tree is kept, above both baselines (on other seeds the two models are within 0.01).
      assert.equal(trained.body.kind, "cart");
      assert.ok(cart.auc > logistic.auc && cart.auc > recency.auc, JSON.stringify(m.holdout));
      assert.ok(Date.parse(m.snapshots.holdout_from) > Date.parse(m.snapshots.from));
      assert.equal(m.auc, scheduled.auc); // the same history, the same split: a tie

      const model = (await getJson(rt, "/api/churn/model")).body;
      assert.equal(model.model_version, v);
      assert.deepEqual(Object.keys(model.feature_importance).every((f) => FEATURES.includes(f as never)), true);
      const atRisk = (await getJson(rt, "/api/churn/at-risk?limit=20&min_score=0.3")).body;
      assert.equal(atRisk.model_version, v);
      assert.ok(atRisk.users.length > 5);
      const scores = atRisk.users.map((u: Json) => u.score);
      assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
      assert.ok(atRisk.users.every((u: Json) => u.score >= 0.3 && u.score <= 1 && u.reasons.length > 0));

      // A user's features equal a recomputation from the raw log; POST /score gives the same score for them.
      for (const user of [atRisk.users[0].user_id, events.at(-1)!.user_id]) {
        const view = (await getJson(rt, `/api/churn/users/${user}`)).body;
        const expected = await expectedFeatures(rt.store, user, view.as_of);
        for (const [name, value] of Object.entries(expected)) {
          assert.equal(view.features[name], value, `${user} ${name}`);
        }
        const scored = await postJson(rt, "/api/churn/score", { features: view.features });
        assert.deepEqual(scored.body, { model_version: v, score: view.score, reasons: view.reasons });
      }
      assert.equal((await getJson(rt, "/api/churn/users/nobody")).status, 404);
      const bad = await postJson(rt, "/api/churn/score", { features: { recency_days: 3 } });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error, /features\.tenure_days/);

      // Every version is listed; the live one is still the first trained on this history.
      const versions = (await getJson(rt, "/api/churn/model")).body.versions;
      assert.deepEqual(versions.slice(0, 2).map((m: Json) => [m.version, m.live]), [[v + 1, false], [v, true]]);
    });
  },
});
