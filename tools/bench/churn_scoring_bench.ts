// Scoring cost: the features of a batch's users at the latest event time, and the model on them, on an embedded
// database holding a simulated history. `deno bench -A tools/bench/churn_scoring_bench.ts`
import { pluginDatabase, simulateHistory } from "@runtime/testing";
import plugin from "../../plugins/churn/mod.ts";
import { featuresOf, featuresOfActive } from "../../plugins/churn/features.ts";
import { predict, trainCart, trainLogistic } from "../../plugins/churn/model.ts";
import { snapshotAt } from "../../plugins/churn/features.ts";

const { env } = await pluginDatabase(new URL("../../plugins/churn/", import.meta.url));
const db = env.db;
const { events } = simulateHistory({ seed: 1, users: 400, start: new Date("2026-01-01T00:00:00Z"), days: 60 });
for (let i = 0; i < events.length; i += 1000) await plugin.queue!(events.slice(i, i + 1000), env as never);
const now = events.at(-1)!.timestamp;
const samples =
  (await Promise.all(["2026-01-20", "2026-01-27", "2026-02-03"].map((d) => snapshotAt(db, `${d}T00:00:00Z`, 14))))
    .flat();
const cart = trainCart(samples);
const logistic = trainLogistic(samples);
const active = await featuresOfActive(db, now);
const users = active.slice(0, 100).map((o) => o.user_id);

Deno.bench("churn: CART score and reasons for one user (pure)", () => {
  predict(cart, active[0].x);
});
Deno.bench("churn: logistic score and reasons for one user (pure)", () => {
  predict(logistic, active[0].x);
});
Deno.bench("churn: features of a batch's 100 users + CART scores (per batch)", async () => {
  for (const o of await featuresOf(db, users, now)) predict(cart, o.x);
});
