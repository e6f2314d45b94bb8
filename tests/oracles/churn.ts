/**
 * The offline truth for tests: churn's live features recomputed from the raw log with plain SQL, sharing no code with
 * the plugin.
 */
import type { Sql } from "../../runtime/store/mod.ts";
import { logByPerson } from "./persons.ts";

/** Some of a user's features recomputed from the raw log at moment `t`, with no code from the plugin. */
export async function expectedFeatures(sql: Sql, user: string, t: string) {
  const events = await logByPerson(sql);
  const [r] = await sql.query<Record<string, number>>(
    `with e as (
       select ts, type, (body->'properties'->>'amount')::numeric as amount,
         (($2::timestamptz - interval '1 millisecond') at time zone 'UTC')::date - (ts at time zone 'UTC')::date as age
       from ${events} where user_id = $1 and ts <= $2
     )
     select round((extract(epoch from $2::timestamptz - max(ts)) / 86400)::numeric, 1)::float8 as recency_days,
       (max(age) + 1)::float8 as tenure_days,
       count(*) filter (where age < 7)::float8 as events_7d, count(*) filter (where age < 30)::float8 as events_30d,
       count(*) filter (where age < 30 and type in ('page_view', 'product_view'))::float8 as views_30d,
       count(*) filter (where age < 30 and type = 'add_to_cart')::float8 as carts_30d,
       count(*) filter (where age < 30 and type = 'purchase')::float8 as purchases_30d,
       round(coalesce(sum(amount) filter (where age < 30 and type = 'purchase'), 0))::float8 as spend_30d,
       count(*) filter (where type = 'purchase')::float8 as purchases_total,
       count(distinct age) filter (where age < 30)::float8 as active_days_30d
     from e`,
    [user, t],
  );
  // Sessions started in the 30 days before t: by session_id, or split at gaps of 30 minutes or more.
  const [{ sessions_30d }] = await sql.query<{ sessions_30d: number }>(
    `with starts as (
       select min(ts) as started from ${events} where user_id = $1 and body->>'session_id' is not null
       group by body->>'session_id'
       union all
       select ts from (
         select ts, ts - lag(ts) over (order by ts, event_id) as gap from ${events}
         where user_id = $1 and body->>'session_id' is null
       ) e where gap is null or gap >= interval '30 minutes'
     )
     select count(*)::float8 as sessions_30d from starts
     where started < $2::timestamptz and started >= $2::timestamptz - interval '30 days'`,
    [user, t],
  );
  return { ...r, sessions_30d };
}
