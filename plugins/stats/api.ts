/**
 * The schemas of the stats routes, as `/api/openapi.json` publishes them: what each route takes and, field by field,
 * what it answers. `api_test.ts` checks live answers against them.
 */
import { queryTime } from "@runtime/sdk";
import { z } from "zod";
import { BreakdownFields } from "@runtime/sdk";

/** The widths of `/timeseries` buckets (ms). */
export const BUCKETS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
/** The orders of `/products`. */
export const PRODUCT_SORTS = ["views", "adds_to_cart", "purchases", "revenue", "conversion_rate"] as const;
/** The dimensions of `/revenue`. */
export const REVENUE_DIMENSIONS = ["country", "category", "device"] as const;
/** The RFM segments, best first. */
export const SEGMENTS = ["champion", "loyal", "potential", "at_risk", "lost"] as const;
const Bucket = z.enum(Object.keys(BUCKETS) as (keyof typeof BUCKETS)[]);
const Dimension = z.enum(REVENUE_DIMENSIONS);

const count = z.number().int().min(0);
const rate = z.number().min(0).describe("a ratio to 4 decimals; 0 when its denominator is 0");
const money = z.number().describe("in the base currency (BASE_CURRENCY)");
const cents = z.number().describe("in the base currency (BASE_CURRENCY), to cents");
/** A time as the routes write it: `Date.toISOString()`, UTC with milliseconds. */
const instant = z.string()
  .refine((s) => !Number.isNaN(Date.parse(s)) && new Date(s).toISOString() === s, "must be a UTC ISO-8601 time")
  .meta({ format: "date-time" }).describe("UTC, ISO-8601 with milliseconds");
const time = (what: string) => queryTime(`${what}: an ISO-8601 time, years 1000..8999 (e.g. 2026-05-01T10:00:00Z)`);
const limit = (fallback: number, max: number, what: string) =>
  z.coerce.number().int().min(1).max(max).default(fallback).describe(`${what}, 1..${max} (default ${fallback})`);

/** `from` and `to`: a range of event time, resolved to whole UTC minutes; either end is open when absent. */
export const RangeQuery = z.object({
  from: time("the range's start, rounded down to its minute"),
  to: time("the range's end (excluded)"),
});

/** `GET /overview` query. */
export const OverviewQuery = RangeQuery.extend(BreakdownFields);

/** The KPIs of a set of events that need no sessions: the overview's, and each row's of a breakdown. */
const Figures = {
  events: count,
  users: count.describe("distinct users with an event in the range"),
  purchases: count,
  revenue: cents.describe("sum of purchase amounts, to cents"),
  by_type: z.record(z.string(), count).describe("events per type"),
  conversion_rate: rate.describe("purchases / page views (page_view + product_view)"),
  cart_rate: rate.describe("add_to_cart events / page views"),
  checkout_rate: rate.describe("purchases / add_to_cart events"),
  aov: cents.describe("average order value: revenue / purchases, to cents"),
  revenue_per_user: cents.describe("revenue / users, to cents"),
};

/** Which row of a breakdown: a value of the property, or every value past the top ones. */
const BreakdownRow = {
  key: z.string().nullable().describe("the property's value, as text; null for events without it (or users)"),
  other: z.boolean().describe("true for the one row of every value past the top `breakdown_limit` (its key null)"),
};

/** `GET /overview`. */
export const Overview = z.strictObject({
  from: instant.nullable().describe("the range asked for, null when open"),
  to: instant.nullable(),
  ...Figures,
  sessions: count.nullable().describe("sessions overlapping the range; null with `where`"),
  cart_abandonment_rate: rate.nullable()
    .describe("sessions with a cart and no purchase / sessions with a cart; null with `where`"),
  breakdown: z.strictObject({
    by: z.string().describe("the property, as `breakdown` named it"),
    rows: z.array(z.strictObject({ ...BreakdownRow, ...Figures }))
      .describe("the top values by events (ties by value), then other when there are more; users may be in several"),
  }).optional().describe("with `breakdown` only"),
});

/** `GET /timeseries` query. */
export const TimeseriesQuery = RangeQuery.extend({
  bucket: Bucket.default("hour").describe("the bucket width; at most 10000 buckets"),
  ...BreakdownFields,
});

