/**
 * `churn`: who is about to leave. Features per user are kept current as events arrive; a CART tree,
 * trained on past snapshots and checked against baselines on a time-based holdout, scores every active user
 * in event time, with the tree path as reasons.
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  answerHttpError,
  definePlugin,
  describeRoute,
  type Env,
  type Event,
  HttpError,
  type Merge,
  parseBody,
} from "@runtime/sdk";
import { recordActivity } from "./activity.ts";
import { moveActivity } from "./merge.ts";
import { AtRisk, AtRiskQuery, ModelReport, Scored, ScoreRequest, Trained, UserPath, UserScore } from "./api.ts";
import { FEATURES, featuresOf } from "./features.ts";
import { round } from "./model.ts";
import { describe, liveScorer, named, rescoreAll, saveScores, scorerOf, scoreWith } from "./scores.ts";
import { denseSpan, planTraining } from "./span.ts";
import { type StoredModel, train } from "./train.ts";

/** Settings, from `PLUGIN_CHURN`. */
const Config = z.strictObject({
  /** A user has churned at a moment when they have no event in the next `horizonDays` days. */
  horizonDays: z.int().min(3).max(90).default(14),
  /** Days between two training snapshots. */
  stepDays: z.int().min(1).max(30).default(3),
  /** The holdout ROC-AUC a model must add over recency alone and over the baseline to go live. */
  minGain: z.number().min(0).max(0.2).default(0.02),
  /** Days of event time after which the scheduled check retrains. */
  retrainEveryDays: z.int().min(1).max(90).default(1),
});
type Config = z.infer<typeof Config>;
type ChurnEnv = Env<Config>;
type Db = Env["db"];

async function queue(batch: Event[], env: ChurnEnv): Promise<void> {
  const clock = await recordActivity(env.db, batch);
  const span = await denseSpan(env.db);
  if (span === null) return;
  const scorer = scorerOf(clock, env.config.horizonDays);
  const latest = new Date(span.to).toISOString();
  const now = justAfter(latest);
  const today = latest.slice(0, 10);
  await env.db.query("update clock set now = $1, rescored = $2::date", [latest, today]);
  if (clock.rescored !== today) {
    // A new day of event time: everyone's recency moved, so every active user is scored again.
    await rescoreAll(env.db, scorer, now);
  } else {
    await saveScores(env.db, scorer, now, await featuresOf(env.db, [...new Set(batch.map((e) => e.user_id))], now));
  }
}

/** Moves the merged ids' activity to their persons, who are scored again. */
async function merge(merges: Merge[], env: ChurnEnv): Promise<void> {
  await moveActivity(env.db, merges);
  const latest = await clockOf(env.db);
  if (latest === null) return;
  const now = justAfter(latest);
  const scorer = await liveScorer(env.db, env.config.horizonDays);
  await saveScores(env.db, scorer, now, await featuresOf(env.db, [...new Set(merges.map((m) => m.into))], now));
}

/** After a training: every active user scored by what is live now, as of the end of the dense history `latest`. */
async function rescoreAfterTraining(env: ChurnEnv, latest: string): Promise<void> {
  await rescoreAll(env.db, await liveScorer(env.db, env.config.horizonDays), justAfter(latest));
  await env.db.query("update clock set rescored = $1::date", [latest.slice(0, 10)]);
}

/** The end of the dense history: the plugin's "now" (stray events far after it do not move it). */
async function clockOf(db: Db): Promise<string | null> {
  const [c] = await db.query<{ now: string | null }>("select now from clock");
  return c?.now ? new Date(c.now).toISOString() : null;
}

/** The moment live features are taken at: just after the latest event, so that event and its session count. */
function justAfter(latest: string): string {
  return new Date(Date.parse(latest) + 1).toISOString();
}

const app = new Hono<{ Bindings: ChurnEnv }>();

app.notFound((c) => c.json({ error: `no route for ${c.req.method} /api/churn${c.req.path}` }, 404));
app.onError(answerHttpError);

app.get(
  "/at-risk",
  describeRoute({ summary: "Users most likely to churn", query: AtRiskQuery, response: AtRisk, errors: [400] }),
  async (c) => {
    const { limit, min_score: minScore, offset } = c.req.valid("query");
    const scorer = await liveScorer(c.env.db, c.env.config.horizonDays);
    const rows = await c.env.db.query<{ total: number; user_id: string | null; score: number; reasons: string[] }>(
      `with total as (select count(*)::int8 as total from scores where score >= $1)
       select t.total, p.* from total t left join lateral (
         select user_id, score, reasons from scores where score >= $1 order by score desc, user_id limit $2 offset $3
       ) p on true`,
      [minScore, limit, offset],
    );
    const users = rows.filter((r) => r.user_id !== null).map(({ total: _, ...u }) => u);
    return c.json({
      model_version: scorer.version,
      kind: scorer.kind,
      as_of: await clockOf(c.env.db),
      total: rows[0].total,
      users,
      next_offset: offset + users.length < rows[0].total ? offset + users.length : null,
    });
  },
);

