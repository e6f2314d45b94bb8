/**
 * The schemas of the funnel routes, as `/api/openapi.json` publishes them: what each route takes and, field by
 * field, what it answers. Request bodies are `Definition` itself; `api_test.ts` checks live answers against these.
 */
import { BreakdownFields, queryTime } from "@runtime/sdk";
import { z } from "zod";
import { EVENT_TYPE, ResolvedStep } from "./definitions.ts";
import { ORDERS } from "./match.ts";
import { DIRECTIONS, OTHER } from "./paths.ts";
import { MAX_DEPTH } from "./walks.ts";
import { DEFAULT_STEPS } from "./sessions.ts";

const count = z.number().int().min(0);
const rate = z.number().min(0).describe("a ratio to 4 decimals; 0 when its denominator is 0");
/** A time as the routes write it: `Date.toISOString()`, UTC with milliseconds. */
const instant = z.string()
  .refine((s) => !Number.isNaN(Date.parse(s)) && new Date(s).toISOString() === s, "must be a UTC ISO-8601 time")
  .meta({ format: "date-time" }).describe("UTC, ISO-8601 with milliseconds");
const time = (what: string) => queryTime(`${what}: an ISO-8601 time, years 1000..8999 (e.g. 2026-05-01T10:00:00Z)`);
const limit = (fallback: number, min: number, max: number, what: string) =>
  z.coerce.number().int().min(min).max(max).default(fallback).describe(`${what}, ${min}..${max} (default ${fallback})`);
const DefaultStep = z.enum(DEFAULT_STEPS.map((s) => s.step));

/** `GET /summary` query. */
export const SummaryQuery = z.object({
  from: time("sessions starting at or after this time"),
  to: time("sessions starting before this time"),
});

/** `GET /summary`: the default funnel per session. */
export const Summary = z.strictObject({
  from: instant.nullable().describe("the range asked for, null when open"),
  to: instant.nullable(),
  sessions: count.describe("sessions starting in the range"),
  steps: z.array(z.strictObject({
    step: DefaultStep,
    event_types: z.array(z.string()).describe("the event types that do the step"),
    sessions: count.describe("sessions that did this step and every one before it, in order"),
    conversion_from_start: rate,
    conversion_from_previous: rate,
    median_seconds_from_previous: z.number().min(0).nullable().describe("null for the first step or no sessions"),
  })),
  carted_sessions: count.describe("sessions with an add_to_cart"),
  abandoned_carts: count.describe("sessions with an add_to_cart and no purchase"),
  cart_abandonment_rate: rate.describe("abandoned_carts / carted_sessions"),
});

/** `GET /hot-leads` query. */
export const HotLeadsQuery = z.object({
  limit: limit(20, 1, 1000, "how many leads"),
  hours: limit(24, 1, 24 * 90, "how far back from the watermark carts count, in hours"),
});

/** `GET /hot-leads`: users who recently left a cart, most likely to buy first. */
export const HotLeads = z.strictObject({
  window: z.strictObject({ from: instant, to: instant.describe("the watermark") }).nullable()
    .describe("null before any event"),
  leads: z.array(z.strictObject({
    user_id: z.string(),
    session_key: z.string().describe("'s:<session_id>', or 'a:<start ms>' for an inferred session"),
    abandoned_at: instant.describe("the session's last event"),
    furthest_step: DefaultStep.nullable().describe("of the default funnel, in order; null for none"),
    cart_value: z.number().min(0).describe("sum of price × quantity added to cart, to cents"),
    prior_purchases: count.describe("the user's earlier sessions with a purchase"),
    events: count.describe("events in the session"),
    score: z.number().min(0).max(1).describe("likelihood to buy, to 4 decimals"),
    reasons: z.array(z.string()).describe("the parts of the score, largest first"),
  })),
});

/** `GET /users/:user_id/sessions` path. */
export const UserParams = z.object({ user_id: z.string().describe("the events' user_id") });

/** `GET /users/:user_id/sessions` query. */
export const UserSessionsQuery = z.object({ limit: limit(20, 1, 200, "how many sessions, latest first") });