/** `GET /timeseries`: dense buckets, empty ones with zeros. */
export const Timeseries = z.strictObject({
  bucket: Bucket,
  buckets: z.array(z.strictObject({
    start: instant,
    events: count,
    by_type: z.record(z.string(), count),
    revenue: cents,
    users: count.describe("distinct users in the bucket"),
  })),
  breakdown: z.strictObject({
    by: z.string().describe("the property, as `breakdown` named it"),
    values: z.array(z.strictObject(BreakdownRow)).describe("the rows, by events over the range"),
    rows: z.array(z.strictObject({
      start: instant,
      ...BreakdownRow,
      events: count,
      revenue: cents,
      users: count.describe("distinct users in the bucket with the value"),
    })).describe("per bucket, a row for each of `values` (zeros included): at most 100000"),
  }).optional().describe("with `breakdown` only"),
});

/** `GET /products` query. */
export const ProductsQuery = RangeQuery.extend({
  limit: limit(20, 1000, "how many products"),
  sort: z.enum(PRODUCT_SORTS).default("views")
    .describe("the field to sort by, largest first"),
});

/** `GET /products`: of all time, or of the range's events and purchases (a product with none in it is not listed). */
export const Products = z.strictObject({
  from: instant.nullable().describe("the range asked for, null when open"),
  to: instant.nullable(),
  products: z.array(z.strictObject({
    product_id: z.string(),
    category: z.string().nullable().describe("the latest seen on its views or adds; null when none had one"),
    views: count.describe("product_view events"),
    adds_to_cart: count.describe("add_to_cart events"),
    purchases: count.describe("purchases with a line for the product"),
    revenue: cents.describe("sum of price × quantity of its lines, to cents"),
    conversion_rate: rate.describe("purchases / views"),
  })),
});

/** `GET /products/trending` query. */
export const TrendingQuery = z.object({ limit: limit(10, 100, "how many products") });

/** `GET /products/trending`: the last 5 whole minutes of event time up to the watermark's. */
export const Trending = z.strictObject({
  window: z.strictObject({ from: instant, to: instant }).nullable().describe("null before any event"),
  products: z.array(z.strictObject({
    product_id: z.string(),
    category: z.string().nullable(),
    views: count.describe("product_view events in the window"),
  })),
});

/** `GET /revenue` query. */
export const RevenueQuery = z.object({
  by: Dimension.default("country").describe("the dimension"),
  from: time("purchases at or after this time"),
  to: time("purchases before this time"),
});

/** `GET /sessions` query. */
export const SessionsQuery = z.object({
  from: time("sessions starting at or after this time"),
  to: time("sessions starting before this time"),
});

/** `GET /revenue`: largest revenue first; a missing key is 'unknown'. */
export const Revenue = z.strictObject({
  by: Dimension,
  rows: z.array(z.strictObject({ key: z.string(), revenue: cents, purchases: count, users: count })),
});

const Segment = z.enum(SEGMENTS);

/** `GET /segments`: every user's RFM tier, every tier listed. */
export const Segments = z.strictObject({
  segments: z.array(z.strictObject({ segment: Segment, users: count })),
});

/** `GET /videos` query. */
export const VideosQuery = RangeQuery.extend({ limit: limit(20, 1000, "how many videos") });

/** `GET /videos`: most played first; with a range, of the views whose first event is in it. */
export const Videos = z.strictObject({
  from: instant.nullable().describe("the range asked for, null when open"),
  to: instant.nullable(),
  videos: z.array(z.strictObject({
    video_id: z.string(),
    plays: count.describe("video_play events"),
    views: count.describe("a user's plays of the video within one session"),
    completions: count.describe("views with a video_complete"),
    completion_rate: rate,
    watch_time_s: z.number().min(0).describe("sum over views of the furthest position reached, to 0.1 s"),
    drop_off: z.array(z.strictObject({ from_pct: count, to_pct: count, views: count }))
      .describe("views that did not complete, by the tenth of the video they stopped in"),
  })),
});

const Histogram = z.array(z.strictObject({
  from: count,
  to: count.nullable().describe("excluded; null for the last, open bucket"),
  sessions: count,
}));

/** `GET /sessions`: the distributions of session length and pages per session. */
export const Sessions = z.strictObject({
  duration_s: Histogram.describe("sessions by seconds from first to last event"),
  pages: Histogram.describe("sessions by page_view and product_view events"),
});

/** `GET /properties`. */
export const Properties = z.strictObject({
  event: z.array(z.strictObject({ name: z.string(), events: count.describe("events that carried it") }))
    .describe("event properties, the 200 most common first: what `breakdown` and `where` name as they are"),
  user: z.array(z.strictObject({ name: z.string(), users: count.describe("users who have it") }))
    .describe("user properties (traits), the 200 most common first: `breakdown` and `where` name them after `user.`"),
});

