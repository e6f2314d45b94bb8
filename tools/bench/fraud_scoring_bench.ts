// Scoring cost per purchase: the context queries and the rules, on an embedded database holding a simulated history.
// `deno bench -A tools/bench/fraud_scoring_bench.ts`
import type { Event } from "@runtime/sdk";
import { pluginDatabase, simulateHistory } from "@runtime/testing";
import plugin from "../../plugins/fraud/mod.ts";
import { contextsParams, contextsSql, readContexts } from "../../plugins/fraud/context.ts";
import { judge, probeOf } from "../../plugins/fraud/judge.ts";
import { evaluate, type Rule } from "../../plugins/fraud/rules.ts";

const { env } = await pluginDatabase(new URL("../../plugins/fraud/", import.meta.url));
const db = env.db;
const { events } = simulateHistory({ seed: 1, users: 400, start: new Date("2026-01-01T00:00:00Z"), days: 60 });
for (let i = 0; i < events.length; i += 1000) await plugin.queue!(events.slice(i, i + 1000), env);
const rules = await db.query<Rule>("select rule_id, kind, params, points, enabled from rules");
const last: Event[] = events.filter((e) => e.type === "purchase").slice(-100);
const probes = last.map(probeOf);
const [row] = await db.query<{ contexts: string }>(
  `select (${contextsSql("$2::text[]", "86400")}) as contexts`,
  contextsParams(probes),
);
const ctx = readContexts(row.contexts, probes, []);

Deno.bench("fraud: rules on one purchase in its context (pure)", () => {
  evaluate(rules, ctx[0]);
});
Deno.bench(
  "fraud: a batch of 100 purchases judged: setup and contexts in one statement + rules (per batch)",
  async () => {
    await judge(db, probes);
  },
);
