/**
 * stats' overview and time series: KPIs over a range of event time from the per-minute counters, or, when the query
 * filters events by their properties or breaks them down by one, from every event's facts (`breakdown.ts`).
 * @module
 */
import type { Hono } from "hono";
import { z } from "zod";
import { describeRoute, type Env, HttpError, parseProperty, propertyText } from "@runtime/sdk";
import * as api from "./api.ts";
import { type FactsQuery, type Figures, figures, overviewFacts, seriesFacts } from "./breakdown.ts";
import { inRangeSql, wholeMinutes } from "./buckets.ts";
import { ratio, round } from "./numbers.ts";

/**
 * SQL: the `user_hours` rows with an active minute in [the minute of $1, $2), either end open when null.
 * The minutes in range are the row's bits from `lo` (the range's first minute, counted from the row's hour)
 * up to `hi` (the first minute at or after $2); an empty range keeps no bit.
 */
const ACTIVE_IN_RANGE = `
  ($1::timestamptz is null or hour >= date_trunc('hour', $1::timestamptz, 'UTC'))
  and ($2::timestamptz is null or hour < $2::timestamptz)
  and (minutes & greatest(0,
    (1::int8 << (case when $2::timestamptz is null then 60
                 else least(60, ceil(extract(epoch from $2::timestamptz - hour) / 60))::int end))
    - (1::int8 << (case when $1::timestamptz is null then 0
                   else greatest(0, extract(epoch from date_trunc('minute', $1::timestamptz, 'UTC') - hour) / 60)::int
                   end)))) <> 0`;

/** The most buckets one time series answers. */
const MAX_BUCKETS = 10_000;
/** The most rows (buckets by values) a broken-down time series answers. */
const MAX_BREAKDOWN_ROWS = 100_000;

/** The overview's figures from the counters: events and revenue per minute and type, users active per minute. */
async function countedFigures(db: Env["db"], from: string | null, to: string | null): Promise<Figures> {
  const inRange = `($1::timestamptz is null or minute >= date_trunc('minute', $1::timestamptz, 'UTC'))
                   and ($2::timestamptz is null or minute < $2::timestamptz)`;
  const [types, [{ users }]] = await Promise.all([
    db.query<{ type: string; events: number; revenue: number }>(
      `select type, sum(events)::int8 as events, sum(revenue) as revenue from minute_counts where ${inRange}
       group by type`,
      [from, to],
    ),
    from === null && to === null
      ? db.query<{ users: number }>("select count(*)::int8 as users from users")
      : db.query<{ users: number }>(
        `select count(distinct user_id)::int8 as users from user_hours where ${ACTIVE_IN_RANGE}`,
        [from, to],
      ),
  ]);
  const byType: Record<string, number> = {};
  let revenue = 0;
  for (const t of types.sort((a, b) => a.type.localeCompare(b.type))) {
    byType[t.type] = t.events;
    revenue += t.revenue;
  }
  return figures(byType, revenue, users);
}

/** The per-session figures of the overview, over sessions overlapping the range. */
async function sessionFigures(db: Env["db"], from: string | null, to: string | null) {
  const [{ sessions, carted, abandoned }] = await db.query<{ sessions: number; carted: number; abandoned: number }>(
    `select count(*)::int8 as sessions, count(*) filter (where has_cart)::int8 as carted,
       count(*) filter (where has_cart and not has_purchase)::int8 as abandoned
     from sessions
     where ($1::timestamptz is null or ended_at >= date_trunc('minute', $1::timestamptz, 'UTC'))
       and ($2::timestamptz is null or date_trunc('minute', started_at, 'UTC') < $2::timestamptz)`,
    [from, to],
  );
  return { sessions, cart_abandonment_rate: ratio(abandoned, carted) };
}

/** A query's range in whole minutes (`to` up to its minute's end, as the counters' minutes read it) and its filters. */
function factsQuery(
  q: { breakdown?: string; breakdown_limit: number; where: FactsQuery["conditions"] },
  from: string | null,
  to: string | null,
): FactsQuery {
  return {
    ...wholeMinutes(from, to),
    conditions: q.where,
    breakdown: q.breakdown === undefined ? null : parseProperty(q.breakdown),
    limit: q.breakdown_limit,
  };
}

