/**
 * `fraud`: which purchases look like fraud. Each purchase is judged as it arrives by rules that are data
 * (editable and versioned at run time): amount against the user's own history and the store's, velocity, a
 * new country and device, card testing. Their points add up to a decision; flagged purchases become alerts
 * with their reasons, in the batch's transaction, and are pushed out as `alert` notices committed with it.
 * @module
 */
import { merge } from "./merge.ts";
import { Hono } from "hono";
import {
  answerHttpError,
  definePlugin,
  describeRoute,
  type Env,
  type Event,
  HttpError,
  parseBody,
  timeParam,
} from "@runtime/sdk";
import {
  Alerts,
  AlertsQuery,
  Candidate,
  Labelled,
  Labels,
  Models,
  RULE_ID,
  RuleHistory,
  RulePath,
  Ruleset,
  SavedRule,
  Scored,
  Threshold,
  ThresholdSet,
  Trained,
} from "./api.ts";
import { type Probe, record } from "./context.ts";
import { judge, probeOf, type Ruleset as Rules } from "./judge.ts";
import { Rule } from "./rules.ts";
import { FEATURES } from "./model.ts";
import { trainModel } from "./training.ts";

type Db = Env["db"];

/** The enabled and disabled rules, the threshold, and the ruleset's version. */
async function ruleset(db: Db): Promise<Rules> {
  const [rules, [s]] = await Promise.all([
    db.query<Rule>("select rule_id, kind, params, points, enabled from rules order by rule_id"),
    db.query<{ threshold: number; version: number }>("select threshold, version from settings"),
  ]);
  return { rules, threshold: s.threshold, version: s.version };
}

async function queue(batch: Event[], env: Env): Promise<void> {
  await record(env.db, batch);
  const purchases = batch.filter((e) => e.type === "purchase");
  if (purchases.length === 0) return;
  const { set, results } = await judge(env.db, purchases.map(probeOf));
  const flagged = (i: number) => results[i].flagged;
  const alerts = purchases.map((e, i) => ({ e, r: results[i] })).filter((_, i) => flagged(i));
  // The decisions and the alerts in one statement; reasons and features go as one JSON array each, which the
  // host parses far cheaper than a jsonb[].
  await env.db.query(
    `with decided as (
       update purchases p set score = s.score, flagged = s.flagged, reasons = s.reasons, features = s.features,
         model_p = s.model_p
       from rows from (unnest($1::text[]), unnest($2::numeric[]), unnest($3::bool[]), jsonb_array_elements($4::jsonb),
                       jsonb_array_elements($5::jsonb), unnest($6::float8[]))
         as s(event_id, score, flagged, reasons, features, model_p)
       where p.event_id = s.event_id
     )
     insert into alerts (alert_id, event_id, user_id, score, reasons, amount, event_time, created_at, ruleset)
     select 'alert-' || event_id, event_id, user_id, score, reasons, amount, ts, clock_timestamp(), $13
     from rows from (unnest($7::text[]), unnest($8::text[]), unnest($9::numeric[]), jsonb_array_elements($10::jsonb),
                     unnest($11::numeric[]), unnest($12::timestamptz[]))
       as a(event_id, user_id, score, reasons, amount, ts)`,
    [
      purchases.map((e) => e.event_id),
      results.map((r) => r.score),
      purchases.map((_, i) => flagged(i)),
      JSON.stringify(results.map((r) => r.reasons)),
      JSON.stringify(results.map((r) => r.features)),
      results.map((r) => r.p),
      alerts.map((a) => a.e.event_id),
      alerts.map((a) => a.e.user_id),
      alerts.map((a) => a.r.score),
      JSON.stringify(alerts.map((a) => a.r.reasons)),
      alerts.map((a) => a.e.properties.amount ?? 0),
      alerts.map((a) => a.e.timestamp),
      set.version,
    ],
  );
  if (alerts.length > 0) env.metrics.increment("alerts", alerts.length);
  // Pushed out with the batch's commit: to /api/stream, and to the webhooks operators subscribed to fraud's `alert`.
  for (const { e, r } of alerts) {
    env.notify("alert", {
      alert_id: `alert-${e.event_id}`,
      event_id: e.event_id,
      user_id: e.user_id,
      score: r.score,
      reasons: r.reasons,
      amount: e.properties.amount ?? 0,
      event_time: e.timestamp,
      ruleset: set.version,
    });
  }
}

