/**
 * What the fraud routes take and answer, as zod schemas: the handlers parse their bodies with them, and
 * `describeRoute()` publishes them in the OpenAPI document.
 */
import { queryTime } from "@runtime/sdk";
import { z } from "zod";
import { FEATURES } from "./model.ts";
import { Rule } from "./rules.ts";

const Time = z.iso.datetime();
const Reasons = z.array(z.string()).describe("`<rule_id>: <why>` of each rule that fired, largest points first");
/** The rule ids a rule may be saved under. */
export const RULE_ID = /^[a-z][a-z0-9_]{0,63}$/;

/** A rule as stored, one shape per kind, with `extra` fields beside. */
function storedRule<S extends z.ZodRawShape>(extra: S) {
  const shapes = Rule.options.map((o) => o.extend(extra));
  return z.discriminatedUnion("kind", shapes as [(typeof shapes)[number], ...(typeof shapes)[number][]]);
}

/** `GET /alerts`' query. */
export const AlertsQuery = z.object({
  since: queryTime("only alerts created at or after this moment"),
  limit: z.coerce.number().int().min(1).max(1000).default(50).describe("most alerts answered, 1..1000 (default 50)"),
  user_id: z.string().optional().describe("only this user's alerts"),
});

/** `GET /alerts`: flagged purchases, newest first. */
export const Alerts = z.strictObject({
  alerts: z.array(z.strictObject({
    alert_id: z.string(),
    event_id: z.string().describe("the purchase"),
    user_id: z.string(),
    score: z.number().describe("the sum of the points of the rules that fired"),
    reasons: Reasons,
    amount: z.number(),
    event_time: Time.describe("the purchase's event time"),
    created_at: Time.describe("when the alert was raised"),
    ruleset: z.int().describe("the ruleset version that decided"),
  })),
});

/** A candidate purchase for `POST /score`. */
export const Candidate = z.object({
  event_id: z.string().min(1).max(128).optional(),
  user_id: z.string().min(1).max(128),
  timestamp: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/, "must be an ISO-8601 timestamp"),
  properties: z.object({
    amount: z.number().min(0),
    country: z.string().min(2).max(2).optional(),
    device: z.string().min(1).max(64).optional(),
  }).passthrough(),
});

/** `POST /score`: the decision on a candidate, which is not stored. */
export const Scored = z.strictObject({
  score: z.number(),
  flagged: z.boolean().describe("score at or above the threshold"),
  reasons: Reasons,
  model_p: z.number().min(0).max(1).nullable().describe("the learned model's fraud probability; null when none"),
  ruleset: z.int().describe("the ruleset version that decided"),
});

/** `GET /rules`: every rule, enabled or not, the threshold and the ruleset's version. */
export const Ruleset = z.strictObject({
  rules: z.array(storedRule({ rule_id: z.string() })),
  threshold: z.number().describe("a purchase scoring this or more is flagged"),
  version: z.int().describe("the ruleset version, bumped by every edit"),
});

/** `GET /rules/history`: every change of every rule, newest first. */
export const RuleHistory = z.strictObject({
  changes: z.array(z.strictObject({
    rule_id: z.string(),
    version: z.int(),
    definition: Rule.nullable().describe("the rule as saved; null when it was deleted"),
    changed_at: Time,
  })),
});

/** `PUT /rules/:rule_id`'s path. */
export const RulePath = z.object({
  rule_id: z.string().regex(RULE_ID).describe("the rule: a lower-case identifier, 1..64 characters"),
});

/** `PUT /rules/:rule_id`: the rule as saved, its version and the ruleset's. */
export const SavedRule = storedRule({
  rule_id: z.string(),
  version: z.int().describe("the rule's version"),
  ruleset: z.int().describe("the ruleset's version"),
});

/** `PUT /threshold`'s body. */
export const Threshold = z.strictObject({ threshold: z.number().min(0).max(10_000) });

/** `PUT /threshold`: the threshold and the ruleset's version. */
export const ThresholdSet = z.strictObject({ threshold: z.number(), version: z.int() });

/** `POST /labels`' body: outcomes an analyst confirmed; the last label of an event counts. */
export const Labels = z.strictObject({
  labels: z.array(z.strictObject({ event_id: z.string().min(1).max(128), fraud: z.boolean() })).min(1).max(10_000),
});

/** `POST /labels`: how many purchases were labelled; ids of no known purchase are left out and listed. */
export const Labelled = z.strictObject({ labelled: z.int(), unknown: z.array(z.string()) });

const Share = z.number().min(0).max(1);
const PerUser = z.strictObject({ precision: Share, recall: Share, f1: Share });

/** A training's holdout comparison, per user, and its decision. */
export const TrainingMetrics = z.strictObject({
  rules: PerUser.describe("the rules alone"),
  model: PerUser.describe("the new model alone"),
  rules_or_model: PerUser.describe("the rules with the new model's rule"),
  enabled_model: PerUser.extend({ version: z.int() }).nullable()
    .describe("the rules with the model enabled at training time; null when none"),
  train_purchases: z.int(),
  holdout_purchases: z.int(),
  holdout_from: Time.describe("the holdout: labelled purchases from this event time on"),
  decision: z.string().describe("why the model was enabled, or not"),
});
export type TrainingMetrics = z.infer<typeof TrainingMetrics>;

/** `POST /model/train`: the new model's version, whether it is enabled, and why. */
export const Trained = z.strictObject({ version: z.int(), enabled: z.boolean(), metrics: TrainingMetrics });
export type Trained = z.infer<typeof Trained>;

/** `GET /model`: the model's features and every version, newest first. */
export const Models = z.strictObject({
  features: z.array(z.enum(FEATURES)).describe("what the model sees of a purchase, in order"),
  models: z.array(
    z.strictObject({ version: z.int(), trained_at: Time, enabled: z.boolean(), metrics: TrainingMetrics }),
  ),
});