/** `GET /users/:user_id/sessions`: a user's sessions, latest first, each with its steps and events. */
export const UserSessions = z.strictObject({
  user_id: z.string(),
  sessions: z.array(z.strictObject({
    session_key: z.string().describe("'s:<session_id>', or 'a:<start ms>' for an inferred session"),
    session_id: z.string().nullable().describe("null for an inferred session"),
    started_at: instant,
    ended_at: instant,
    duration_s: z.number().min(0),
    events: count,
    cart_value: z.number().min(0).describe("sum of price × quantity added to cart, to cents"),
    abandoned_cart: z.boolean().describe("added to cart and bought nothing"),
    country: z.string().nullable().describe("the first one on its events"),
    device: z.string().nullable(),
    furthest_step: DefaultStep.nullable(),
    steps: z.array(z.strictObject({ step: DefaultStep, at: instant })).describe("the default steps reached"),
    timeline: z.array(z.strictObject({ event_id: z.string(), type: z.string(), timestamp: instant })),
  })),
});

/** `/definitions/:name` path. */
export const NameParams = z.object({ name: z.string().describe("the funnel's name") });

/** A saved funnel, its steps resolved. */
export const SavedDefinition = z.strictObject({
  name: z.string(),
  steps: z.array(ResolvedStep.required()),
  order: z.enum(ORDERS),
  window_seconds: z.number().int().min(1).describe("the conversion window"),
  created_at: instant,
  updated_at: instant,
});

/** `GET /definitions`. */
export const Definitions = z.strictObject({ definitions: z.array(SavedDefinition).describe("by name") });

/** The query of a report, saved or not. */
export const ReportQuery = z.object({
  from: time("users entering the funnel at or after this time"),
  to: time("users entering before this time"),
  breakdown: BreakdownFields.breakdown.describe(
    "break the counts down by this property of the event that entered the funnel (country), or of its user (user.plan)",
  ),
  breakdown_limit: BreakdownFields.breakdown_limit.describe(
    "with `breakdown`: the values with the most users entering, 1..50 (default 10); the rest count as other",
  ),
  where: BreakdownFields.where.describe(
    "only events meeting every condition count as steps: `<property>:<op>[:<value>]`, op one of eq, ne (or not " +
      "set), gt, gte, lt, lte (numbers), contains (any case), set, unset; `user.<trait>` for the user's latest trait; " +
      "repeat for more (e.g. where=country:eq:DE&where=user.plan:set)",
  ),
  dropped_limit: limit(20, 0, 1000, "how many users who dropped before each step to list"),
});

/** A custom funnel's report, per step over the users who entered it in the range. */
export const Report = z.strictObject({
  name: z.string(),
  order: z.enum(ORDERS),
  window_seconds: z.number().int().min(1),
  from: instant.nullable(),
  to: instant.nullable(),
  users: count.describe("users who entered the funnel"),
  conversion_rate: rate.describe("users at the last step / users who entered"),
  steps: z.array(
    ResolvedStep.required().extend({
      step: z.number().int().min(1).describe("1 for the first"),
      users: count,
      conversion_from_start: rate,
      conversion_from_previous: rate,
      drop_off: count.describe("users at the previous step who did not reach this one"),
      median_seconds_to_convert: z.number().min(0).nullable().describe("from the previous step; null for the first"),
      dropped_users: z.array(z.string()).describe("up to dropped_limit of those who dropped before this step"),
    }),
  ),
  breakdown: z.strictObject({
    by: z.string(),
    rows: z.array(z.strictObject({
      key: z.string().nullable().describe("the property's value, as text; null without it (or for the other row)"),
      other: z.boolean().describe("true for the one row of every value past the top `breakdown_limit`"),
      users: z.array(count).describe("users per step"),
      conversion_rate: rate,
    })),
  }).optional().describe("with `breakdown` only"),
});