const app = new Hono<{ Bindings: Env }>();

app.notFound((c) => c.json({ error: `no route for ${c.req.method} /api/fraud${c.req.path}` }, 404));
app.onError(answerHttpError);

app.get(
  "/alerts",
  describeRoute({
    summary: "Alerts: flagged purchases with their reasons, newest first",
    query: AlertsQuery,
    response: Alerts,
    errors: [400],
  }),
  async (c) => {
    const { since = null, limit, user_id: user = null } = c.req.valid("query");
    const alerts = await c.env.db.query(
      `select alert_id, event_id, user_id, score, reasons, amount, event_time, created_at, ruleset from alerts
     where ($1::timestamptz is null or created_at >= $1) and ($3::text is null or user_id = $3)
     order by created_at desc, alert_id limit $2`,
      [since, limit, user],
    );
    return c.json({ alerts });
  },
);

app.post(
  "/score",
  describeRoute({
    summary: "Score a candidate purchase without storing it",
    body: Candidate,
    response: Scored,
    errors: [400],
  }),
  async (c) => {
    const e = await parseBody(c.req.raw, Candidate);
    const probe: Probe = {
      event_id: e.event_id ?? "",
      user_id: e.user_id, // resolved to its person when judged
      ts: timeParam(e.timestamp, "timestamp") ?? "",
      amount: e.properties.amount,
      country: e.properties.country ?? null,
      device: e.properties.device ?? null,
      stored: false,
    };
    const { set, results: [r] } = await judge(c.env.db, [probe]);
    return c.json({ score: r.score, flagged: r.flagged, reasons: r.reasons, model_p: r.p, ruleset: set.version });
  },
);

app.get(
  "/rules",
  describeRoute({ summary: "The rules, the threshold and the ruleset's version", response: Ruleset }),
  async (c) => c.json(await ruleset(c.env.db)),
);

app.get(
  "/rules/history",
  describeRoute({ summary: "Every change of every rule, newest first", response: RuleHistory }),
  async (c) =>
    c.json({
      changes: await c.env.db.query(
        "select rule_id, version, definition, changed_at from rule_history order by changed_at desc, rule_id, version desc",
      ),
    }),
);

app.put(
  "/rules/:rule_id",
  describeRoute({
    summary: "Create or replace a rule; the ruleset's version moves on",
    params: RulePath,
    body: Rule,
    response: SavedRule,
    errors: [400],
  }),
  async (c) => {
    const id = c.req.param("rule_id");
    if (!RULE_ID.test(id)) throw new HttpError(400, `rule_id must match ${RULE_ID}, got '${id}'`);
    const r = await parseBody(c.req.raw, Rule);
    // One statement: the rule, its history and the ruleset's version move together.
    const [saved] = await c.env.db.query<{ version: number; ruleset: number }>(
      `with saved as (
       insert into rules (rule_id, kind, params, points, enabled, version, updated_at)
       values ($1, $2, $3::jsonb, $4, $5,
         coalesce((select max(version) from rule_history where rule_id = $1), 0) + 1, now())
       on conflict (rule_id) do update set kind = excluded.kind, params = excluded.params, points = excluded.points,
         enabled = excluded.enabled, version = rules.version + 1, updated_at = excluded.updated_at
       returning rule_id, version
     ), logged as (
       insert into rule_history (rule_id, version, definition, changed_at)
       select rule_id, version, jsonb_build_object('kind', $2::text, 'params', $3::jsonb, 'points', $4::numeric,
         'enabled', $5::boolean), now() from saved
     ), bumped as (update settings set version = version + 1 returning version)
     select (select version from saved) as version, (select version from bumped) as ruleset`,
      [id, r.kind, JSON.stringify(r.params), r.points, r.enabled],
    );
    return c.json({ rule_id: id, ...r, version: saved.version, ruleset: saved.ruleset });
  },
);

