/**
 * The people behind funnel numbers, a page at a time by user_id: the users who reached a step of a custom funnel or
 * dropped before it, and the users with a session that reached (or stopped just before) a step of the default funnel.
 */
import type { Condition, Env } from "@runtime/sdk";
import type { Definition } from "./definitions.ts";
import { entrants } from "./report.ts";
import { DEFAULT_STEPS } from "./sessions.ts";

type Db = Env["db"];

/** A page's bounds and a step's outcome. */
export interface PeopleQuery {
  /** 1-based for custom funnels; a default step's name for the default funnel. */
  step: number | string;
  outcome: "reached" | "dropped";
  from: string | null;
  to: string | null;
  limit: number;
  after: string | null;
}

/**
 * The users of funnel `d` whose best attempt reached `q.step`, or reached the step before and not it. Every entrant is
 * evaluated once, as for the report: all count in the total, and the page is the first `limit` after `after` (compared
 * in the database, in its order of ids).
 */
export async function funnelUsers(
  db: Db,
  d: Definition,
  q: PeopleQuery & { step: number; /** What an event must meet to count as a step. */ conditions: Condition[] },
) {
  const counts = (n: number) => q.outcome === "reached" ? n >= q.step : n === q.step - 1;
  const users: { user_id: string; entered_at: string; furthest_step: number; last_step_at: string }[] = [];
  let total = 0;
  let more = false;
  const asked = { from: q.from, to: q.to, breakdown: null, conditions: q.conditions };
  for await (const u of entrants(db, d, asked, q.after ?? "")) {
    const n = u.times.length;
    if (!counts(n)) continue;
    total++;
    if (q.after !== null && !u.past) continue;
    if (users.length === q.limit) {
      more = true;
      continue;
    }
    users.push({
      user_id: u.user_id,
      entered_at: new Date(u.times[0]).toISOString(),
      furthest_step: n,
      last_step_at: new Date(u.times[n - 1]).toISOString(),
    });
  }
  return { total, users, next: more ? users[users.length - 1].user_id : null };
}

/** The users with a session starting in the range whose furthest default step is `q.step` or further (or the one before). */
export async function summaryUsers(db: Db, q: PeopleQuery & { step: string }) {
  const k = DEFAULT_STEPS.findIndex((s) => s.step === q.step) + 1;
  const rows = await db.query<{ total: number; user_id: string | null; sessions: number; last_session_at: string }>(
    `with ids as (
       select user_id, count(*)::int8 as sessions, max(started_at) as last_session_at from sessions
       where (case when $1 = 'reached' then reached >= $2::int else reached = $2::int - 1 end)
         and ($3::timestamptz is null or started_at >= $3) and ($4::timestamptz is null or started_at < $4)
       group by user_id
     ), total as (select count(*)::int8 as total from ids)
     select t.total, p.* from total t left join lateral (
       select * from ids where $5::text is null or user_id > $5::text order by user_id limit $6::int
     ) p on true`,
    [q.outcome, k, q.from, q.to, q.after, q.limit + 1],
  );
  const users = rows.filter((r) => r.user_id !== null).slice(0, q.limit)
    .map(({ user_id, sessions, last_session_at }) => ({ user_id: user_id!, sessions, last_session_at }));
  return { total: rows[0].total, users, next: rows.length > q.limit ? users[users.length - 1].user_id : null };
}
