/**
 * `alerts`: rules on KPIs (the overview's figures, or any event type's count) per hour or day of event time, such as
 * "conversion rate falls by 30% hour on hour". A window is judged once the watermark is past its end by the rule's
 * grace; what fires is stored and pushed out as an `alert` notice in the batch's transaction, which operators send to
 * webhooks (`PUT /api/webhooks/:name`, signed, retried and logged by the host).
 * @module
 */
import { Hono } from "hono";
import { answerHttpError, definePlugin, describeRoute, type Env, type Event, HttpError, parseBody } from "@runtime/sdk";
import * as api from "./api.ts";
import { changeOf, type Fired, judgeBatch, type Tick } from "./judge.ts";
import { kpiSeries } from "./kpi_series.ts";
import { deleteRule, loadRules, RULE_NAME, RuleBody, saveRule, type StoredRule, WINDOWS } from "./rules.ts";
import { hoursToJudge, loadClock, writeBatch } from "./write.ts";

/** Most alert notices one batch sends; past them, one `alert_overflow` notice says how many more are in `/fired`. */
export const MAX_NOTICES = 999;

async function queue(batch: Event[], env: Env): Promise<void> {
  const ticks: Tick[] = batch.map((e) => ({
    ms: Date.parse(e.timestamp),
    type: e.type,
    amount: e.type === "purchase" ? e.properties.amount ?? 0 : 0,
  }));
  const [clock, rules] = await Promise.all([loadClock(env.db), loadRules(env.db, true)]);
  const hours = await hoursToJudge(env.db, rules, clock.watermark, ticks);
  const judged = judgeBatch(rules, clock, hours, ticks);
  const fired = await writeBatch(env.db, ticks, rules, judged);
  if (fired.length > 0) env.metrics.increment("fired", fired.length);
  // Pushed out with the batch's commit: to /api/stream, and to the webhooks operators subscribed to `alert`.
  for (const f of fired.slice(0, MAX_NOTICES)) env.notify("alert", notice(f));
  if (fired.length > MAX_NOTICES) {
    const rest = fired.slice(MAX_NOTICES);
    env.notify("alert_overflow", {
      alerts: rest.length,
      first_id: Math.min(...rest.map((f) => f.id)),
      last_id: Math.max(...rest.map((f) => f.id)),
      judged_at: new Date(Math.max(...rest.map((f) => f.judged_at))).toISOString(),
    });
  }
}

/** An alert as the routes and the notices give it. */
export function notice(f: Fired & { id?: number }) {
  const size = WINDOWS[f.window];
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    ...(f.id === undefined ? {} : { id: f.id }),
    alert_id: `${f.rule}:${f.window}:${iso(f.window_start)}`,
    rule: f.rule,
    kpi: f.kpi,
    window: f.window,
    condition: f.condition,
    threshold: f.threshold,
    window_start: iso(f.window_start),
    window_end: iso(f.window_start + size),
    value: f.value,
    previous: f.previous,
    change: f.previous === null ? null : changeOf(f.value, f.previous),
    events: f.events,
    judged_at: iso(f.judged_at),
  };
}

const app = new Hono<{ Bindings: Env }>();

app.notFound((c) => c.json({ error: `no route for ${c.req.method} /api/alerts${c.req.path}` }, 404));
app.onError(answerHttpError);

app.get(
  "/rules",
  describeRoute({ summary: "The alert rules", response: api.Rules }),
  async (c) => c.json({ rules: (await loadRules(c.env.db)).map(savedRule) }),
);

app.put(
  "/rules/:name",
  describeRoute({
    summary: "Create or replace an alert rule",
    description: "Answers 201 for a new rule, 200 when it replaces one, 409 past 100 rules. A saved rule judges " +
      "windows from the one open at the watermark on.",
    params: api.NameParams,
    body: RuleBody,
    response: api.SavedRule,
    status: 201,
    errors: [400, 409],
  }),
  async (c) => {
    const name = ruleName(c.req.param("name"));
    const body = await parseBody(c.req.raw, RuleBody);
    const { rule, created } = await saveRule(c.env.db, name, body, c.env.watermark);
    return c.json(savedRule(rule), created ? 201 : 200);
  },
);

app.delete(
  "/rules/:name",
  describeRoute({
    summary: "Delete an alert rule (its alerts stay)",
    params: api.NameParams,
    status: 204,
    errors: [404],
  }),
  async (c) => {
    const name = ruleName(c.req.param("name"));
    if (!await deleteRule(c.env.db, name)) throw new HttpError(404, `no rule named '${name}'`);
    return c.body(null, 204);
  },
);

app.get(
  "/fired",
  describeRoute({ summary: "Alerts fired, newest first", query: api.FiredQuery, response: api.Fired, errors: [400] }),
  async (c) => {
    const { rule = null, limit, before = null } = c.req.valid("query");
    const rows = await c.env.db.query<FiredRow>(
      `select id, rule, kpi, "window", condition, threshold, window_start, value, previous, events, judged_at
       from fired where ($1::text is null or rule = $1) and ($2::int8 is null or id < $2)
       order by id desc limit $3`,
      [rule, before, limit + 1],
    );
    const page = rows.slice(0, limit).map((r) =>
      notice({ ...r, window_start: new Date(r.window_start).getTime(), judged_at: new Date(r.judged_at).getTime() })
    );
    return c.json({ alerts: page, next_before: rows.length > limit ? page[page.length - 1].id ?? null : null });
  },
);

app.get(
  "/kpis",
  describeRoute({
    summary: "A KPI per hour or day of event time, as the rules judge it",
    query: api.KpisQuery,
    response: api.Kpis,
    errors: [400],
  }),
  async (c) => c.json(await kpiSeries(c.env.db, c.req.valid("query"))),
);

type FiredRow = Omit<Fired, "window_start" | "judged_at"> & { id: number; window_start: string; judged_at: string };

/** The rule name in a path, or a 400. */
function ruleName(name: string): string {
  if (!RULE_NAME.test(name)) {
    throw new HttpError(400, `a rule's name is 1..64 of a-z, 0-9, '_' and '-', got '${name.slice(0, 80)}'`);
  }
  return name;
}

/** A stored rule as the routes give it. */
function savedRule(r: StoredRule) {
  return { ...r, next_window: r.next_window === null ? null : new Date(r.next_window).toISOString() };
}

export default definePlugin({
  name: "alerts",
  version: "1.0.0",
  subscribes: "*",
  // A window is judged with the counts of every event logged before the one that closed it: one runner takes the log.
  partitioned: false,
  queue,
  fetch: app,
  panels: [{ title: "Alerts fired", route: "/fired?limit=20", kind: "table" }],
});