app.delete(
  "/rules/:rule_id",
  describeRoute({ summary: "Delete a rule; its history is kept", params: RulePath, status: 204, errors: [404] }),
  async (c) => {
    const [gone] = await c.env.db.query<{ ruleset: number }>(
      `with gone as (delete from rules where rule_id = $1 returning rule_id, version),
     logged as (insert into rule_history (rule_id, version, definition, changed_at)
       select rule_id, version + 1, null, now() from gone),
     bumped as (update settings set version = version + 1 where exists (select 1 from gone) returning version)
     select (select version from bumped) as ruleset`,
      [c.req.param("rule_id")],
    );
    if (gone.ruleset === null) return c.json({ error: `no rule '${c.req.param("rule_id")}'` }, 404);
    return c.body(null, 204);
  },
);

app.put(
  "/threshold",
  describeRoute({
    summary: "Set the score at which a purchase is flagged",
    body: Threshold,
    response: ThresholdSet,
    errors: [400],
  }),
  async (c) => {
    const { threshold } = await parseBody(c.req.raw, Threshold);
    const [s] = await c.env.db.query(
      "update settings set threshold = $1, version = version + 1 returning threshold, version",
      [threshold],
    );
    return c.json(s);
  },
);

app.post(
  "/labels",
  describeRoute({
    summary: "Label purchases as fraud or not, for the learned model",
    body: Labels,
    response: Labelled,
    errors: [400],
  }),
  async (c) => {
    const { labels: given } = await parseBody(c.req.raw, Labels);
    const labels = [...new Map(given.map((l) => [l.event_id, l])).values()]; // the last label of an event counts
    const saved = await c.env.db.query<{ event_id: string }>(
      `insert into labels (event_id, fraud, labelled_at)
     select l.event_id, l.fraud, now() from unnest($1::text[], $2::bool[]) as l(event_id, fraud)
       join purchases p using (event_id)
     on conflict (event_id) do update set fraud = excluded.fraud, labelled_at = excluded.labelled_at
     returning event_id`,
      [labels.map((l) => l.event_id), labels.map((l) => l.fraud)],
    );
    const known = new Set(saved.map((r) => r.event_id));
    return c.json({ labelled: known.size, unknown: labels.map((l) => l.event_id).filter((id) => !known.has(id)) });
  },
);

app.post(
  "/model/train",
  describeRoute({
    summary: "Train a learned model on the labels; enabled only if it catches more",
    response: Trained,
    status: 201,
    errors: [409],
  }),
  async (c) => c.json(await trainModel(c.env.db), 201),
);

app.get(
  "/model",
  describeRoute({ summary: "The learned model's features and every version", response: Models, errors: [404] }),
  async (c) => {
    const models = await c.env.db.query(
      "select version, trained_at, enabled, metrics from models order by version desc",
    );
    if (models.length === 0) {
      return c.json({ error: "no model yet: label outcomes, then POST /api/fraud/model/train" }, 404);
    }
    return c.json({ features: FEATURES, models });
  },
);

export default definePlugin({
  name: "fraud",
  version: "0.1.0",
  subscribes: "*",
  queue,
  merge,
  fetch: app,
  panels: [{ title: "Fraud alerts", route: "/alerts?limit=20", kind: "table" }],
  // A purchase is judged against the store's amounts, which runners of other users' partitions would be writing.
  partitioned: false,
});
