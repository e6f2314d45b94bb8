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
import { expectedFeatures } from "../oracles/churn.ts";

const PLUGINS = new URL("plugins/", REPO);

Deno.test({
  name: "churn: scored from day one by the baseline, trained at six weeks despite stray events, exact features",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "churn", from: PLUGINS }]);
    await withRuntime(BACKENDS[0], { pluginsDir }, async (rt) => {
      // Before any history: the baseline is live, nobody is at risk, nothing to train on.
      const empty = (await getJson(rt, "/api/churn/model")).body;
      assert.deepEqual([empty.kind, empty.model_version, empty.training.history], ["baseline", null, null]);
      assert.deepEqual((await getJson(rt, "/api/churn/at-risk")).body, {
        model_version: null,
        kind: "baseline",
        as_of: null,
        total: 0,
        users: [],
        next_offset: null,
      });
      assert.equal((await postJson(rt, "/api/churn/train", {})).status, 409);

      const { events } = simulateHistory({ seed: 1, users: 400, start: new Date("2026-01-01T00:00:00Z"), days: 84 });
      // Stray events from clocks years off: an import dated 2023, a device dated 2027.
      const strays = ["2023-03-01T10:00:00Z", "2023-03-02T10:00:00Z", "2027-07-01T10:00:00Z"].map((timestamp, i) => ({
        ...events[i * 1000],
        event_id: `stray-${i}`,
        timestamp,
      }));
      const random = rng(2);
      const send = async (from: number, to: number) => {
        for (let i = from; i < to; i += 900) {
          const w = events.slice(i, Math.min(i + 900, to)).sort(() => random() - 0.5); // late and out of order
          const dups = w.filter(() => random() < 0.05);
          assert.equal((await postJson(rt, "/v1/events", [...w, ...dups])).body.accepted, w.length + dups.length);
        }
        await waitForCatchUp(rt, 120_000);
      };
      const day = (d: string) => events.findIndex((e) => e.timestamp >= d);
      assert.equal((await postJson(rt, "/v1/events", strays)).body.accepted, 3);

      // Ten days in: every active user is scored by the baseline; training says what it still needs.
      await send(0, day("2026-01-11"));
      const early = (await getJson(rt, "/api/churn/at-risk?limit=1000&min_score=0")).body;
      assert.equal(early.kind, "baseline");
      assert.ok(early.users.length > 50 && early.users.every((u: Json) => u.reasons.length === 1), early.users.length);
      assert.match((await getJson(rt, "/api/churn/model")).body.training.needs, /^9 days of dense history; training/);

      // Six weeks in: training works on an honest time split, stray events and all (daily snapshots, horizon 14).
      await send(day("2026-01-11"), day("2026-02-12"));
      const six = await postJson(rt, "/api/churn/train", {});
      assert.equal(six.status, 201, JSON.stringify(six.body));
      assert.deepEqual([six.body.metrics.horizon_days, six.body.metrics.step_days], [14, 1]);
      assert.equal(six.body.metrics.snapshots.from, "2026-01-08T00:00:00.000Z"); // not from 2023

      await send(day("2026-02-12"), events.length);
      // Every batch committed whole: none failed (a failure would be hidden by one-at-a-time retries).
      assert.deepEqual(rt.plugins.list().map((p) => [p.name, p.status, p.processed, p.failed]), [
        ["churn", "running", events.length + strays.length, 0],
      ]);
      assert.equal((await getJson(rt, "/api/dead-letters")).body.total, 0);

      // The scheduled check trains again once event time has moved on a day, on the dense history only.
      const latest = events.reduce((t, e) => e.timestamp > t ? e.timestamp : t, "");
      // A check that ran while the history was still arriving may have trained on part of it: wait until the last
      // attempt is within a day of the clock (none is due until event time moves on) and its model is stored.
      const scheduled = await waitFor("a scheduled training on the whole history", async () => {
        const { body } = await getJson(rt, "/api/churn/model");
        const [{ settled }] = await rt.store.query<{ settled: boolean }>(
          `select c.now - c.attempted < interval '1 day'
             and exists (select from churn.models m where m.as_of >= c.attempted) as settled
           from churn.clock c`,
        );
        return body.training.history.to === latest && body.versions.length > 1 && settled ? body : null;
      }, 60_000);
      assert.equal(scheduled.training.history.from, "2026-01-01T00:00:00.000Z");

      // On this world both models rank about as well as recency alone (within 0.01): the baseline stays live.
      const trained = await postJson(rt, "/api/churn/train", {});
      assert.equal(trained.status, 201, JSON.stringify(trained.body));
      assert.equal(trained.body.live, false);
      const m = trained.body.metrics;
      const { cart, logistic, recency, baseline } = m.holdout;
      assert.equal(m.outcome, "baseline");
      assert.match(m.decision, /^the baseline scores: AUC 0\.\d+ is under 0\.\d+, the better simple score's/);
      assert.ok(m.auc >= 0.85, `holdout ROC-AUC ${m.auc}`);
      assert.equal(m.auc, Math.max(cart.auc, logistic.auc)); // the better of the two is kept
      assert.ok(m.auc < Math.max(recency.auc, baseline.auc) + 0.02, JSON.stringify(m.holdout));
      assert.equal(m.snapshots.to, "2026-03-11T00:00:00.000Z"); // the last midnight whose horizon has passed

      const model = (await getJson(rt, "/api/churn/model")).body;
      assert.deepEqual([model.kind, model.model_version, model.feature_importance], ["baseline", null, null]);
      assert.equal(model.auc, baseline.auc);
      const atRisk = (await getJson(rt, "/api/churn/at-risk?limit=20&min_score=0.3")).body;
      assert.deepEqual([atRisk.kind, atRisk.as_of], ["baseline", latest]);
      assert.ok(atRisk.users.length > 5);
      // A page at a time: the pages follow each other, and hold the total between them.
      const [{ n }] = await rt.store.query<{ n: number }>(
        "select count(*)::int8 as n from churn.scores where score >= 0.3",
      );
      const pages: Json[] = [];
      for (let offset: number | null = 0; offset !== null;) {
        const page: Json = (await getJson(rt, `/api/churn/at-risk?limit=7&min_score=0.3&offset=${offset}`)).body;
        assert.equal(page.total, n);
        pages.push(...page.users);
        offset = page.next_offset;
      }
      assert.equal(pages.length, n);
      assert.deepEqual(pages.slice(0, 20), atRisk.users);
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
        assert.deepEqual(scored.body, {
          model_version: null,
          kind: "baseline",
          score: view.score,
          reasons: view.reasons,
        });
      }
      assert.equal((await getJson(rt, "/api/churn/users/nobody")).status, 404);
      const bad = await postJson(rt, "/api/churn/score", { features: { recency_days: 3 } });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error, /features\.tenure_days/);
      assert.deepEqual(model.versions.slice(0, 1).map((v: Json) => [v.version, v.live]), [[
        trained.body.model_version,
        false,
      ]]);
    });
  },
});
