/**
 * Training the learned model on labelled purchases, with a time split: it is enabled only when rules-or-model
 * beats the rules alone on the holdout (per-user F1), and never replaces an enabled model that does better there.
 */
import { type Env, HttpError } from "@runtime/sdk";
import type { Trained, TrainingMetrics } from "./api.ts";
import { FEATURES, perUser, predict, trainTree, type TreeNode } from "./model.ts";

type Db = Env["db"];

/** Labelled purchases needed to train. */
const MIN_LABELLED = 50;

/** Trains on the labelled purchases and stores the model, enabled or not. */
export async function trainModel(db: Db): Promise<Trained> {
  const rows = await db.query<{ user_id: string; ts: string; features: number[]; fraud: boolean }>(
    `select p.user_id, p.ts, p.features, l.fraud from purchases p join labels l using (event_id)
     where p.features is not null order by p.ts, p.event_id`,
  );
  const cut = Math.floor(rows.length * 0.7);
  const train = rows.slice(0, cut);
  const holdout = rows.slice(cut);
  const both = (xs: typeof rows) => xs.some((r) => r.fraud) && xs.some((r) => !r.fraud);
  if (rows.length < MIN_LABELLED || !both(train) || !both(holdout)) {
    throw new HttpError(
      409,
      `not enough labelled outcomes to train: need ${MIN_LABELLED} or more, with fraud and legitimate ones in both ` +
        `the older 70% and the newest 30%; have ${rows.length}`,
    );
  }
  const tree = trainTree(train.map((r) => r.features), train.map((r) => r.fraud));
  // Decisions on the holdout as the ruleset would make them: the other rules' score, plus the model rule's points.
  const [{ threshold }] = await db.query<{ threshold: number }>("select threshold from settings");
  const [rule] = await db.query<{ points: number; params: { min_probability: number } }>(
    "select points, params from rules where kind = 'model' and enabled order by rule_id limit 1",
  );
  if (!rule) throw new HttpError(409, "no enabled rule of kind 'model': the learned model would have no say");
  const ruleScore = FEATURES.indexOf("rule_score");
  const byRules = holdout.map((r) => r.features[ruleScore] >= threshold);
  const byModel = (t: TreeNode) => holdout.map((r) => predict(t, r.features).p >= rule.params.min_probability);
  const either = (t: TreeNode) =>
    byModel(t).map((m, i) => holdout[i].features[ruleScore] + (m ? rule.points : 0) >= threshold);
  const [current] = await db.query<{ version: number; model: TreeNode }>(
    "select version, model from models where enabled",
  );
  const metrics: TrainingMetrics = {
    rules: perUser(holdout, byRules),
    model: perUser(holdout, byModel(tree)),
    rules_or_model: perUser(holdout, either(tree)),
    enabled_model: current ? { version: current.version, ...perUser(holdout, either(current.model)) } : null,
    train_purchases: train.length,
    holdout_purchases: holdout.length,
    holdout_from: new Date(holdout[0].ts).toISOString(),
    decision: "",
  };
  const { enabled, decision } = decide(metrics.rules.f1, metrics.rules_or_model.f1, metrics.enabled_model);
  metrics.decision = decision;
  const [saved] = await db.query<{ version: number }>(
    `with retired as (update models set enabled = false where $1 and enabled returning version)
     insert into models (version, trained_at, metrics, model, enabled)
     select coalesce((select max(version) from models), 0) + 1, now(), $2::jsonb, $3::jsonb, $1
     returning version`,
    [enabled, JSON.stringify(metrics), JSON.stringify(tree)],
  ).catch((e) => {
    // Two trainings finishing at once would take the same version number: the second is refused.
    if (/duplicate key/.test((e as Error).message)) {
      throw new HttpError(409, "another training finished first; try again");
    }
    throw e;
  });
  return { version: saved.version, enabled, metrics };
}

/**
 * Whether a new model is enabled, from per-user F1 on one holdout: only when the rules with it beat the rules
 * alone, and do at least as well as the rules with the enabled model (a new model never replaces a better one).
 */
export function decide(
  rules: number,
  withModel: number,
  enabled: { version: number; f1: number } | null,
): { enabled: boolean; decision: string } {
  if (withModel <= rules) {
    return {
      enabled: false,
      decision: `not enabled: rules or model F1 ${withModel} does not beat the rules alone (${rules})`,
    };
  }
  if (enabled && withModel < enabled.f1) {
    return {
      enabled: false,
      decision: `not enabled: enabled version ${enabled.version} does better on the same holdout (F1 ${enabled.f1})`,
    };
  }
  return { enabled: true, decision: `enabled: rules or model F1 ${withModel} > rules alone ${rules}` };
}
