/**
 * Retention, in event time: users grouped into cohorts by the UTC day or week (from Monday) of their first event, or
 * of their first event of a chosen type; for each later day or week, how many of a cohort came back (had any event,
 * or one of a chosen type). Kept per user and day (`user_days`, the types they had) and per user and type (`user_firsts`,
 * their first day), so a late event moves its user to an earlier cohort, and the answers equal a recomputation from
 * the raw events.
 * @module
 */
import type { Hono } from "hono";
import { describeRoute, type Env, type Event, fold, HttpError, key } from "@runtime/sdk";
import * as api from "./api.ts";
import { ratio } from "./numbers.ts";

type Db = Env["db"];

const DAY_MS = 86_400_000;

/** The UTC day holding an instant (ms), in days since 1970-01-01. */
const dayOf = (ms: number) => Math.floor(ms / DAY_MS);

/** SQL: the first day (a date) of the week, from Monday, holding the date `d`. */
const week = (d: string) => `(${d} - (${d} - date '1970-01-01' + 3) % 7)`;

/** SQL: the week of a batch's (user, day) pair in {@linkcode COHORTS_SQL}. */
const batchWeek = week("rd.day");

/**
 * SQL: what a batch's (user, day, type) rows ($1, $2: days since 1970-01-01, $3; $4 its distinct users) change in
 * `cohort_days` and `cohort_weeks`, read from `user_days` and `user_firsts` before the batch updates them. For each
 * start type a user has done ('' for any), the user counts once at (type, first day, d) for each day d from that first
 * day on that they were active, and once at (type, first week, w) per week w from the first week on. A day (or week)
 * new for its user adds one under each start type the user has done by then; a start type whose first day moves
 * earlier (a late event), or that the user does for the first time, takes back what it had counted under the old first
 * day and counts the user's days under the new one. The users' days and first days are read once, by their ids ($4).
 */
const COHORTS_SQL = `
  with r as (
    select distinct user_id, date '1970-01-01' + day as day, type
    from unnest($1::text[], $2::int4[], $3::text[]) as r(user_id, day, type)
  ), rd as (
    select distinct user_id, day from r
  ), bf as (
    select user_id, type, min(day) as day from r group by user_id, type
    union all select user_id, '', min(day) from r group by user_id
  ), f as (
    select user_id, type, day from user_firsts where user_id = any($4::text[])
  ), ud as materialized (
    select user_id, day from user_days where user_id = any($4::text[])
  ), st as (
    select coalesce(b.user_id, f.user_id) as user_id, coalesce(b.type, f.type) as type, f.day as old_first,
      least(f.day, b.day) as new_first
    from bf b full join f on f.user_id = b.user_id and f.type = b.type
  ), moved as (
    select d.user_id, d.day, st.type, st.old_first, st.new_first from ud d join st on st.user_id = d.user_id
    where st.old_first is null or st.new_first < st.old_first
  ), fresh as (
    select rd.user_id, rd.day, st.type, st.new_first from rd join st on st.user_id = rd.user_id
    where st.new_first <= rd.day and not exists (select from ud d where d.user_id = rd.user_id and d.day = rd.day)
  ), fresh_weeks as (
    select distinct rd.user_id, ${batchWeek} as week, st.type, st.new_first from rd join st on st.user_id = rd.user_id
    where ${week("st.new_first")} <= ${batchWeek}
      and not exists (select from ud d where d.user_id = rd.user_id and d.day >= ${batchWeek} and d.day < ${batchWeek} + 7)
  ), moved_weeks as (
    select distinct user_id, ${week("day")} as week, type, old_first, new_first from moved
  ), day_delta as (
    select type, old_first as first, day, -1 as n from moved where day >= old_first
    union all select type, new_first, day, 1 from moved where day >= new_first
    union all select type, new_first, day, 1 from fresh
  ), week_delta as (
    select type, ${week("old_first")} as first, week, -1 as n from moved_weeks where week >= ${week("old_first")}
    union all select type, ${week("new_first")}, week, 1 from moved_weeks where week >= ${week("new_first")}
    union all select type, ${week("new_first")}, week, 1 from fresh_weeks
  ), days_counted as (
    insert into cohort_days (type, first, day, users)
    select type, first, day, sum(n) from day_delta group by type, first, day having sum(n) <> 0
    order by type, first, day
    on conflict (type, first, day) do update set users = cohort_days.users + excluded.users
  )
  insert into cohort_weeks (type, first, week, users)
  select type, first, week, sum(n) from week_delta group by type, first, week having sum(n) <> 0
  order by type, first, week
  on conflict (type, first, week) do update set users = cohort_weeks.users + excluded.users`;

