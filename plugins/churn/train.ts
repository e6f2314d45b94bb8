/**
 * Training: snapshots of every active user at past midnights of event time, labelled by whether they came
 * back within the horizon; a time-based split; CART against logistic regression and recency alone; the
 * winner goes live only if it beats the live model on the same holdout (strictly: a tie keeps the live one).
 */
import { type Env, HttpError } from "@runtime/sdk";
import type { Metrics } from "./api.ts";
import { FEATURES, snapshotAt } from "./features.ts";
import { importance, type Model, prAuc, predict, rocAuc, round, trainCart, trainLogistic } from "./model.ts";

type Db = Env["db"];

/** How the plugin trains, from `PLUGIN_CHURN`. */
export interface TrainingConfig {
  /** A user churned at a moment when they have no event in the next `horizonDays` days. */
  horizonDays: number;
  /** Days between two snapshot moments. */
  stepDays: number;
}

const DAY = 86_400_000;
/** Snapshots start once users can have this much history. */
const WARMUP_DAYS = 14;
/** The most samples a model is trained on (a deterministic subsample beyond). */
const MAX_TRAINING_SAMPLES = 4000;
/** Snapshot moments a training looks at, the latest ones (at 3 days a step, a year and a half). */
const MAX_MOMENTS = 180;

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

/** The live model, if any. */
export async function liveModel(db: Db): Promise<StoredModel | null> {
  const [m] = await db.query<StoredModel>("select * from models where live");
  return m ?? null;
}

/** The snapshot moments available at `now`: midnights whose horizon has fully passed. */
async function snapshotMoments(db: Db, now: string, cfg: TrainingConfig): Promise<number[]> {
  const [{ first }] = await db.query<{ first: string | null }>("select min(day)::text as first from activity");
  if (first === null) return [];
  const moments: number[] = [];
  const last = Math.floor(Date.parse(now) / DAY) * DAY - cfg.horizonDays * DAY;
  // The latest MAX_MOMENTS only: a history spanning centuries must not mean a snapshot query per step of it.
  const from = Math.max(
    Date.parse(`${first}T00:00:00Z`) + WARMUP_DAYS * DAY,
    last - (MAX_MOMENTS - 1) * cfg.stepDays * DAY,
  );
  for (let t = from; t <= last; t += cfg.stepDays * DAY) moments.push(t);
  return moments;
}

/** Trains on the history up to `now` (event time) and stores the result; the decision says if it went live. */
export async function train(db: Db, now: string, cfg: TrainingConfig): Promise<StoredModel> {
  const moments = await snapshotMoments(db, now, cfg);
  // Hold out the latest quarter of moments; train only on moments whose labels were known by the first of them.
  const holdoutFrom = moments[moments.length - Math.max(1, Math.round(moments.length / 4))];
  const trainMoments = moments.filter((t) => t + cfg.horizonDays * DAY <= holdoutFrom);
  if (trainMoments.length === 0) {
    const need = WARMUP_DAYS + 2 * cfg.horizonDays + cfg.stepDays;
    throw new HttpError(
      409,
      `not enough history to train: need about ${need} days of events (horizon ${cfg.horizonDays} days), ` +
        `have snapshots at ${moments.length} moments`,
    );
  }
  const snapshots = async (ts: number[]) =>
    (await Promise.all(ts.map((t) => snapshotAt(db, new Date(t).toISOString(), cfg.horizonDays)))).flat();
  const training = subsample(await snapshots(trainMoments), MAX_TRAINING_SAMPLES);
  const holdout = await snapshots(moments.filter((t) => t >= holdoutFrom));
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
  const holdoutMetrics = {
    cart: judge((x) => predict(cart, x).score),
    logistic: judge((x) => predict(logistic, x).score),
    recency: judge((x) => x[recencyColumn]),
    live: null as { auc: number; pr_auc: number } | null,
  };
  const [model, kind] = holdoutMetrics.cart.auc >= holdoutMetrics.logistic.auc
    ? [cart, "cart" as const]
    : [logistic, "logistic" as const];
  const own = holdoutMetrics[kind];
  const live = await liveModel(db);
  if (live) holdoutMetrics.live = judge((x) => predict(live.model, x).score);
  const { promote, decision } = promotion(own.auc, live && { version: live.version, auc: holdoutMetrics.live!.auc });
  const metrics: Metrics = {
    ...own,
    holdout: holdoutMetrics,
    train_samples: training.length,
    holdout_samples: holdout.length,
    churn_rate: round(labels.filter(Boolean).length / labels.length),
    snapshots: {
      from: new Date(moments[0]).toISOString(),
      to: new Date(moments[moments.length - 1]).toISOString(),
      holdout_from: new Date(holdoutFrom).toISOString(),
    },
    feature_importance: importance(model),
    decision,
  };
  // One statement: the new version and the live flag move together. Two trainings finishing at once would
  // take the same version number: the second is refused.
  const [stored] = await db.query<StoredModel>(
    `with retired as (update models set live = false where $5 and live returning version)
     insert into models (version, kind, trained_at, as_of, samples, metrics, model, live)
     select coalesce((select max(version) from models), 0) + 1, $1, now(), $2, $3, $4::jsonb, $6::jsonb, $5
     returning *`,
    [kind, now, training.length, JSON.stringify(metrics), promote, JSON.stringify(model)],
  ).catch((e) => {
    if (/duplicate key/.test((e as Error).message)) {
      throw new HttpError(409, "another training finished first; try again");
    }
    throw e;
  });
  return stored;
}

/**
 * Whether a new model with holdout AUC `auc` replaces the live one, measured on the same holdout: only when it is
 * strictly better (a tie, such as retraining on the same history, keeps the live version and its scores).
 */
export function promotion(
  auc: number,
  live: { version: number; auc: number } | null,
): { promote: boolean; decision: string } {
  if (!live) return { promote: true, decision: "first model" };
  if (auc > live.auc) {
    return { promote: true, decision: `AUC ${auc} > ${live.auc} of live version ${live.version} on the same holdout` };
  }
  return {
    promote: false,
    decision: `kept live version ${live.version}: its AUC ${live.auc} ≥ ${auc} on the same holdout`,
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
