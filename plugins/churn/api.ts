/**
 * What the churn routes take and answer, as zod schemas: the handlers parse their input with them, and
 * `describeRoute()` publishes them in the OpenAPI document.
 */
import { z } from "zod";
import { FEATURES } from "./features.ts";

const Time = z.iso.datetime();
const Score = z.number().min(0).max(1).describe("churn probability, 0..1");
const Reasons = z.array(z.string()).describe("why: the tree path, or the features that raise the score most");
const Kind = z.enum(["cart", "logistic"]).describe("a CART tree or logistic regression");
const Scorer = z.enum(["baseline", "cart", "logistic"])
  .describe("what scores: the baseline (no training needed; see the plugin's README) or a trained model");
const Version = z.int().nullable().describe("the live model's version; null while the baseline scores");
const Quality = z.strictObject({ auc: z.number().describe("ROC-AUC"), pr_auc: z.number().describe("PR-AUC") });

/** Every feature of a user by name, all of them. */
export const Features = z.strictObject(Object.fromEntries(FEATURES.map((f) => [f, z.number()])));

/** Each feature's share of the model's decisions; features with no share are left out. */
const Importance = z.partialRecord(z.enum(FEATURES), z.number().min(0).max(1));

/** Holdout quality of each candidate, and the split. */
export const Metrics = z.strictObject({
  auc: z.number().describe("the kept candidate's holdout ROC-AUC"),
  pr_auc: z.number(),
  holdout: z.strictObject({
    cart: Quality,
    logistic: Quality,
    recency: Quality.describe("recency alone"),
    baseline: Quality.describe("the baseline: recency against the user's own rhythm"),
    live: Quality.nullable().describe("the model live at training time, on the same holdout; null when none"),
  }),
  train_samples: z.int(),
  holdout_samples: z.int(),
  churn_rate: z.number().describe("the share of holdout snapshots that churned"),
  horizon_days: z.int().describe("the label's horizon chosen for the history: no event in this many days"),
  step_days: z.int().describe("days between snapshot moments chosen for the history"),
  snapshots: z.strictObject({ from: Time, to: Time, holdout_from: Time }),
  feature_importance: Importance,
  decision: z.string().describe("why the model went live, or did not"),
  outcome: z.enum(["promoted", "kept", "baseline"])
    .describe("what is live after this training: this model, the model live before, or the baseline"),
});
export type Metrics = z.infer<typeof Metrics>;

/** `GET /at-risk`'s query. */
export const AtRiskQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50).describe("most users answered, 1..1000 (default 50)"),
  min_score: z.coerce.number().min(0).max(1).default(0.5).describe("lowest score answered, 0..1 (default 0.5)"),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0)
    .describe("users to skip, for the next page: the previous page's `next_offset` (default 0)"),
});

/** `GET /at-risk`: the active users most likely to churn, highest score first. */
export const AtRisk = z.strictObject({
  model_version: Version,
  kind: Scorer,
  as_of: Time.nullable().describe("the end of the dense history (its latest event); null before any event"),
  total: z.number().int().min(0).describe("users scoring min_score or more, on every page"),
  users: z.array(z.strictObject({ user_id: z.string(), score: Score, reasons: Reasons })),
  next_offset: z.number().int().min(1).nullable().describe("the `offset` of the next page; null on the last"),
});

/** `GET /users/:user_id`'s path. */
export const UserPath = z.object({ user_id: z.string().min(1).max(128).describe("the user") });

/** `GET /users/:user_id`: a user's live features and score. */
export const UserScore = z.strictObject({
  user_id: z.string(),
  as_of: Time.describe("the moment the features are taken at: just after the latest event"),
  model_version: Version,
  kind: Scorer,
  score: Score,
  reasons: Reasons,
  features: Features,
});

/** What training needs or chose, for `GET /model`. */
const Training = z.strictObject({
  needs: z.string().nullable().describe(
    "what the history lacks for an honest time split (or why the last scheduled training failed); null when nothing",
  ),
  horizon_days: z.int().nullable().describe("the horizon a training would use now; null while it cannot train"),
  step_days: z.int().nullable(),
  history: z.strictObject({ from: Time, to: Time }).nullable()
    .describe("the dense part of the history: stray events far before or after it are left out"),
});

/** `GET /model`: what scores now (the baseline or a model), what training needs, and every version. */
export const ModelReport = z.strictObject({
  kind: Scorer,
  model_version: Version,
  description: z.string().describe("how the live scorer scores"),
  trained_at: Time.nullable().describe("wall-clock time of training; null for the baseline"),
  as_of: Time.nullable().describe("the event time the model was trained at; null for the baseline"),
  samples: z.int().nullable().describe("training snapshots; null for the baseline"),
  auc: z.number().nullable().describe("the live scorer's holdout ROC-AUC at the latest training; null before one"),
  pr_auc: z.number().nullable(),
  feature_importance: Importance.nullable().describe("the live model's; null for the baseline"),
  metrics: Metrics.nullable().describe("the latest training's metrics (of the live model, when one is live)"),
  training: Training,
  versions: z.array(z.strictObject({
    version: z.int(),
    kind: Kind,
    live: z.boolean(),
    auc: z.number(),
    trained_at: Time,
    decision: z.string(),
  })).describe("newest first"),
});

/** `POST /train`: the new model, live or not. */
export const Trained = z.strictObject({ model_version: z.int(), kind: Kind, live: z.boolean(), metrics: Metrics });

/** `POST /score`'s body: every feature, by name. */
export const ScoreRequest = z.strictObject({ features: Features });

/** `POST /score`: the live model's score for the features. */
export const Scored = z.strictObject({ model_version: Version, kind: Scorer, score: Score, reasons: Reasons });