app.get(
  "/users/:user_id",
  describeRoute({ summary: "A user's churn score and features", params: UserPath, response: UserScore, errors: [404] }),
  async (c) => {
    const user = c.req.param("user_id");
    const latest = await clockOf(c.env.db);
    const now = latest && justAfter(latest);
    const [o] = now ? await featuresOf(c.env.db, [user], now) : [];
    if (!o) return c.json({ error: `no activity for user '${user}' in the last 30 days of event time` }, 404);
    const scorer = await liveScorer(c.env.db, c.env.config.horizonDays);
    const { score, reasons } = scoreWith(scorer, o.x);
    return c.json({
      user_id: user,
      as_of: now,
      model_version: scorer.version,
      kind: scorer.kind,
      score: round(score),
      reasons,
      features: named(o.x),
    });
  },
);

app.get(
  "/model",
  describeRoute({
    summary: "What scores now (the baseline or a model), what training needs, and every version",
    response: ModelReport,
  }),
  async (c) => {
    const models = await c.env.db.query<StoredModel>("select * from models order by version desc");
    const live = models.find((m) => m.live);
    const latest = models[0];
    const scorer = await liveScorer(c.env.db, c.env.config.horizonDays);
    const span = await denseSpan(c.env.db);
    const plan = planTraining(span, c.env.config);
    const [{ training_error: lastError }] = await c.env.db.query<{ training_error: string | null }>(
      "select (select training_error from clock) as training_error",
    );
    const quality = live?.metrics ?? latest?.metrics.holdout.baseline ?? null;
    return c.json({
      kind: scorer.kind,
      model_version: scorer.version,
      description: describe(scorer),
      trained_at: live?.trained_at ?? null,
      as_of: live?.as_of ?? null,
      samples: live?.samples ?? null,
      auc: quality?.auc ?? null,
      pr_auc: quality?.pr_auc ?? null,
      feature_importance: live?.metrics.feature_importance ?? null,
      metrics: live?.metrics ?? latest?.metrics ?? null,
      training: {
        needs: typeof plan === "string" ? plan : lastError,
        horizon_days: typeof plan === "string" ? null : plan.horizonDays,
        step_days: typeof plan === "string" ? null : plan.stepDays,
        history: span && { from: new Date(span.from).toISOString(), to: new Date(span.to).toISOString() },
      },
      versions: models.map((m) => ({
        version: m.version,
        kind: m.kind,
        live: m.live,
        auc: m.metrics.auc,
        trained_at: m.trained_at,
        decision: m.metrics.decision,
      })),
    });
  },
);

app.post(
  "/train",
  describeRoute({
    summary: "Train a model on the history so far; it goes live if it beats the baseline and the live model",
    response: Trained,
    status: 201,
    errors: [409],
  }),
  async (c) => {
    const m = await train(c.env.db, c.env.config);
    await rescoreAfterTraining(c.env, m.as_of);
    return c.json({ model_version: m.version, kind: m.kind, live: m.live, metrics: m.metrics }, 201);
  },
);

app.post(
  "/score",
  describeRoute({
    summary: "Score given features with what is live (the baseline or a model)",
    body: ScoreRequest,
    response: Scored,
    errors: [400],
  }),
  async (c) => {
    const { features } = await parseBody(c.req.raw, ScoreRequest);
    const scorer = await liveScorer(c.env.db, c.env.config.horizonDays);
    const { score, reasons } = scoreWith(scorer, FEATURES.map((f) => features[f] as number));
    return c.json({ model_version: scorer.version, kind: scorer.kind, score: round(score), reasons });
  },
);

/**
 * Trains once the history supports an honest time split, then again after `retrainEveryDays` of event time since
 * the last attempt (kept or not, failed or not: else a candidate that loses would be trained at every check).
 */
async function retrainIfDue(env: ChurnEnv): Promise<void> {
  const [clock] = await env.db.query<{ now: string | null; attempted: string | null }>(
    "select now, attempted from clock",
  );
  if (!clock?.now) return;
  const now = Date.parse(new Date(clock.now).toISOString());
  if (
    clock.attempted && now - Date.parse(new Date(clock.attempted).toISOString()) < env.config.retrainEveryDays * DAY
  ) {
    return;
  }
  if (typeof planTraining(await denseSpan(env.db), env.config) === "string") return; // too early: normal at first
  await env.db.query("update clock set attempted = $1", [clock.now]);
  try {
    const m = await train(env.db, env.config);
    await rescoreAfterTraining(env, m.as_of);
    await env.db.query("update clock set training_error = null");
    env.log.info("retrained", { version: m.version, live: m.live, auc: m.metrics.auc, decision: m.metrics.decision });
  } catch (e) {
    if (!(e instanceof HttpError && e.status === 409)) throw e;
    await env.db.query("update clock set training_error = $1", [e.message]);
  }
}

const DAY = 86_400_000;

export default definePlugin({
  name: "churn",
  version: "0.1.0",
  subscribes: "*",
  config: Config,
  queue,
  merge,
  fetch: app,
  scheduled: { everyMs: 10_000, run: retrainIfDue },
  limits: { timeoutMs: 60_000 },
  panels: [{ title: "Users at risk of churning", route: "/at-risk?limit=10", kind: "table" }],
  // Scores are as of the store's clock, which every batch reads and moves, and a new day rescores every user.
  partitioned: false,
});
