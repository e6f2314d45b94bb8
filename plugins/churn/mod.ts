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
import { FEATURES, featuresOf, featuresOfActive, type Observation } from "./features.ts";
import { predict, round } from "./model.ts";
import { liveModel, type StoredModel, train } from "./train.ts";

/** Settings, from `PLUGIN_CHURN`. */
const Config = z.strictObject({
  /** A user has churned at a moment when they have no event in the next `horizonDays` days. */
  horizonDays: z.int().min(3).max(90).default(14),
  /** Days between two training snapshots. */
  stepDays: z.int().min(1).max(30).default(3),
  /** Days of event time after which the scheduled check retrains. */
  retrainEveryDays: z.int().min(1).max(90).default(1),
});
type Config = z.infer<typeof Config>;
type ChurnEnv = Env<Config>;
type Db = Env["db"];

async function queue(batch: Event[], env: ChurnEnv): Promise<void> {
  const clock = await recordActivity(env.db, batch);
  if (clock.version === null || clock.model === null) return;
  const model = { version: clock.version, model: clock.model };
  const latestIso = new Date(clock.latest).toISOString();
  const now = justAfter(latestIso);
  const today = latestIso.slice(0, 10);
  if (clock.rescored !== today) {
    // A new day of event time: everyone's recency moved, so every active user is scored again.
    await rescoreAll(env.db, model, now);
    await env.db.query("update clock set rescored = $1::date", [today]);
  } else {
    await saveScores(env.db, model, now, await featuresOf(env.db, [...new Set(batch.map((e) => e.user_id))], now));
  }
}

/** Moves the merged ids' activity to their persons, who are scored again when a model is live. */
async function merge(merges: Merge[], env: ChurnEnv): Promise<void> {
  await moveActivity(env.db, merges);
  const [live] = await env.db.query<{ latest: string; version: number; model: StoredModel["model"] }>(
    "select c.latest, m.version, m.model from clock c join models m on m.live",
  );
  if (live === undefined) return;
  const now = justAfter(new Date(live.latest).toISOString());
  await saveScores(env.db, live, now, await featuresOf(env.db, [...new Set(merges.map((m) => m.into))], now));
}

/** What scoring needs of a model. */
type Live = Pick<StoredModel, "version" | "model">;

/** After a model goes live: every active user scored by it, as of the clock `latest`. */
async function rescoreWith(db: Db, model: StoredModel, latest: string): Promise<void> {
  await rescoreAll(db, model, justAfter(latest));
  await db.query("update clock set rescored = $1::date", [latest.slice(0, 10)]);
}

/** Scores every user active at `now`; users no longer active lose their score. */
async function rescoreAll(db: Db, model: Live, now: string): Promise<void> {
  const observations = await featuresOfActive(db, now);
  await db.query("delete from scores where not (user_id = any($1::text[]))", [observations.map((o) => o.user_id)]);
  await saveScores(db, model, now, observations);
}

/** Saves the scores of `observations`; reasons and features go as one JSON array each (cheap for the host). */
async function saveScores(db: Db, model: Live, now: string, observations: Observation[]): Promise<void> {
  if (observations.length === 0) return;
  const scored = observations.map((o) => ({ o, ...predict(model.model, o.x) }));
  await db.query(
    `insert into scores (user_id, score, reasons, features, model_version, as_of)
     select user_id, score, reasons, features, $5, $6
     from rows from (unnest($1::text[]), unnest($2::float8[]), jsonb_array_elements($3::jsonb),
                     jsonb_array_elements($4::jsonb)) as s(user_id, score, reasons, features)
     on conflict (user_id) do update set score = excluded.score, reasons = excluded.reasons,
       features = excluded.features, model_version = excluded.model_version, as_of = excluded.as_of`,
    [
      scored.map((s) => s.o.user_id),
      scored.map((s) => round(s.score)),
      JSON.stringify(scored.map((s) => s.reasons)),
      JSON.stringify(scored.map((s) => named(s.o.x))),
      model.version,
      now,
    ],
  );
}

