/**
 * `funnel`: the default shopping funnel per session, cart abandonment and hot leads, custom funnels
 * created over the API, paths from or to an event, and a per-session view. Events are kept slim in the plugin's schema; sessions are
 * recomputed per batch, custom funnels evaluated when asked for, so every answer is exact under
 * duplicates, late events and replays.
 * @module
 */
import { Hono } from "hono";
import type { z } from "zod";
import {
  answerHttpError,
  definePlugin,
  describeRoute,
  type Env,
  type Event,
  HttpError,
  parseBody,
  parseProperty,
} from "@runtime/sdk";
import * as api from "./api.ts";
import { Definition, deleteDefinition, loadDefinitions, saveDefinition } from "./definitions.ts";
import { leads } from "./leads.ts";
import { merge } from "./merge.ts";
import { paths } from "./paths.ts";
import { funnelUsers, summaryUsers } from "./people.ts";
import { assertScannable, Config, ratio, report } from "./report.ts";
import { DEFAULT_STEPS, sessionsOf } from "./sessions.ts";
import { writeBatch } from "./write.ts";

async function queue(batch: Event[], env: Env): Promise<void> {
  // Sessions first: they read the events stored before this batch, and take the batch's from here.
  await writeBatch(env.db, batch, await sessionsOf(env.db, batch));
}

const app = new Hono<{ Bindings: Env }>();

app.notFound((c) => c.json({ error: `no route for ${c.req.method} /api/funnel${c.req.path}` }, 404));
app.onError(answerHttpError);

const STEP_COLUMNS = ["view_at", "cart_at", "checkout_at", "purchase_at"];

app.get(
  "/summary",
  describeRoute({
    summary: "The default shopping funnel per session, and cart abandonment",
    query: api.SummaryQuery,
    response: api.Summary,
    errors: [400],
  }),
  async (c) => {
    const { from = null, to = null } = c.req.valid("query");
    const [row] = await c.env.db.query<Record<string, number | null>>(
      `select count(*)::int8 as sessions,
       ${DEFAULT_STEPS.map((_, k) => `count(*) filter (where reached >= ${k + 1})::int8 as s${k}`).join(", ")},
       ${
        STEP_COLUMNS.slice(1).map((col, k) =>
          `percentile_cont(0.5) within group (order by extract(epoch from ${col} - ${STEP_COLUMNS[k]}))
           filter (where reached >= ${k + 2}) as w${k + 1}`
        ).join(", ")
      },
       count(*) filter (where has_cart)::int8 as carted,
       count(*) filter (where has_cart and not has_purchase)::int8 as abandoned
     from sessions
     where ($1::timestamptz is null or started_at >= $1) and ($2::timestamptz is null or started_at < $2)`,
      [from, to],
    );
    const count = (k: number) => row[`s${k}`] as number;
    return c.json({
      from,
      to,
      sessions: row.sessions,
      steps: DEFAULT_STEPS.map((s, k) => ({
        step: s.step,
        event_types: s.types,
        sessions: count(k),
        conversion_from_start: ratio(count(k), count(0)),
        conversion_from_previous: ratio(count(k), count(k === 0 ? 0 : k - 1)),
        median_seconds_from_previous: k === 0 || row[`w${k}`] === null
          ? null
          : Math.round((row[`w${k}`] as number) * 1000) / 1000,
      })),
      carted_sessions: row.carted,
      abandoned_carts: row.abandoned,
      cart_abandonment_rate: ratio(row.abandoned as number, row.carted as number),
    });
  },
);

app.get(
  "/summary/users",
  describeRoute({
    summary: "The users behind a step of the default funnel, a page at a time",
    description: "Users with a session starting in the range that reached the step (`reached`), or reached the step " +
      "before it and stopped there (`dropped`).",
    query: api.SummaryUsersQuery,
    response: api.SummaryUsers,
    errors: [400],
  }),
  async (c) => {
    const { from = null, to = null, after = null, ...q } = c.req.valid("query");
    return c.json(await summaryUsers(c.env.db, { ...q, from, to, after }));
  },
);