/** Records the types each user had on each day, and each user's first day overall ('') and per type. */
export async function recordDays(db: Db, batch: Event[]): Promise<void> {
  const rows = fold(
    batch,
    (e) => key(e.user_id, dayOf(Date.parse(e.timestamp)), e.type),
    (e) => ({ user: e.user_id, day: dayOf(Date.parse(e.timestamp)), type: e.type }),
    () => {},
  );
  if (rows.length === 0) return;
  // Before the days and first days are updated: the counts by cohort are told what changes.
  const users = [...new Set(rows.map((r) => r.user))];
  await db.query(COHORTS_SQL, [rows.map((r) => r.user), rows.map((r) => r.day), rows.map((r) => r.type), users]);
  await db.query(
    `with r as (select * from unnest($1::text[], $2::int4[], $3::text[]) as r(user_id, day, type)),
     days as (
       insert into user_days (user_id, day, types)
       select user_id, date '1970-01-01' + day, array_agg(type order by type) from r group by user_id, day
       on conflict (user_id, day) do update
         set types = array(select distinct t from unnest(user_days.types || excluded.types) as t order by t)
         where not excluded.types <@ user_days.types
     )
     insert into user_firsts (type, user_id, day)
     select type, user_id, date '1970-01-01' + min(day)
     from (select type, user_id, day from r union all select '', user_id, day from r) f
     group by type, user_id
     on conflict (user_id, type) do update set day = excluded.day where excluded.day < user_firsts.day`,
    [rows.map((r) => r.user), rows.map((r) => r.day), rows.map((r) => r.type)],
  );
}

/**
 * Moves the merged ids' days and first days to the person (their types united, the earliest first day of each type
 * kept), and in the counts by cohort, takes back what the ids and the person counted under each start type and counts
 * the person as merged. For a statement with \`m (from_id, into_id)\`; every part reads the tables as they were before
 * it.
 */
export const MERGE_DAYS = `
  merged_ids as (select from_id as id, into_id as person from m union select into_id, into_id from m),
  firsts_before as (
    select i.person, i.id, f.type, f.day as first from merged_ids i join user_firsts f on f.user_id = i.id
  ),
  days_before as (select i.person, i.id, d.day from merged_ids i join user_days d on d.user_id = i.id),
  first_after as (select person, type, min(first) as first from firsts_before group by person, type),
  cohort_day_delta as (
    select f.type, f.first, d.day, -1 as n from days_before d join firsts_before f on f.id = d.id where d.day >= f.first
    union all
    select a.type, a.first, d.day, 1 from (select distinct person, day from days_before) d join first_after a using (person)
    where d.day >= a.first
  ),
  cohort_week_delta as (
    select f.type, ${week("f.first")} as first, w.week, -1 as n
    from (select distinct id, ${week("day")} as week from days_before) w join firsts_before f on f.id = w.id
    where w.week >= ${week("f.first")}
    union all
    select a.type, ${week("a.first")}, w.week, 1
    from (select distinct person, ${week("day")} as week from days_before) w join first_after a using (person)
    where w.week >= ${week("a.first")}
  ),
  cohort_days_merged as (
    insert into cohort_days (type, first, day, users)
    select type, first, day, sum(n) from cohort_day_delta group by type, first, day having sum(n) <> 0
    order by type, first, day
    on conflict (type, first, day) do update set users = cohort_days.users + excluded.users
  ),
  cohort_weeks_merged as (
    insert into cohort_weeks (type, first, week, users)
    select type, first, week, sum(n) from cohort_week_delta group by type, first, week having sum(n) <> 0
    order by type, first, week
    on conflict (type, first, week) do update set users = cohort_weeks.users + excluded.users
  ),
  days_gone as (delete from user_days d using m where d.user_id = m.from_id returning m.into_id, d.day, d.types),
  days_moved as (
    insert into user_days (user_id, day, types)
    select into_id, day, array(select distinct t from unnest(array_agg(types)) as t order by t)
    from days_gone group by into_id, day
    on conflict (user_id, day) do update
      set types = array(select distinct t from unnest(user_days.types || excluded.types) as t order by t)
  ),
  firsts_gone as (delete from user_firsts f using m where f.user_id = m.from_id returning m.into_id, f.type, f.day),
  firsts_moved as (
    insert into user_firsts (type, user_id, day)
    select type, into_id, min(day) from firsts_gone group by type, into_id
    on conflict (user_id, type) do update set day = least(user_firsts.day, excluded.day)
  )`;

/** The most cohorts one answer holds. */
const MAX_COHORTS = 400;

/**
 * SQL: per cohort (its first day, as days since 1970-01-01) its users (k = 0), and per later period k how many came
 * back. $1 the start type ('' for any), $2..$3 the cohorts' days, $4 the period in days (1 or 7), $5 the periods, $6
 * the return type (null for any). Days are counted as integers, and periods found by integer arithmetic (weeks from
 * Monday, as {@linkcode periodStart}): no date or time zone function runs per row. A user has one row per day, so by
 * day a hit is one user; by week, a user may have several days in a period, counted once (`distinct`).
 */
