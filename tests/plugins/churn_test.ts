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

const PLUGINS = new URL("plugins/", REPO);

/** Some of a user's features recomputed from the raw log at moment `t`, with no code from the plugin. */
async function expectedFeatures(
  sql: { query: (t: string, p?: unknown[]) => Promise<Json[]> },
  user: string,
  t: string,
) {
  const [r] = await sql.query(
    `with e as (
       select ts, type, (body->'properties'->>'amount')::numeric as amount,
         (($2::timestamptz - interval '1 millisecond') at time zone 'UTC')::date - (ts at time zone 'UTC')::date as age
       from host.events where user_id = $1 and ts <= $2
     )
     select round((extract(epoch from $2::timestamptz - max(ts)) / 86400)::numeric, 1)::float8 as recency_days,
       (max(age) + 1)::float8 as tenure_days,
       count(*) filter (where age < 7)::float8 as events_7d, count(*) filter (where age < 30)::float8 as events_30d,
       count(*) filter (where age < 30 and type in ('page_view', 'product_view'))::float8 as views_30d,
       count(*) filter (where age < 30 and type = 'add_to_cart')::float8 as carts_30d,
       count(*) filter (where age < 30 and type = 'purchase')::float8 as purchases_30d,
       round(coalesce(sum(amount) filter (where age < 30 and type = 'purchase'), 0))::float8 as spend_30d,
       count(*) filter (where type = 'purchase')::float8 as purchases_total,
       count(distinct age) filter (where age < 30)::float8 as active_days_30d
     from e`,
    [user, t],
  );
  // Sessions started in the 30 days before t: by session_id, or split at gaps of 30 minutes or more.
  const [{ sessions_30d }] = await sql.query(
    `with starts as (
       select min(ts) as started from host.events where user_id = $1 and body->>'session_id' is not null
       group by body->>'session_id'
       union all
       select ts from (
         select ts, ts - lag(ts) over (order by ts, event_id) as gap from host.events
         where user_id = $1 and body->>'session_id' is null
       ) e where gap is null or gap >= interval '30 minutes'
     )
     select count(*)::float8 as sessions_30d from starts
     where started < $2::timestamptz and started >= $2::timestamptz - interval '30 days'`,
    [user, t],
  );
  return { ...r, sessions_30d };
}

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

      const trained = await postJson(rt, "/api/churn/train", {});
      assert.equal(trained.status, 201, JSON.stringify(trained.body));
      const v = trained.body.model_version;
      assert.equal(v, scheduled.model_version + 1);
      const m = trained.body.metrics;
      const { cart, logistic, recency } = m.holdout;
      assert.ok(m.auc >= 0.85, `holdout ROC-AUC ${m.auc}`);
      assert.equal(m.auc, Math.max(cart.auc, logistic.auc)); // the better of the two is kept
      // On this history the tree is kept, above both baselines (on other seeds the two models are within 0.01).
      assert.equal(trained.body.kind, "cart");
      assert.ok(cart.auc > logistic.auc && cart.auc > recency.auc, JSON.stringify(m.holdout));
      assert.ok(Date.parse(m.snapshots.holdout_from) > Date.parse(m.snapshots.from));
      assert.equal(trained.body.live, true);

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

      // Retraining on the same history is as good, so it replaces the live model; the old one is kept, retired.
      const again = await postJson(rt, "/api/churn/train", {});
      assert.equal(again.body.live, true, again.body.metrics.decision);
      const versions = (await getJson(rt, "/api/churn/model")).body.versions;
      assert.deepEqual(versions.slice(0, 2).map((m: Json) => [m.version, m.live]), [[v + 1, true], [v, false]]);
    });
  },
});