/** `GET /users/:user_id` path. */
export const UserParams = z.object({ user_id: z.string().describe("the events' user_id") });

/** A user's totals, as `/users/:user_id` and the pages of users give them. */
const PersonFields = {
  user_id: z.string(),
  events: count,
  purchases: count,
  spent: money.describe("sum of purchase amounts"),
  first_seen: instant,
  last_seen: instant,
};

/** `GET /users/:user_id`. */
export const User = z.strictObject({
  ...PersonFields,
  sessions: count,
  avg_session_seconds: z.number().min(0).describe("to 0.1 s"),
  engagement_score: z.number().int().min(0).max(100),
  segment: Segment.describe("RFM tier"),
});

/** An event type, as events carry it. */
const eventType = (what: string) =>
  z.string().regex(/^[a-z][a-z0-9_.]{0,63}$/, "must be an event type, [a-z][a-z0-9_.]{0,63}").optional().describe(what);

/** `GET /retention` query. */
export const RetentionQuery = z.object({
  interval: z.enum(["day", "week"]).default("day").describe("cohorts and periods by UTC day, or by week from Monday"),
  periods: z.coerce.number().int().min(1).max(90).default(7).describe("periods after the first, 1..90 (default 7)"),
  start_event: eventType("cohorts by the first event of this type (default: by the first event of any type)"),
  return_event: eventType("a user came back in a period with an event of this type (default: of any type)"),
  from: time("the first cohort: the period holding this time (default: `periods` periods before the last)"),
  to: time("the last cohort: the period holding the instant before this time (default: the watermark's)"),
});

/** `GET /retention`. */
export const Retention = z.strictObject({
  interval: z.enum(["day", "week"]),
  start_event: z.string().nullable(),
  return_event: z.string().nullable(),
  periods: count,
  as_of: instant.nullable().describe("the watermark: periods after it have no answer yet"),
  cohorts: z.array(z.strictObject({
    start: z.string().describe("the cohort's first day, YYYY-MM-DD (a Monday for weeks)"),
    users: count.describe("users whose first (start_event) event was in this period"),
    retained: z.array(count.nullable()).describe(
      "per period from the cohort's (0: the cohort itself), its users who came back in it; null before it began",
    ),
    rates: z.array(z.number().min(0).max(1).nullable()).describe(
      "retained / users, to 4 decimals; null before the period began, or for a cohort without users",
    ),
  })),
  average: z.array(z.number().min(0).max(1).nullable()).describe(
    "per period, retained / users over the cohorts that reached it; null when they have no users",
  ),
});

/** A page of users: a cursor from the previous page's `next`, and how many. */
const PageQuery = z.object({
  limit: limit(50, 1000, "how many users"),
  after: z.string().min(1).max(128).optional().describe("the previous page's `next`: users after this user_id"),
});

/** `GET /segments/:segment/users` path. */
export const SegmentParams = z.object({ segment: Segment.describe("an RFM tier") });

/** `GET /segments/:segment/users` query. */
export const SegmentUsersQuery = PageQuery;

/** `GET /retention/users` query: a cell of the retention table. */
export const RetentionUsersQuery = PageQuery.extend({
  interval: RetentionQuery.shape.interval,
  start_event: RetentionQuery.shape.start_event,
  return_event: RetentionQuery.shape.return_event,
  cohort: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date, YYYY-MM-DD")
    .refine((d) => !Number.isNaN(Date.parse(d)) && new Date(d).toISOString().startsWith(d), "must be a real date")
    .refine((d) => d >= "1000" && d < "9000", "must be within the years 1000 to 8999")
    .describe("the cohort's first day, as `/retention` gives it (a Monday for weeks)"),
  period: z.coerce.number().int().min(0).max(90).default(0)
    .describe("0: the cohort's users; k: those of them who came back in the k-th period after (default 0)"),
});

const Person = z.strictObject(PersonFields);
/** A user as the pages of users list them. */
export type Person = z.infer<typeof Person>;

/** A page of users behind a number, by user_id, each with their totals. */
export const People = z.strictObject({
  total: count.describe("users behind the number, on every page"),
  users: z.array(Person).describe("by user_id"),
  next: z.string().nullable().describe("pass as `after` for the next page; null on the last"),
});