/** Features by name. */
const named = (x: number[]) => Object.fromEntries(FEATURES.map((f, j) => [f, x[j]]));

/** The latest event time the plugin has seen: its "now". */
async function clockOf(db: Db): Promise<string | null> {
  const [c] = await db.query<{ latest: string }>("select latest from clock");
  return c ? new Date(c.latest).toISOString() : null;
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
    const { limit, min_score: minScore } = c.req.valid("query");
    const model = await liveModel(c.env.db);
    const users = await c.env.db.query(
      `select user_id, score, reasons from scores where score >= $1 order by score desc, user_id limit $2`,
      [minScore, limit],
    );
    return c.json({ model_version: model?.version ?? null, as_of: await clockOf(c.env.db), users });
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
    const model = await liveModel(c.env.db);
    const scored = model ? predict(model.model, o.x) : null;
    return c.json({
      user_id: user,
      as_of: now,
      model_version: model?.version ?? null,
      score: scored ? round(scored.score) : null,
      reasons: scored?.reasons ?? [],
      features: named(o.x),
    });
  },
);

app.get(
  "/model",
  describeRoute({
    summary: "The live model, its holdout metrics, and every version",
    response: ModelReport,
    errors: [404],
  }),
  async (c) => {
    const models = await c.env.db.query<StoredModel>("select * from models order by version desc");
    const live = models.find((m) => m.live);
    if (!live) return c.json({ error: "no model yet: POST /api/churn/train once there are weeks of history" }, 404);
    return c.json({
      model_version: live.version,
      kind: live.kind,
      trained_at: live.trained_at,
      as_of: live.as_of,
      samples: live.samples,
      auc: live.metrics.auc,
      pr_auc: live.metrics.pr_auc,
      feature_importance: live.metrics.feature_importance,
      metrics: live.metrics,
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
    summary: "Train a model on the history so far; it goes live if strictly better on the same holdout",
    response: Trained,
    status: 201,
    errors: [409],
  }),
  async (c) => {
    const now = await clockOf(c.env.db);
    if (!now) throw new HttpError(409, "not enough history to train: no events yet");
    const m = await train(c.env.db, now, c.env.config);
    if (m.live) await rescoreWith(c.env.db, m, now);
    return c.json({ model_version: m.version, kind: m.kind, live: m.live, metrics: m.metrics }, 201);
  },
);

app.post(
  "/score",
  describeRoute({
    summary: "Score given features with the live model",
    body: ScoreRequest,
    response: Scored,
    errors: [400, 409],
  }),
  async (c) => {
    const { features } = await parseBody(c.req.raw, ScoreRequest);
    const model = await liveModel(c.env.db);
    if (!model) throw new HttpError(409, "no model yet: POST /api/churn/train once there are weeks of history");
    const x = FEATURES.map((f) => features[f] as number);
    const { score, reasons } = predict(model.model, x);
    return c.json({ model_version: model.version, score: round(score), reasons });
  },
);

/** Retrains when the live model is `retrainEveryDays` of event time old (or there is none). */
async function retrainIfDue(env: ChurnEnv): Promise<void> {
  const now = await clockOf(env.db);
  if (!now) return;
  // Due after `retrainEveryDays` of event time since the last training, kept or not (else a candidate that
  // loses to the live model would be trained again at every check).
  const [{ last }] = await env.db.query<{ last: string | null }>("select max(as_of) as last from models");
  if (last && Date.parse(now) - Date.parse(last) < env.config.retrainEveryDays * 86_400_000) return;
  try {
    const m = await train(env.db, now, env.config);
    if (m.live) await rescoreWith(env.db, m, now);
    env.log.info("retrained", { version: m.version, live: m.live, auc: m.metrics.auc, decision: m.metrics.decision });
  } catch (e) {
    if (e instanceof HttpError && e.status === 409) return; // not enough history yet: normal early on
    throw e;
  }
}

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
});
