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
    recency: Quality.describe("recency alone, the baseline"),
    live: Quality.nullable().describe("the model live at training time, on the same holdout; null when none"),
  }),
  train_samples: z.int(),
  holdout_samples: z.int(),
  churn_rate: z.number().describe("the share of holdout snapshots that churned"),
  snapshots: z.strictObject({ from: Time, to: Time, holdout_from: Time }),
  feature_importance: Importance,
  decision: z.string().describe("why the model went live, or did not"),
});
export type Metrics = z.infer<typeof Metrics>;

/** `GET /at-risk`'s query. */
export const AtRiskQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50).describe("most users answered, 1..1000 (default 50)"),
  min_score: z.coerce.number().min(0).max(1).default(0.5).describe("lowest score answered, 0..1 (default 0.5)"),
});

/** `GET /at-risk`: the active users most likely to churn, highest score first. */
export const AtRisk = z.strictObject({
  model_version: z.int().nullable().describe("the live model's version; null before the first model"),
  as_of: Time.nullable().describe("the latest event time seen; null before any event"),
  users: z.array(z.strictObject({ user_id: z.string(), score: Score, reasons: Reasons })),
});

/** `GET /users/:user_id`'s path. */
export const UserPath = z.object({ user_id: z.string().min(1).max(128).describe("the user") });

/** `GET /users/:user_id`: a user's live features and score. */
export const UserScore = z.strictObject({
  user_id: z.string(),
  as_of: Time.describe("the moment the features are taken at: just after the latest event"),
  model_version: z.int().nullable().describe("null before the first model"),
  score: Score.nullable().describe("churn probability, 0..1; null before the first model"),
  reasons: Reasons,
  features: Features,
});

/** `GET /model`: the live model and every version. */
export const ModelReport = z.strictObject({
  model_version: z.int(),
  kind: Kind,
  trained_at: Time.describe("wall-clock time of training"),
  as_of: Time.describe("the event time it was trained at"),
  samples: z.int().describe("training snapshots"),
  auc: z.number(),
  pr_auc: z.number(),
  feature_importance: Importance,
  metrics: Metrics,
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
export const Scored = z.strictObject({ model_version: z.int(), score: Score, reasons: Reasons });
