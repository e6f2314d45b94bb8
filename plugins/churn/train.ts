/**
 * Training: snapshots of every active user at past midnights of the dense history, labelled by whether they came
 * back within the horizon; a time-based split; CART against logistic regression, recency alone and the baseline. A
 * model goes live only when it beats both simple scores by `minGain` ROC-AUC on the holdout, and the live model
 * strictly; otherwise the live model stays, or the baseline does, and the decision says why.
 */
import { type Env, HttpError } from "@runtime/sdk";
import type { Metrics } from "./api.ts";
import { baselineScore } from "./baseline.ts";
import { FEATURES, snapshotAt } from "./features.ts";
import { importance, type Model, prAuc, predict, rocAuc, round, trainCart, trainLogistic } from "./model.ts";
import { denseSpan, planTraining } from "./span.ts";

type Db = Env["db"];

/** How the plugin trains, from `PLUGIN_CHURN`. */
export interface TrainingConfig {
  /** A user churned at a moment when they have no event in the next `horizonDays` days. */
  horizonDays: number;
  /** Days between two snapshot moments. */
  stepDays: number;
  /** The holdout ROC-AUC a model must add over recency alone and over the baseline to go live. */
  minGain: number;
}
/** The most samples a model is trained on (a deterministic subsample beyond). */
const MAX_TRAINING_SAMPLES = 4000;

/** A model as stored, with its holdout metrics. */
export type StoredModel = {
  version: number;
  kind: Model["kind"];
  trained_at: string;
  as_of: string;
  samples: number;
  metrics: Metrics;
  model: Model;
  live: boolean;
};

/** The live model, if any (none: the baseline scores). */
export async function liveModel(db: Db): Promise<StoredModel | null> {
  const [m] = await db.query<StoredModel>("select * from models where live");
  return m ?? null;
}

/**
 * Trains on the dense history and stores the result; the decision says what is live after it. Throws 409 when the
 * history cannot support an honest time split yet, saying what it needs.
 */
export async function train(db: Db, cfg: TrainingConfig): Promise<StoredModel> {
  const span = await denseSpan(db);
  const plan = planTraining(span, cfg);
  if (typeof plan === "string") throw new HttpError(409, `not enough history to train: ${plan}`);
  const now = new Date(span!.to).toISOString();
  const horizon = plan.horizonDays;
  const snapshots = async (ts: number[]) =>
    (await Promise.all(ts.map((t) => snapshotAt(db, new Date(t).toISOString(), horizon)))).flat();
  const training = subsample(await snapshots(plan.trainMoments), MAX_TRAINING_SAMPLES);
  const holdout = await snapshots(plan.moments.filter((t) => t >= plan.holdoutFrom));
  if (new Set(training.map((s) => s.churned)).size < 2 || new Set(holdout.map((s) => s.churned)).size < 2) {
    throw new HttpError(409, "not enough history to train: the snapshots hold no churner or no returning user");
  }
  const labels = holdout.map((s) => s.churned);
  const judge = (score: (x: number[]) => number) => {
    const scores = holdout.map((s) => score(s.x));
    return { auc: round(rocAuc(scores, labels)), pr_auc: round(prAuc(scores, labels)) };
  };
  const cart = trainCart(training);
  const logistic = trainLogistic(training);
  const recencyColumn = FEATURES.indexOf("recency_days");
  const live = await liveModel(db);
  const holdoutMetrics = {
    cart: judge((x) => predict(cart, x).score),
    logistic: judge((x) => predict(logistic, x).score),
    recency: judge((x) => x[recencyColumn]),
    baseline: judge((x) => baselineScore(x, horizon).score),
    live: live && judge((x) => predict(live.model, x).score),
  };
  const [model, kind] = holdoutMetrics.cart.auc >= holdoutMetrics.logistic.auc
    ? [cart, "cart" as const]
    : [logistic, "logistic" as const];
  const own = holdoutMetrics[kind];
  const { outcome, decision } = promotion(
    own.auc,
    Math.max(holdoutMetrics.recency.auc, holdoutMetrics.baseline.auc),
    live && { version: live.version, auc: holdoutMetrics.live!.auc },
    cfg.minGain,
  );
  const metrics: Metrics = {
    ...own,
    holdout: holdoutMetrics,
    train_samples: training.length,
    holdout_samples: holdout.length,
    churn_rate: round(labels.filter(Boolean).length / labels.length),
    horizon_days: horizon,
    step_days: plan.stepDays,
    snapshots: {
      from: new Date(plan.moments[0]).toISOString(),
      to: new Date(plan.moments[plan.moments.length - 1]).toISOString(),
      holdout_from: new Date(plan.holdoutFrom).toISOString(),
    },
    feature_importance: importance(model),
    decision,
    outcome,
  };
  // One statement: the new version and the live flags move together. Two trainings finishing at once would
  // take the same version number: the second is refused.
  const [stored] = await db.query<StoredModel>(
    `with retired as (update models set live = false where $5 <> 'kept' and live returning version)
     insert into models (version, kind, trained_at, as_of, samples, metrics, model, live)
     select coalesce((select max(version) from models), 0) + 1, $1, now(), $2, $3, $4::jsonb, $6::jsonb,
       $5 = 'promoted'
     returning *`,
    [kind, now, training.length, JSON.stringify(metrics), outcome, JSON.stringify(model)],
  ).catch((e) => {
    if (/duplicate key/.test((e as Error).message)) {
      throw new HttpError(409, "another training finished first; try again");
    }
    throw e;
  });
  return stored;
}

/** What a training leaves live: the new model, the live model kept, or the baseline. */
export type Outcome = "promoted" | "kept" | "baseline";

/**
 * What goes live after a training, all measured on the same holdout: a new model with ROC-AUC `auc` replaces the live
 * one only when strictly better (a tie, such as retraining on the same history, keeps the live version and its
 * scores), and any model must beat the better simple score (`simple`: recency alone or the baseline) by `minGain`,
 * or the baseline scores instead.
 */
export function promotion(
  auc: number,
  simple: number,
  live: { version: number; auc: number } | null,
  minGain: number,
): { outcome: Outcome; decision: string } {
  const bar = round(simple + minGain);
  if (auc >= bar && (!live || auc > live.auc)) {
    const over = live
      ? `> ${live.auc} of live version ${live.version}`
      : `≥ ${bar} (the better simple score's ${simple} + ${minGain})`;
    return { outcome: "promoted", decision: `AUC ${auc} ${over} on the same holdout` };
  }
  if (live && live.auc >= bar) {
    return {
      outcome: "kept",
      decision: `kept live version ${live.version}: its AUC ${live.auc} ≥ ${auc} on the same holdout`,
    };
  }
  const best = live && live.auc > auc ? `live version ${live.version}'s AUC ${live.auc}` : `AUC ${auc}`;
  return {
    outcome: "baseline",
    decision: `the baseline scores: ${best} is under ${bar}, the better simple score's ${simple} + ${minGain}, ` +
      "on the same holdout, so no model earns its complexity",
  };
}

/** At most `n` samples, chosen by a hash of their user and moment so the choice is repeatable. */
function subsample<T extends { user_id: string; t: number }>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  const key = (x: T) => {
    let h = 2166136261;
    for (const c of `${x.user_id}@${x.t}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
    return h >>> 0;
  };
  return [...xs].sort((a, b) => key(a) - key(b)).slice(0, n);
}
