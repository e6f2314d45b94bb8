/**
 * The people behind stats' numbers: the users of an RFM segment, and those of a retention cell (a cohort's users, or
 * those of them who came back in a period), a page at a time, by user_id, each with their totals.
 * @module
 */
import type { Hono } from "hono";
import { describeRoute, type Env, HttpError } from "@runtime/sdk";
import * as api from "./api.ts";
import { RFM_SQL, SEGMENT_SCORES } from "./users.ts";

type Db = Env["db"];

/**
 * A page of the users `ids` (SQL selecting `user_id`, with parameters from $3 on) holds: $1 the cursor, $2 the page's
 * size. One more than asked is read, to know whether there is a next page; an empty page still answers the total.
 */
async function page(db: Db, ids: string, params: unknown[], after: string | undefined, limit: number) {
  const rows = await db.query<Partial<api.Person> & { total: number }>(
    `with ids as (${ids}), total as (select count(*)::int8 as total from ids)
     select t.total, p.* from total t left join lateral (
       select u.user_id, u.events, u.purchases, u.spent, u.first_seen, u.last_seen
       from ids join users u using (user_id)
       where $1::text is null or u.user_id > $1::text
       order by u.user_id
       limit $2::int
     ) p on true`,
    [after ?? null, limit + 1, ...params],
  );
  const users = rows.filter((r) => r.user_id !== null).slice(0, limit).map(({ total: _, ...u }) => u as api.Person);
  return { total: rows[0].total, users, next: rows.length > limit ? users[users.length - 1].user_id : null };
}

/** Adds `/segments/:segment/users` and `/retention/users` to `app`. */
export function peopleRoutes(app: Hono<{ Bindings: Env }>): void {
  app.get(
    "/segments/:segment/users",
    describeRoute({
      summary: "The users of an RFM segment, a page at a time",
      params: api.SegmentParams,
      query: api.SegmentUsersQuery,
      response: api.People,
      errors: [400],
    }),
    async (c) => {
      const segment = api.SegmentParams.shape.segment.safeParse(c.req.param("segment"));
      if (!segment.success) {
        throw new HttpError(400, `segment: must be one of ${api.SEGMENTS.join(", ")}, got '${c.req.param("segment")}'`);
      }
      const [lo, hi] = SEGMENT_SCORES[segment.data];
      const { limit, after } = c.req.valid("query");
      const ids = `select user_id from (${RFM_SQL}) r where score between $3::int and $4::int`;
      return c.json(await page(c.env.db, ids, [lo, hi], after, limit));
    },
  );

  app.get(
    "/retention/users",
    describeRoute({
      summary: "The users of a retention cell: a cohort's, or those of them who came back in a period",
      query: api.RetentionUsersQuery,
      response: api.People,
      errors: [400],
    }),
    async (c) => {
      const q = c.req.valid("query");
      const step = q.interval === "week" ? 7 : 1;
      // 1970-01-05 was a Monday: a week's cohort starts on one.
      if (step === 7 && (Date.parse(q.cohort) / 86_400_000 - 4) % 7 !== 0) {
        throw new HttpError(400, `cohort: must be a Monday when interval is week, got '${q.cohort}'`);
      }
      const ids = `
        select f.user_id from user_firsts f
        where f.type = $3 and f.day >= $4::date and f.day < $4::date + $5::int
          and ($6::int = 0 or exists (
            select from user_days d
            where d.user_id = f.user_id and d.day >= $4::date + $6::int * $5::int
              and d.day < $4::date + ($6::int + 1) * $5::int and ($7::text is null or $7::text = any(d.types))))`;
      const params = [q.start_event ?? "", q.cohort, step, q.period, q.return_event ?? null];
      return c.json(await page(c.env.db, ids, params, q.after, q.limit));
    },
  );
}
