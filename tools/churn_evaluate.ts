// Model quality on a simulated history: posts it into an embedded runtime, trains, and prints the holdout ROC-AUC
// of each candidate. `deno run -A tools/churn_evaluate.ts [seed] [users]`
import { simulateHistory } from "../runtime/sources/simulator/mod.ts";
import { BACKENDS, pluginsFolder, postJson, REPO, startTestRuntime, waitForCatchUp } from "../tests/support/harness.ts";
const pluginsDir = await pluginsFolder([{ name: "churn", from: new URL("plugins/", REPO) }]);
const rt = await startTestRuntime(BACKENDS[0], { pluginsDir });
const seed = Number(Deno.args[0] ?? 1);
const { events } = simulateHistory({
  seed,
  users: Number(Deno.args[1] ?? 400),
  start: new Date("2026-01-01T00:00:00Z"),
  days: 84,
});
for (let i = 0; i < events.length; i += 900) await postJson(rt, "/v1/events", events.slice(i, i + 900));
await waitForCatchUp(rt, 600_000);
const r = await postJson(rt, "/api/churn/train", {});
const h = r.body.metrics.holdout;
console.log(
  "seed",
  seed,
  "kept",
  r.body.kind,
  "cart",
  h.cart.auc,
  "logistic",
  h.logistic.auc,
  "recency",
  h.recency.auc,
  "n",
  r.body.metrics.holdout_samples,
);
await rt.stop();