/** stats' settings (`PLUGIN_STATS`), parsed by the host with this schema. */
export const Config = z.strictObject({
  /**
   * The most events a range may hold for a breakdown or conditions, which read each of its events: about 1 to 4 s on
   * PostgreSQL per million (docs/performance.md), against the plugin's 10 s limit per request.
   */
  maxScanEvents: z.int().min(1).max(100_000_000).default(1_000_000),
});

/**
 * Refuses, with a 400 saying why, a breakdown or conditions over a range holding more events than `maxScanEvents`
 * (counted from the per-minute counters): its answer would outlast the request's time limit.
 */
async function assertScannable(env: Env, q: FactsQuery): Promise<void> {
  const { maxScanEvents } = env.config as z.infer<typeof Config>; // validated by the host with Config
  const params: unknown[] = [];
  const inRange = inRangeSql("minute", q, params);
  const [{ events }] = await env.db.query<{ events: number }>(
    `select coalesce(sum(events), 0)::int8 as events from minute_counts where ${inRange}`,
    params,
  );
  if (events > maxScanEvents) {
    throw new HttpError(
      400,
      `breakdown and where read each event of the range, which holds ${events}: at most ${maxScanEvents} ` +
        "(PLUGIN_STATS maxScanEvents); choose a shorter range",
    );
  }
}

/** The most property names `/properties` lists of each kind. */
const MAX_PROPERTIES = 200;