/** `GET /paths` query. */
export const PathsQuery = z.object({
  event: z.string().regex(EVENT_TYPE, "must be an event type such as search").describe("the event paths start from"),
  direction: z.enum(DIRECTIONS).default("next")
    .describe("next: the steps after the event; previous: the steps before it, nearest first (default next)"),
  depth: limit(3, 1, MAX_DEPTH, "how many steps from the event"),
  width: limit(5, 1, 12, `the most frequent steps kept at each level; the rest are '${OTHER}'`),
  top: limit(10, 0, 100, "how many of the most frequent whole paths to list"),
  from: time("sessions starting at or after this time"),
  to: time("sessions starting before this time"),
});

const step = z.string().describe(`an event type, or '${OTHER}' for the steps outside a level's most frequent`);

/** `GET /paths`: where sessions went after (or came from before) their first time doing an event. */
export const Paths = z.strictObject({
  event: z.string(),
  direction: z.enum(DIRECTIONS),
  depth: z.number().int().min(1),
  from: instant.nullable().describe("the range asked for, null when open"),
  to: instant.nullable(),
  sessions: count.describe("sessions starting in the range that did the event; each counts once, from its first time"),
  nodes: z.array(z.strictObject({
    level: z.number().int().min(0).describe("steps from the event; 0 is the event itself"),
    step,
    sessions: count,
    share: rate.describe("of the sessions with the event"),
    drop_off: count.describe("sessions with no step after this one (next: the session ended) or before it (previous)"),
  })).describe("by level, then most sessions first, '(other)' last"),
  links: z.array(z.strictObject({
    level: z.number().int().min(1).describe("the level of `to`"),
    from: step,
    to: step,
    sessions: count,
  })),
  top_paths: z.array(z.strictObject({
    steps: z.array(z.string()).describe(
      "from the event on (previous: back from it); fewer than depth when the session ended",
    ),
    sessions: count,
  })).describe("the most frequent whole paths, unbucketed"),
});

/** Whose list: those who did a step, or those who did the one before and not it. */
export const OUTCOMES = ["reached", "dropped"] as const;

/** A page: a cursor from the previous page's `next`, and how many. */
const PageQuery = z.object({
  limit: limit(50, 1, 1000, "how many users"),
  after: z.string().min(1).max(128).optional().describe("the previous page's `next`: users after this user_id"),
});

/** `GET /definitions/:name/users` query. */
export const FunnelUsersQuery = PageQuery.extend({
  step: z.coerce.number().int().min(1).max(8).describe("the step, 1 for the first"),
  outcome: z.enum(OUTCOMES).default("dropped")
    .describe("reached: users whose best attempt did the step; dropped: did the step before and not it (default)"),
  from: ReportQuery.shape.from,
  to: ReportQuery.shape.to,
  where: ReportQuery.shape.where,
});

/** A page of users behind a number, by user_id. */
const pageOf = (user: z.ZodObject) =>
  z.strictObject({
    total: count.describe("users behind the number, on every page"),
    users: z.array(user).describe("by user_id"),
    next: z.string().nullable().describe("pass as `after` for the next page; null on the last"),
  });

/** `GET /definitions/:name/users`: a page of the users behind a step of a custom funnel. */
export const FunnelUsers = pageOf(z.strictObject({
  user_id: z.string(),
  entered_at: instant.describe("the first step of their best attempt"),
  furthest_step: z.number().int().min(1).describe("how far their best attempt went"),
  last_step_at: instant.describe("when they did it"),
}));

/** `GET /summary/users` query. */
export const SummaryUsersQuery = PageQuery.extend({
  step: DefaultStep.describe("a step of the default funnel"),
  outcome: FunnelUsersQuery.shape.outcome,
  from: SummaryQuery.shape.from,
  to: SummaryQuery.shape.to,
});

/** `GET /summary/users`: a page of the users with a session behind a step of the default funnel. */
export const SummaryUsers = pageOf(z.strictObject({
  user_id: z.string(),
  sessions: count.describe("their sessions in the range behind the number"),
  last_session_at: instant.describe("the latest of those sessions' start"),
}));
