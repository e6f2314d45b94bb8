// Scoring cost per purchase: the context queries and the rules, on an embedded database holding a simulated history.
// `deno bench -A tools/bench/fraud_scoring_bench.ts`
import type { Event } from "@runtime/sdk";
import { pluginDatabase, simulateHistory } from "@runtime/testing";
import plugin from "../../plugins/fraud/mod.ts";
import { contexts, type Probe } from "../../plugins/fraud/context.ts";
import { evaluate, type Rule } from "../../plugins/fraud/rules.ts";

const { env } = await pluginDatabase(new URL("../../plugins/fraud/", import.meta.url));
const db = env.db;
const { events } = simulateHistory({ seed: 1, users: 400, start: new Date("2026-01-01T00:00:00Z"), days: 60 });
for (let i = 0; i < events.length; i += 1000) await plugin.queue!(events.slice(i, i + 1000), env);
const rules = await db.query<Rule>("select rule_id, kind, params, points, enabled from rules");
const last: Event[] = events.filter((e) => e.type === "purchase").slice(-100);
const probes: Probe[] = last.map((e) => ({
  event_id: e.event_id,
  user_id: e.user_id,
  ts: e.timestamp,
  amount: e.properties.amount!,
  country: e.properties.country ?? null,
  device: e.properties.device ?? null,
  stored: true,
}));
const ctx = await contexts(db, probes, rules);

Deno.bench("fraud: rules on one purchase in its context (pure)", () => {
  evaluate(rules, ctx[0]);
});
Deno.bench("fraud: a batch of 100 purchases judged: context queries + rules (per batch)", async () => {
  const all = await contexts(db, probes, rules);
  for (const c of all) evaluate(rules, c);
});