/** stats' `/overview`, `/timeseries` and the `/properties` they break down by. */
export function overviewRoutes(app: Hono<{ Bindings: Env }>): void {
  app.get(
    "/properties",
    describeRoute({ summary: "The property names a breakdown or a condition may use", response: api.Properties }),
    async (c) => {
      const [event, user] = await Promise.all([
        c.env.db.query(`select name, events from property_names order by events desc, name limit $1`, [
          MAX_PROPERTIES,
        ]),
        c.env.db.query(
          `select key as name, count(*)::int8 as users from user_traits group by key order by users desc, key limit $1`,
          [MAX_PROPERTIES],
        ),
      ]);
      return c.json({ event, user });
    },
  );
  app.get(
    "/overview",
    describeRoute({
      summary: "KPIs over a range of event time, optionally filtered and broken down by a property",
      query: api.OverviewQuery,
      response: api.Overview,
      errors: [400],
    }),
    async (c) => {
      const q = c.req.valid("query");
      const { from = null, to = null } = q;
      const db = c.env.db;
      const facts = q.breakdown !== undefined || q.where.length > 0 ? factsQuery(q, from, to) : null;
      if (facts !== null) await assertScannable(c.env, facts);
      const filtered = q.where.length > 0;
      // Without conditions the figures are the counters', and a breakdown's rows come from the facts beside them.
      const [sliced, counted, perSession] = await Promise.all([
        facts === null ? null : overviewFacts(db, facts, { totals: filtered }),
        filtered ? null : countedFigures(db, from, to),
        // Sessions are not split by event properties: with conditions, the per-session figures are null.
        filtered ? { sessions: null, cart_abandonment_rate: null } : sessionFigures(db, from, to),
      ]);
      const f = counted ?? sliced!.totals!;
      return c.json({
        from,
        to,
        events: f.events,
        users: f.users,
        sessions: perSession.sessions,
        purchases: f.purchases,
        revenue: f.revenue,
        by_type: f.by_type,
        conversion_rate: f.conversion_rate,
        cart_rate: f.cart_rate,
        checkout_rate: f.checkout_rate,
        cart_abandonment_rate: perSession.cart_abandonment_rate,
        aov: f.aov,
        revenue_per_user: f.revenue_per_user,
        ...(facts?.breakdown ? { breakdown: { by: propertyText(facts.breakdown), rows: sliced!.rows } } : {}),
      });
    },
  );

  app.get(
    "/timeseries",
    describeRoute({
      summary: "Events, revenue and users per minute, hour or day",
      query: api.TimeseriesQuery,
      response: api.Timeseries,
      errors: [400],
    }),
    async (c) => {
      const query = c.req.valid("query");
      const bucket = query.bucket;
      const width = api.BUCKETS[bucket];
      const db = c.env.db;
      let from = query.from ?? null;
      let to = query.to ?? null;
      if (from === null || to === null) {
        const [span] = await db.query<{ first: string | null; last: string | null }>(
          "select min(minute) as first, max(minute) as last from minute_counts",
        );
        if (span.first === null) {
          const by = query.breakdown;
          return c.json({ bucket, buckets: [], ...(by ? { breakdown: { by, values: [], rows: [] } } : {}) });
        }
        from ??= new Date(span.first).toISOString();
        to ??= new Date(Date.parse(span.last!) + 60_000).toISOString();
      }
      const first = Math.floor(Date.parse(from) / width) * width;
      const count = Math.ceil((Date.parse(to) - first) / width);
      if (count > MAX_BUCKETS) {
        throw new HttpError(
          400,
          `${count} ${bucket} buckets asked, at most ${MAX_BUCKETS}: use a larger bucket or a shorter range`,
        );
      }
      if (query.breakdown !== undefined || query.where.length > 0) {
        const facts = factsQuery(query, from, to);
        await assertScannable(c.env, facts);
        const rowsAsked = count * (facts.breakdown === null ? 1 : query.breakdown_limit + 1);
        if (rowsAsked > MAX_BREAKDOWN_ROWS) {
          throw new HttpError(
            400,
            `${count} ${bucket} buckets by up to ${
              query.breakdown_limit + 1
            } values make ${rowsAsked} rows, at most ${MAX_BREAKDOWN_ROWS}: use a larger bucket, a shorter range or a smaller breakdown_limit`,
          );
        }
        const series = await seriesFacts(db, facts, bucket, first, width, count);
        const iso = (ms: number) => new Date(ms).toISOString();
        return c.json({
          bucket,
          buckets: series.buckets.map((b) => ({ ...b, start: iso(b.start) })),
          ...(facts.breakdown === null ? {} : {
            breakdown: {
              by: propertyText(facts.breakdown),
              values: series.values,
              rows: series.rows.map((r) => ({ ...r, start: iso(r.start) })),
            },
          }),
        });
      }
      const inRange = `minute >= date_trunc('minute', $1::timestamptz, 'UTC') and minute < $2::timestamptz`;
      const [types, users] = await Promise.all([
        db.query<{ start: string; type: string; events: number; revenue: number }>(
          `select date_trunc($3, minute, 'UTC') as start, type, sum(events)::int8 as events, sum(revenue) as revenue
         from minute_counts where ${inRange} group by 1, 2`,
          [from, to, bucket],
        ),
        bucket === "minute"
          ? db.query<{ start: string; users: number }>(
            `select hour + m * interval '1 minute' as start, count(distinct user_id)::int8 as users
           from user_hours, generate_series(0, 59) m where ${ACTIVE_IN_RANGE} and minutes & (1::int8 << m) <> 0
           group by 1`,
            [from, to],
          )
          : db.query<{ start: string; users: number }>(
            `select date_trunc($3, hour, 'UTC') as start, count(distinct user_id)::int8 as users
           from user_hours where ${ACTIVE_IN_RANGE} group by 1`,
            [from, to, bucket],
          ),
      ]);
      const buckets = Array.from({ length: Math.max(0, count) }, (_, i) => ({
        start: new Date(first + i * width).toISOString(),
        events: 0,
        by_type: {} as Record<string, number>,
        revenue: 0,
        users: 0,
      }));
      const at = (start: string) => buckets[Math.round((Date.parse(start) - first) / width)];
      for (const t of types.sort((a, b) => a.type.localeCompare(b.type))) {
        const b = at(t.start);
        if (!b) continue;
        b.events += t.events;
        b.by_type[t.type] = t.events;
        b.revenue = round(b.revenue + t.revenue, 2);
      }
      for (const u of users) {
        const b = at(u.start);
        if (b) b.users = u.users;
      }
      return c.json({ bucket, buckets });
    },
  );
}