app.get(
  "/hot-leads",
  describeRoute({
    summary: "Users who recently abandoned a cart, most likely to buy first",
    query: api.HotLeadsQuery,
    response: api.HotLeads,
    errors: [400],
  }),
  async (c) => {
    const { limit, hours } = c.req.valid("query");
    return c.json(await leads(c.env.db, c.env.watermark, hours, limit));
  },
);

app.get(
  "/paths",
  describeRoute({
    summary: "Paths: the steps sessions took after (or before) their first time doing an event, level by level",
    description: "A step is an event type; a run of one type counts once. Each level keeps its `width` most " +
      "frequent steps and groups the rest as '(other)'. `drop_off` counts the sessions that ended at a step.",
    query: api.PathsQuery,
    response: api.Paths,
    errors: [400],
  }),
  async (c) => {
    const { from = null, to = null, ...q } = c.req.valid("query");
    return c.json(await paths(c.env.db, { ...q, from, to }));
  },
);

app.get(
  "/users/:user_id/sessions",
  describeRoute({
    summary: "A user's sessions with their funnel steps and events",
    params: api.UserParams,
    query: api.UserSessionsQuery,
    response: api.UserSessions,
    errors: [400, 404],
  }),
  async (c) => {
    const { limit } = c.req.valid("query");
    const user = c.req.param("user_id");
    const sessions = await c.env.db.query<Record<string, unknown> & { session_key: string; reached: number }>(
      `select session_key, case when session_key like 's:%' then substr(session_key, 3) end as session_id,
       started_at, ended_at, extract(epoch from ended_at - started_at)::float8 as duration_s, events, reached,
       view_at, cart_at, checkout_at, purchase_at, round(cart_value, 2) as cart_value,
       has_cart and not has_purchase as abandoned_cart, country, device
     from sessions where user_id = $1 order by started_at desc, session_key limit $2`,
      [user, limit],
    );
    if (sessions.length === 0) return c.json({ error: `no sessions for user '${user}'` }, 404);
    const events = await c.env.db.query<{ session_key: string; event_id: string; type: string; timestamp: string }>(
      `select s.session_key, e.event_id, e.type, e.ts as timestamp
     from sessions s join events e on e.user_id = s.user_id
       and ((s.session_key like 's:%' and e.session_id = substr(s.session_key, 3))
         or (s.session_key like 'a:%' and e.session_id is null and e.ts between s.started_at and s.ended_at))
     where s.user_id = $1 and s.session_key = any($2::text[])
     order by e.ts, e.position, e.event_id`,
      [user, sessions.map((s) => s.session_key)],
    );
    return c.json({
      user_id: user,
      sessions: sessions.map(({ reached, view_at, cart_at, checkout_at, purchase_at, ...s }) => ({
        ...s,
        furthest_step: reached === 0 ? null : DEFAULT_STEPS[reached - 1].step,
        steps: DEFAULT_STEPS.slice(0, reached).map((d, k) => ({
          step: d.step,
          at: [view_at, cart_at, checkout_at, purchase_at][k],
        })),
        timeline: events.filter((e) => e.session_key === s.session_key).map(({ session_key: _, ...e }) => e),
      })),
    });
  },
);

app.post(
  "/definitions",
  describeRoute({
    summary: "Create or replace a custom funnel",
    description: "Answers 201 for a new funnel, 200 when it replaces the funnel of the same name.",
    body: Definition,
    response: api.SavedDefinition,
    status: 201,
    errors: [400],
  }),
  async (c) => {
    const { saved, created } = await saveDefinition(c.env.db, await parseBody(c.req.raw, Definition));
    return c.json(saved, created ? 201 : 200);
  },
);

app.get(
  "/definitions",
  describeRoute({ summary: "The custom funnels", response: api.Definitions }),
  async (c) => c.json({ definitions: await loadDefinitions(c.env.db) }),
);

