/**
 * The schemas of the alerts routes, as `/api/openapi.json` publishes them. Request bodies are `RuleBody` itself.
 * @module
 */
import { queryTime } from "@runtime/sdk";
import { z } from "zod";
import { KPI, KPI_NAMES } from "./kpis.ts";
import { CONDITIONS, RULE_NAME, WINDOWS } from "./rules.ts";

const count = z.number().int().min(0);
/** A time as the routes write it: `Date.toISOString()`, UTC with milliseconds. */
const instant = z.string()
  .refine((s) => !Number.isNaN(Date.parse(s)) && new Date(s).toISOString() === s, "must be a UTC ISO-8601 time")
  .meta({ format: "date-time" }).describe("UTC, ISO-8601 with milliseconds");
const Window = z.enum(Object.keys(WINDOWS) as (keyof typeof WINDOWS)[]);

/** `/rules/:name` path. */
export const NameParams = z.object({
  name: z.string().regex(RULE_NAME, "must be 1..64 of a-z, 0-9, '_' and '-'").describe("the rule's name"),
});

/** A stored rule. */
export const SavedRule = z.strictObject({
  name: z.string(),
  kpi: z.string(),
  window: Window,
  condition: z.enum(CONDITIONS),
  threshold: z.number(),
  min_events: count,
  grace_minutes: count,
  enabled: z.boolean(),
  version: z.int().min(1).describe("1, and one more at each save"),
  next_window: instant.nullable().describe("the next window it judges; null until the first event"),
  created_at: instant,
  updated_at: instant,
});

/** `GET /rules`. */
export const Rules = z.strictObject({ rules: z.array(SavedRule) });

/** `GET /fired` query. */
export const FiredQuery = z.object({
  rule: z.string().regex(RULE_NAME, "must be a rule's name").optional().describe("only this rule's alerts"),
  limit: z.coerce.number().int().min(1).max(1000).default(50).describe("how many, 1..1000 (default 50)"),
  before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional()
    .describe("alerts with a lower id: the previous page's `next_before`"),
});

/** An alert: a rule that fired on a window. */
export const FiredAlert = z.strictObject({
  id: count,
  alert_id: z.string().describe("`<rule>@<window_start>`: the same in the notice sent to webhooks"),
  rule: z.string(),
  kpi: z.string(),
  window: Window,
  condition: z.enum(CONDITIONS),
  threshold: z.number(),
  window_start: instant,
  window_end: instant.describe("excluded"),
  value: z.number().describe("the KPI in the window"),
  previous: z.number().nullable().describe("the KPI in the window before, for rises_by and falls_by"),
  change: z.number().nullable().describe("(value − previous) / previous, to 4 decimals, for rises_by and falls_by"),
  events: count.describe("events in the window when it was judged"),
  judged_at: instant.describe("the watermark (event time) that closed the window, grace included"),
});

/** `GET /fired`: newest first. */
export const Fired = z.strictObject({
  alerts: z.array(FiredAlert),
  next_before: z.number().int().nullable().describe("pass as `before` for the next page; null on the last"),
});

/** `GET /kpis` query. */
export const KpisQuery = z.object({
  kpi: z.string().regex(KPI, `must be one of ${KPI_NAMES.join(", ")}, or events.<event type>`).default("events")
    .describe("the KPI (default events)"),
  window: Window.default("hour").describe("per UTC hour or day (default hour)"),
  from: queryTime("the first window: the one holding this time (default: 47 windows before the watermark's)"),
  to: queryTime("the last window: the one holding the instant before this time (default: the watermark's)"),
});

/** `GET /kpis`: the KPI per window, as rules judge it, with every event counted so far. */
export const Kpis = z.strictObject({
  kpi: z.string(),
  window: Window,
  watermark: instant.nullable().describe("the latest event time seen; windows after it have no events yet"),
  points: z.array(z.strictObject({
    start: instant,
    value: z.number().nullable().describe("null when it has none (a rate without a denominator)"),
    events: count,
  })).describe("every window of the range, at most 1000"),
});