const retentionSql = (hits: string) => `
  with c as (
    select user_id, d0 - (case when $4::int = 7 then (d0 + 3) % 7 else 0 end) as first
    from (select user_id, day - date '1970-01-01' as d0 from user_firsts
          where type = $1 and day >= date '1970-01-01' + $2::int and day < date '1970-01-01' + $3::int) f
  ), hits as (
    select c.first, c.user_id, (d.n - (case when $4::int = 7 then (d.n + 3) % 7 else 0 end) - c.first) / $4::int as k
    from c join lateral (
      select day - date '1970-01-01' as n from user_days d
      where d.user_id = c.user_id and d.day >= date '1970-01-01' + c.first + $4::int
        and d.day < date '1970-01-01' + c.first + $4::int * ($5::int + 1)
        and ($6::text is null or $6::text = any(d.types))
    ) d on true
  )
  select first, 0 as k, count(*)::int8 as users from c group by 1
  union all
  select first, k, count(*)::int8 from ${hits} group by 1, 2`;

/** {@linkcode retentionSql} by day, and by week. */
const RETENTION_SQL = { 1: retentionSql("hits"), 7: retentionSql("(select distinct first, user_id, k from hits) h") };

/** The start (days since 1970-01-01) of the day or the week (from Monday) holding `day`. */
function periodStart(day: number, step: 1 | 7): number {
  return step === 1 ? day : day - ((day + 3) % 7); // 1970-01-01 was a Thursday
}

/** Adds `/retention` to `app`. */
export function retentionRoutes(app: Hono<{ Bindings: Env }>): void {
  app.get(
    "/retention",
    describeRoute({
      summary: "Retention: cohorts by first day or week, and how many came back in each later one",
      query: api.RetentionQuery,
      response: api.Retention,
      errors: [400],
    }),
    async (c) => {
      const q = c.req.valid("query");
      const step = q.interval === "week" ? 7 : 1;
      const watermark = c.env.watermark === null ? null : dayOf(Date.parse(c.env.watermark));
      const answer = { interval: q.interval, start_event: q.start_event ?? null, return_event: q.return_event ?? null };
      if (watermark === null && q.to === undefined) {
        return c.json({ ...answer, periods: q.periods, as_of: null, cohorts: [], average: [] }); // no event yet
      }
      // By default, the cohorts of the last periods up to the watermark's: a triangle.
      const to = q.to === undefined
        ? periodStart(watermark!, step) + step
        : periodStart(dayOf(Date.parse(q.to) - 1), step) + step;
      const from = q.from === undefined ? to - step * (q.periods + 1) : periodStart(dayOf(Date.parse(q.from)), step);
      if (to <= from) throw new HttpError(400, "from must be before to");
      if ((to - from) / step > MAX_COHORTS) {
        throw new HttpError(400, `at most ${MAX_COHORTS} cohorts: narrow from..to or use a wider interval`);
      }
      type Count = { first: number; k: number; users: number };
      // Back with any event: read from the counts by cohort. Back with a chosen one: from each cohort user's days.
      const rows = q.return_event === undefined
        ? await c.env.db.query<Count>(
          step === 7
            ? `select first - date '1970-01-01' as first, (week - first) / 7 as k, users from cohort_weeks
               where type = $4 and first >= date '1970-01-01' + $1::int and first < date '1970-01-01' + $2::int
                 and week < first + 7 * ($3::int + 1)`
            : `select first - date '1970-01-01' as first, day - first as k, users from cohort_days
               where type = $4 and first >= date '1970-01-01' + $1::int and first < date '1970-01-01' + $2::int
                 and day < first + ($3::int + 1)`,
          [from, to, q.periods, q.start_event ?? ""],
        )
        : await c.env.db.query<Count>(
          RETENTION_SQL[step],
          [q.start_event ?? "", from, to, step, q.periods, q.return_event ?? null],
        );
      const counts = new Map(rows.map((r) => [`${r.first}/${r.k}`, r.users]));
      const cohorts: { start: string; users: number; retained: (number | null)[]; rates: (number | null)[] }[] = [];
      for (let start = from; start < to; start += step) {
        const users = counts.get(`${start}/0`) ?? 0;
        // A period that has not begun by the watermark has no answer yet.
        const retained = Array.from(
          { length: q.periods + 1 },
          (_, k) => watermark !== null && start + k * step <= watermark ? counts.get(`${start}/${k}`) ?? 0 : null,
        );
        cohorts.push({
          start: isoDay(start),
          users,
          retained,
          rates: retained.map((n) => n === null || users === 0 ? null : ratio(n, users)),
        });
      }
      const average = Array.from({ length: q.periods + 1 }, (_, k) => {
        const seen = cohorts.filter((c) => c.retained[k] !== null);
        const users = seen.reduce((sum, c) => sum + c.users, 0);
        return users === 0 ? null : ratio(seen.reduce((sum, c) => sum + c.retained[k]!, 0), users);
      });
      return c.json({
        ...answer,
        periods: q.periods,
        as_of: c.env.watermark,
        cohorts,
        average,
      });
    },
  );
}

/** A day (since 1970-01-01) as `YYYY-MM-DD`. */
const isoDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
