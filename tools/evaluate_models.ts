/**
 * Model quality on two worlds: the simulator's history and the independent one (`tests/support/other_world.ts`,
 * written separately, with different dynamics). Each history is posted into an embedded runtime running the churn
 * and fraud plugins with their shipped settings; then churn trains once on the whole history, and fraud's alerts
 * are compared with the world's labels, per user.
 *
 *   deno run -A tools/evaluate_models.ts [--world simulator,other] [--seeds 1] [--users 500] [--days 84]
 *     [--alerts FILE_PREFIX]
 *
 * Prints one Markdown row per world and seed for each plugin, the tables in the plugins' READMEs.
 * @module
 */
import { parseArgs } from "node:util";
import type { Event } from "../runtime/core/event.ts";
import { simulateHistory } from "../runtime/sources/simulator/mod.ts";
import { otherWorld } from "../tests/support/other_world.ts";
import {
  BACKENDS,
  getJson,
  type Json,
  pluginsFolder,
  postJson,
  REPO,
  startTestRuntime,
  waitForCatchUp,
} from "../tests/support/harness.ts";

const { values: flags } = parseArgs({
  options: {
    world: { type: "string", default: "simulator,other" },
    seeds: { type: "string", default: "1" },
    users: { type: "string", default: "500" },
    days: { type: "string", default: "84" },
    /** Writes every alert, with whether its user is a fraudster, to `<alerts>-<world>-<seed>.json`. */
    alerts: { type: "string" },
  },
});

/** A world's history and the truth about its fraud. */
interface History {
  events: Event[];
  fraudUsers: Record<string, string>;
}

function history(world: string, seed: number): History {
  const opts = { seed, users: Number(flags.users), start: new Date("2026-01-05T00:00:00Z"), days: Number(flags.days) };
  if (world === "simulator") {
    const { events, labels } = simulateHistory(opts);
    return { events, fraudUsers: labels.fraudUsers };
  }
  const { events, labels } = otherWorld({ ...opts, strays: 6 });
  return { events, fraudUsers: labels.fraudUsers };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

async function evaluate(world: string, seed: number): Promise<{ churn: string; fraud: string }> {
  const { events, fraudUsers } = history(world, seed);
  const pluginsDir = await pluginsFolder(["churn", "fraud"].map((name) => ({ name, from: new URL("plugins/", REPO) })));
  // The other world sells in US dollars, the simulator in euros (the default base currency).
  const money = world === "other" ? { base: "USD", rates: {} } : undefined;
  const rt = await startTestRuntime(BACKENDS[0], { pluginsDir, money });
  try {
    for (let i = 0; i < events.length; i += 900) await postJson(rt, "/v1/events", events.slice(i, i + 900));
    await waitForCatchUp(rt, 1_800_000);
    const trained = await postJson(rt, "/api/churn/train", {});
    if (trained.status !== 201) throw new Error(`churn training answered ${JSON.stringify(trained.body)}`);
    const m = trained.body.metrics;
    const h = m.holdout;
    const q = (x: { auc: number; pr_auc: number }) => `${x.auc} (${x.pr_auc})`;
    const live = m.outcome === "promoted" ? trained.body.kind : "baseline";
    const churn = `| ${world} ${seed} | ${q(h.cart)} | ${q(h.logistic)} | ${q(h.recency)} | ${q(h.baseline)} | ` +
      `${m.holdout_samples} (${round(m.churn_rate * 100)}% churned) | ${live} |`;

    console.error(churn);
    const alerts: Json[] = (await getJson(rt, "/api/fraud/alerts?limit=1000")).body.alerts;
    if (alerts.length === 1000) throw new Error("1,000 alerts or more: this evaluation reads only one page");
    if (flags.alerts) {
      const labelled = alerts.map((a) => ({ fraud: fraudUsers[a.user_id] ?? null, ...a }));
      await Deno.writeTextFile(`${flags.alerts}-${world}-${seed}.json`, JSON.stringify(labelled, null, 1));
    }
    const flagged = new Set(alerts.map((a) => a.user_id as string));
    const fraudsters = Object.keys(fraudUsers);
    const caught = fraudsters.filter((u) => flagged.has(u));
    const missed = fraudsters.filter((u) => !flagged.has(u)).map((u) => `${u} (${fraudUsers[u]})`);
    const wrong = [...flagged].filter((u) => !(u in fraudUsers));
    const rulesOf = (a: Json) => (a.reasons as string[]).map((r) => r.split(":")[0]).sort().join("+");
    const falseAlerts = Object.entries(Object.groupBy(alerts.filter((a) => !(a.user_id in fraudUsers)), rulesOf))
      .map(([rules, xs]) => `${rules} ×${xs!.length}`);
    const precision = flagged.size === 0 ? 0 : caught.length / flagged.size;
    const fraud = `| ${world} ${seed} | ${fraudsters.length} | ${flagged.size} | ${round(precision)} | ` +
      `${round(caught.length / fraudsters.length)} | missed: ${missed.join(", ") || "none"}; ` +
      `wrongly flagged: ${wrong.join(", ") || "none"} (${falseAlerts.join(", ")}) |`;
    return { churn, fraud };
  } finally {
    await rt.stop();
  }
}

const churn: string[] = [];
const fraud: string[] = [];
for (const world of flags.world.split(",")) {
  for (const seed of flags.seeds.split(",").map(Number)) {
    console.error(`[evaluate] ${world} seed ${seed} ...`);
    const r = await evaluate(world, seed);
    console.error(r.churn, "\n", r.fraud);
    churn.push(r.churn);
    fraud.push(r.fraud);
  }
}
console.log(
  "| churn: world, seed | CART ROC-AUC (PR-AUC) | logistic | recency only | baseline | holdout | live |",
  "\n| --- | --- | --- | --- | --- | --- | --- |\n" + churn.join("\n"),
);
console.log(
  "\n| fraud: world, seed | fraudulent users | flagged users | precision | recall | details |",
  "\n| --- | --- | --- | --- | --- | --- |\n" + fraud.join("\n"),
);
