import assert from "node:assert/strict";
import { assertFilled, routeChecker, simulateHistory, testPlugin, waitFor } from "@runtime/testing";
import plugin from "./mod.ts";

/** Where the history is cut for the first model: seven weeks of it, beaten by a model on all twelve. */
const CUT = "2026-02-20";

Deno.test({
  name: "churn: every route answers what its described response schema says, field by field",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using h = await testPlugin(new URL("./", import.meta.url));
    const routes = routeChecker(plugin, h.runtime.app);
    const { events } = simulateHistory({ seed: 1, users: 120, start: new Date("2026-01-01T00:00:00Z"), days: 84 });
    const cut = events.findIndex((e) => e.timestamp >= CUT);
    for (let i = 0; i < cut; i += 900) await h.send(events.slice(i, Math.min(i + 900, cut)));
    // The scheduled check trains the first model on its own; two trainings at once would refuse one.
    await waitFor("the scheduled first model", async () => (await h.get("/model")).status === 200, 60_000);

    // Trained again on the same history: a tie, so not live; then on weeks more, better than the live one: live.
    const tie = await routes.call("POST /train", "/train");
    assert.equal(tie.live, false);
    for (let i = cut; i < events.length; i += 900) await h.send(events.slice(i, Math.min(i + 900, events.length)));
    const trained = await routes.call("POST /train", "/train");
    assertFilled(trained, "train");
    const model = await routes.call("GET /model", "/model");
    assert.equal(trained.live, true, trained.metrics.decision);
    assert.equal(model.model_version, trained.model_version);
    assertFilled(model, "model");

    const atRisk = await routes.call("GET /at-risk", "/at-risk?limit=20&min_score=0");
    assert.equal(atRisk.users.length, 20);
    assertFilled(atRisk, "at-risk");
    await routes.probeQuery("GET /at-risk", "/at-risk?limit=20&min_score=0");
    const user = await routes.call("GET /users/:user_id", `/users/${atRisk.users[0].user_id}`);
    assertFilled(user, "user");
    const scored = await routes.call("POST /score", "/score", { features: user.features });
    assert.deepEqual(scored, { model_version: model.model_version, score: user.score, reasons: user.reasons });
    routes.assertCovered();
  },
});
