import assert from "node:assert/strict";
import { assertFilled, routeChecker, simulateHistory, testPlugin, waitFor } from "@runtime/testing";
import plugin from "./mod.ts";

/** Where the history is cut for the first training: seven weeks of it. */
const CUT = "2026-02-20";

Deno.test({
  name: "churn: every route answers what its described response schema says, field by field",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using h = await testPlugin(new URL("./", import.meta.url));
    const routes = routeChecker(plugin, h.runtime.app);
    const empty = await routes.call("GET /model", "/model");
    assert.deepEqual([empty.kind, empty.model_version, empty.versions], ["baseline", null, []]);
    assert.match(empty.training.needs, /^no events yet/);

    const { events } = simulateHistory({ seed: 1, users: 120, start: new Date("2026-01-01T00:00:00Z"), days: 84 });
    const cut = events.findIndex((e) => e.timestamp >= CUT);
    for (let i = 0; i < cut; i += 900) await h.send(events.slice(i, Math.min(i + 900, cut)));
    // The scheduled check trains on its own; two trainings at once would refuse one.
    await waitFor("the scheduled first training", async () => (await h.get("/model")).body.versions.length > 0, 60_000);
    // On 120 users, recency alone ranks better than either model: the baseline stays live, and says why.
    const baseline = await routes.call("GET /model", "/model");
    assert.equal(baseline.kind, "baseline");
    assert.match(baseline.metrics.decision, /^the baseline scores: /);
    const onlyModels = ["model_version", "trained_at", "as_of", "samples", "feature_importance", "training.needs"];
    assertFilled(
      baseline,
      "model",
      [...onlyModels, "metrics.holdout.live"].map((p) => `model.${p}`),
    );
    const scoredByBaseline = await routes.call("GET /at-risk", "/at-risk?limit=5&min_score=0");
    assert.deepEqual([scoredByBaseline.kind, scoredByBaseline.users.length], ["baseline", 5]);

    // Trained again on the same history: the same decision. Its model is then made live, as a promotion would.
    const again = await routes.call("POST /train", "/train");
    assert.equal(again.live, false);
    await h.sql("update models set live = (version = $1)", [again.model_version]);
    for (let i = cut; i < events.length; i += 900) await h.send(events.slice(i, Math.min(i + 900, events.length)));
    const model = await routes.call("GET /model", "/model");
    assert.deepEqual([model.kind, model.model_version], [again.kind, again.model_version]);
    assertFilled(model, "model", ["model.training.needs", "model.metrics.holdout.live"]);

    const atRisk = await routes.call("GET /at-risk", "/at-risk?limit=20&min_score=0");
    assert.deepEqual([atRisk.kind, atRisk.model_version, atRisk.users.length], [again.kind, again.model_version, 20]);
    assertFilled(atRisk, "at-risk");
    await routes.probeQuery("GET /at-risk", "/at-risk?limit=20&min_score=0");
    const user = await routes.call("GET /users/:user_id", `/users/${atRisk.users[0].user_id}`);
    assertFilled(user, "user");
    const scored = await routes.call("POST /score", "/score", { features: user.features });
    assert.deepEqual(scored, {
      model_version: model.model_version,
      kind: model.kind,
      score: user.score,
      reasons: user.reasons,
    });
    const trained = await routes.call("POST /train", "/train");
    assertFilled(trained, "train");
    // Judged beside the live model on the same holdout, whatever it decided.
    const after = await routes.call("GET /model", "/model");
    assert.equal(after.metrics.holdout.live.auc, trained.metrics.holdout.live.auc);
    routes.assertCovered();
  },
});
