/**
 * Churn features of a user at a moment `t` of event time, computed from the daily activity and sessions
 * before `t`, so the same SQL gives live features (at the watermark) and training snapshots (in the past).
 */
import type { Env } from "@runtime/sdk";

type Db = Env["db"];

/** The features, in the order models see them. Windows end with the day holding `t`. */
export const FEATURES = [
  "recency_days", // days since the last event
  "tenure_days", // days since the first
  "events_7d",
  "events_30d",
  "sessions_7d",
  "sessions_30d",
  "trend_7d", // (events in the last 7 days − the 7 before) / (their sum + 1): −1 fading … +1 growing
  "views_30d",
  "carts_30d",
  "purchases_30d",
  "spend_30d",
  "purchases_total",
  "cart_abandonment_30d", // sessions with a cart but no purchase / sessions with a cart
  "avg_session_min_30d",
  "active_days_30d", // days with an event among the last 30
  "active_days_before_30d", // among the 30 before those
  "recency_vs_gap", // recency over the user's usual gap between active days (30 / active_days_30d)
] as const;

/** Users count as active, and are scored, while their last event is at most this many days old. */
export const ACTIVE_DAYS = 30;

/** A user's features at a moment. */
export interface Observation {
  user_id: string;
  /** The moment (ms). */
  t: number;
  x: number[];
}

/**
 * SQL for the features of every (user_id, t) row `pairs` yields. Rounded, so trees split on few values.
 * `d` is the UTC day holding the last millisecond before `t`: at midnight, the day before.
 */
function featuresSql(pairs: string): string {
  return `
    with pairs as (
      select user_id, t, ((t - interval '1 millisecond') at time zone 'UTC')::date as d from (${pairs}) p
    ), act as (
      select p.user_id, p.t,
        extract(epoch from p.t - max(a.last_ts))::float8 / 86400 as recency_days,
        (p.d - min(a.day) + 1)::float8 as tenure_days,
        coalesce(sum(a.events) filter (where a.day > p.d - 7), 0)::float8 as events_7d,
        coalesce(sum(a.events) filter (where a.day > p.d - 30), 0)::float8 as events_30d,
        coalesce(sum(a.events) filter (where a.day > p.d - 14 and a.day <= p.d - 7), 0)::float8 as events_before_7d,
        coalesce(sum(a.views) filter (where a.day > p.d - 30), 0)::float8 as views_30d,
        coalesce(sum(a.carts) filter (where a.day > p.d - 30), 0)::float8 as carts_30d,
        coalesce(sum(a.purchases) filter (where a.day > p.d - 30), 0)::float8 as purchases_30d,
        coalesce(sum(a.spend) filter (where a.day > p.d - 30), 0)::float8 as spend_30d,
        sum(a.purchases)::float8 as purchases_total,
        count(*) filter (where a.day > p.d - 30)::float8 as active_days_30d,
        count(*) filter (where a.day > p.d - 60 and a.day <= p.d - 30)::float8 as active_days_before_30d
      from pairs p join activity a on a.user_id = p.user_id and a.day <= p.d
      group by p.user_id, p.t, p.d
    ), sess as (
      select p.user_id, p.t,
        count(*) filter (where s.started_at >= p.t - interval '7 days')::float8 as sessions_7d,
        count(*)::float8 as sessions_30d,
        avg(extract(epoch from least(s.ended_at, p.t) - s.started_at))::float8 / 60 as avg_session_min_30d,
        count(*) filter (where s.carted)::float8 as carted,
        count(*) filter (where s.carted and not s.purchased)::float8 as abandoned
      -- Only sessions over by t: a session running past t would tell its cart's fate after t.
      from pairs p join sessions s on s.user_id = p.user_id
        and s.ended_at < p.t and s.started_at >= p.t - interval '30 days'
      group by p.user_id, p.t
    ), features as (
      select a.user_id, (extract(epoch from a.t) * 1000)::int8 as t,
        round(a.recency_days::numeric, 1)::float8 as recency_days, a.tenure_days, a.events_7d, a.events_30d,
        coalesce(s.sessions_7d, 0) as sessions_7d, coalesce(s.sessions_30d, 0) as sessions_30d,
        round(((a.events_7d - a.events_before_7d) / (a.events_7d + a.events_before_7d + 1))::numeric, 2)::float8
          as trend_7d,
        a.views_30d, a.carts_30d, a.purchases_30d, round(a.spend_30d)::float8 as spend_30d, a.purchases_total,
        case when coalesce(s.carted, 0) = 0 then 0 else round((s.abandoned / s.carted)::numeric, 2)::float8 end
          as cart_abandonment_30d,
        round(coalesce(s.avg_session_min_30d, 0)::numeric, 1)::float8 as avg_session_min_30d,
        a.active_days_30d, a.active_days_before_30d,
        round((a.recency_days * greatest(a.active_days_30d, 1) / 30)::numeric, 2)::float8 as recency_vs_gap
      from act a left join sess s using (user_id, t)
      where a.recency_days <= ${ACTIVE_DAYS}
    )
    select coalesce(json_agg(json_build_array(user_id, t, ${FEATURES.join(", ")}) order by user_id), '[]')::text
      as rows
    from features`;
}

/**
 * The observations in what {@linkcode featuresSql} answers: one JSON text of `[user_id, t, ...features]` rows,
 * which the host hands over several times cheaper than a row object per user.
 */
function observations(rows: { rows: string }[]): Observation[] {
  return (JSON.parse(rows[0].rows) as [string, number, ...number[]][]).map(([user_id, t, ...x]) => ({ user_id, t, x }));
}

/** Features of `users` at moment `t` (live, just after the latest event, so every session so far counts). */
export async function featuresOf(db: Db, users: string[], t: string): Promise<Observation[]> {
  const rows = await db.query<{ rows: string }>(
    featuresSql(`select unnest($1::text[]) as user_id, $2::timestamptz as t`),
    [users, t],
  );
  return observations(rows);
}

/** Features of every user active at moment `t`. */
export async function featuresOfActive(db: Db, t: string): Promise<Observation[]> {
  const rows = await db.query<{ rows: string }>(
    featuresSql(`select distinct user_id, $1::timestamptz as t from activity
                 where day > (($1::timestamptz - interval '1 millisecond') at time zone 'UTC')::date - ${ACTIVE_DAYS}
                   and day <= (($1::timestamptz - interval '1 millisecond') at time zone 'UTC')::date`),
    [t],
  );
  return observations(rows);
}

/**
 * Training snapshots at moment `t` (a past midnight): every user active then, with whether they were gone
 * for the `horizonDays` after it.
 */
export async function snapshotAt(
  db: Db,
  t: string,
  horizonDays: number,
): Promise<(Observation & { churned: boolean })[]> {
  const features = await featuresOfActive(db, t);
  const back = await db.query<{ user_id: string }>(
    `select distinct user_id from activity
     where day >= ($1::timestamptz at time zone 'UTC')::date
       and day < ($1::timestamptz at time zone 'UTC')::date + $2::int4`,
    [t, horizonDays],
  );
  const returned = new Set(back.map((r) => r.user_id));
  return features.map((o) => ({ ...o, churned: !returned.has(o.user_id) }));
}
