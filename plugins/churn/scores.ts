/**
 * Scoring: the live scorer (the live model, or the baseline while none is live) applied to users' features, and the
 * `scores` table kept current with it.
 */
import type { Env } from "@runtime/sdk";
import { BASELINE_DESCRIPTION, baselineScore } from "./baseline.ts";
import { FEATURES, featuresOfActive, type Observation } from "./features.ts";
import { type Model, predict, round } from "./model.ts";

type Db = Env["db"];

/** What scores users: the baseline at a horizon, or a trained model. */
export type Scorer =
  | { kind: "baseline"; version: null; horizonDays: number }
  | { kind: Model["kind"]; version: number; model: Model };

/** The scorer for a live model row, if any; else the baseline at `horizonDays`. */
export function scorerOf(live: { version: number | null; model: Model | null } | null, horizonDays: number): Scorer {
  return live?.model && live.version !== null
    ? { kind: live.model.kind, version: live.version, model: live.model }
    : { kind: "baseline", version: null, horizonDays };
}

/** The live scorer. */
export async function liveScorer(db: Db, horizonDays: number): Promise<Scorer> {
  const [live] = await db.query<{ version: number; model: Model }>("select version, model from models where live");
  return scorerOf(live ?? null, horizonDays);
}

/** How a scorer scores, in words. */
export function describe(scorer: Scorer): string {
  if (scorer.kind === "baseline") return `baseline (horizon ${scorer.horizonDays} days): ${BASELINE_DESCRIPTION}`;
  return scorer.kind === "cart" ? "a CART decision tree; reasons are its path" : "logistic regression";
}

/** A scorer's churn probability for features `x`, with its reasons. */
export function scoreWith(scorer: Scorer, x: number[]): { score: number; reasons: string[] } {
  return scorer.kind === "baseline" ? baselineScore(x, scorer.horizonDays) : predict(scorer.model, x);
}

/** Scores every user active at `now`; users no longer active lose their score. */
export async function rescoreAll(db: Db, scorer: Scorer, now: string): Promise<void> {
  const observations = await featuresOfActive(db, now);
  await db.query("delete from scores where not (user_id = any($1::text[]))", [observations.map((o) => o.user_id)]);
  await saveScores(db, scorer, now, observations);
}

/** Saves the scores of `observations`; reasons and features go as one JSON array each (cheap for the host). */
export async function saveScores(db: Db, scorer: Scorer, now: string, observations: Observation[]): Promise<void> {
  if (observations.length === 0) return;
  const scored = observations.map((o) => ({ o, ...scoreWith(scorer, o.x) }));
  await db.query(
    `insert into scores (user_id, score, reasons, features, model_version, kind, as_of)
     select user_id, score, reasons, features, $5, $6, $7
     from rows from (unnest($1::text[]), unnest($2::float8[]), jsonb_array_elements($3::jsonb),
                     jsonb_array_elements($4::jsonb)) as s(user_id, score, reasons, features)
     on conflict (user_id) do update set score = excluded.score, reasons = excluded.reasons,
       features = excluded.features, model_version = excluded.model_version, kind = excluded.kind,
       as_of = excluded.as_of`,
    [
      scored.map((s) => s.o.user_id),
      scored.map((s) => round(s.score)),
      JSON.stringify(scored.map((s) => s.reasons)),
      JSON.stringify(scored.map((s) => named(s.o.x))),
      scorer.version,
      scorer.kind,
      now,
    ],
  );
}

/** Features by name. */
export const named = (x: number[]): Record<string, number> => Object.fromEntries(FEATURES.map((f, j) => [f, x[j]]));