app.get(
  "/definitions/:name",
  describeRoute({ summary: "One custom funnel", params: api.NameParams, response: api.SavedDefinition, errors: [404] }),
  async (c) => {
    const [d] = await loadDefinitions(c.env.db, c.req.param("name"));
    return d ? c.json(d) : c.json({ error: `no funnel named '${c.req.param("name")}'` }, 404);
  },
);

app.delete(
  "/definitions/:name",
  describeRoute({ summary: "Delete a custom funnel", params: api.NameParams, status: 204, errors: [404] }),
  async (c) => {
    const deleted = await deleteDefinition(c.env.db, c.req.param("name"));
    return deleted ? c.body(null, 204) : c.json({ error: `no funnel named '${c.req.param("name")}'` }, 404);
  },
);

/** A report's options from its query. */
function reportOptions(query: z.output<typeof api.ReportQuery>) {
  return {
    from: query.from ?? null,
    to: query.to ?? null,
    breakdown: query.breakdown === undefined ? null : parseProperty(query.breakdown),
    breakdownLimit: query.breakdown_limit,
    conditions: query.where,
    droppedLimit: query.dropped_limit,
  };
}

app.get(
  "/definitions/:name/report",
  describeRoute({
    summary: "A custom funnel's report: per step users, conversion, drop-off and time to convert",
    params: api.NameParams,
    query: api.ReportQuery,
    response: api.Report,
    errors: [400, 404],
  }),
  async (c) => {
    const q = reportOptions(c.req.valid("query"));
    const [d] = await loadDefinitions(c.env.db, c.req.param("name"));
    if (!d) return c.json({ error: `no funnel named '${c.req.param("name")}'` }, 404);
    await assertScannable(c.env, d, q);
    return c.json(await report(c.env.db, d, q));
  },
);

app.get(
  "/definitions/:name/users",
  describeRoute({
    summary: "The users behind a step of a custom funnel: who reached it, or who dropped before it",
    params: api.NameParams,
    query: api.FunnelUsersQuery,
    response: api.FunnelUsers,
    errors: [400, 404],
  }),
  async (c) => {
    const { from = null, to = null, after = null, where, ...q } = c.req.valid("query");
    const [d] = await loadDefinitions(c.env.db, c.req.param("name"));
    if (!d) return c.json({ error: `no funnel named '${c.req.param("name")}'` }, 404);
    if (q.step > d.steps.length) {
      throw new HttpError(400, `step: funnel '${d.name}' has ${d.steps.length} steps, got ${q.step}`);
    }
    if (q.step === 1 && q.outcome === "dropped") {
      throw new HttpError(400, "step: no one drops before the first step; ask for step 2 or later, or outcome=reached");
    }
    await assertScannable(c.env, d, { from, to });
    return c.json(await funnelUsers(c.env.db, d, { ...q, from, to, after, conditions: where }));
  },
);

/** An unsaved funnel's report: the definition in the body, the query as for a saved one. */
app.post(
  "/report",
  describeRoute({
    summary: "The report of an unsaved funnel, given in the body",
    query: api.ReportQuery,
    body: Definition,
    response: api.Report,
    errors: [400],
  }),
  async (c) => {
    const q = reportOptions(c.req.valid("query"));
    const d = await parseBody(c.req.raw, Definition);
    await assertScannable(c.env, d, q);
    return c.json(await report(c.env.db, d, q));
  },
);

export default definePlugin({
  name: "funnel",
  version: "0.1.0",
  subscribes: "*",
  queue,
  merge,
  fetch: app,
  // It keeps a copy of every event: about 420 bytes per event with its sessions and walks at 10 million
  // (docs/performance.md), so 16 GiB holds some 40 million events.
  limits: { storageMb: 16384 },
  config: Config,
  panels: [
    { title: "Shopping funnel (per session)", route: "/summary", kind: "bar" },
    { title: "Hot leads", route: "/hot-leads?limit=10", kind: "table" },
  ],
});
