/**
 * stats' per-user routes: one user's numbers with an engagement score and an RFM segment, and users per segment.
 * @module
 */
import type { Hono } from "hono";
import { describeRoute, type Env } from "@runtime/sdk";
import * as api from "./api.ts";

/** RFM over all users: each of recency, frequency and monetary scored 1–5 by quintile (ties share a score). */
export const RFM_SQL = `
  select user_id,
    least(5, 1 + floor(5 * percent_rank() over (order by last_seen))) +
    least(5, 1 + floor(5 * percent_rank() over (order by purchases))) +
    least(5, 1 + floor(5 * percent_rank() over (order by spent))) as score
  from users`;

/** Adds `/segments` and `/users/:user_id` to `app`. */
export function userRoutes(app: Hono<{ Bindings: Env }>): void {
  app.get(
    "/segments",
    describeRoute({ summary: "Users per RFM segment", response: api.Segments }),
    async (c) => {
      const rows = await c.env.db.query<{ score: number; users: number }>(
        `select score::int8 as score, count(*)::int8 as users from (${RFM_SQL}) r group by 1`,
      );
      const counts: Record<string, number> = Object.fromEntries(api.SEGMENTS.map((s) => [s, 0]));
      for (const r of rows) counts[segment(r.score)] += r.users;
      return c.json({ segments: Object.entries(counts).map(([segment, users]) => ({ segment, users })) });
    },
  );

  app.get(
    "/users/:user_id",
    describeRoute({
      summary: "One user's stats and segment",
      params: api.UserParams,
      response: api.User,
      errors: [404],
    }),
    async (c) => {
      const [user] = await c.env.db.query<api.Person & { sessions: number; avg_session_seconds: number; rfm: number }>(
        `with rfm as (${RFM_SQL})
    select u.user_id, u.events, u.purchases, u.spent, u.first_seen, u.last_seen,
      (select count(*) from sessions s where s.user_id = u.user_id)::int8 as sessions,
      (select coalesce(avg(extract(epoch from s.ended_at - s.started_at)), 0)::float8
         from sessions s where s.user_id = u.user_id) as avg_session_seconds,
      rfm.score::int8 as rfm
    from users u join rfm using (user_id)
    where u.user_id = $1`,
        [c.req.param("user_id")],
      );
      if (!user) return c.json({ error: `no events for user '${c.req.param("user_id")}'` }, 404);
      const { rfm, ...rest } = user;
      return c.json({
        ...rest,
        avg_session_seconds: Math.round(user.avg_session_seconds * 10) / 10,
        engagement_score: engagementScore(user),
        segment: segment(rfm),
      });
    },
  );
}

/** Saturating share of a count: 0 at 0, 0.5 at `half`, approaching 1. */
const saturate = (x: number, half: number) => x / (x + half);

/**
 * Engagement, 0–100: a weighted blend of saturating scores for events (half at 50), sessions (half at 5),
 * purchases (half at 2) and average session length (half at 10 minutes), weighted 30/25/30/15.
 */
function engagementScore(
  u: { events: number; sessions: number; purchases: number; avg_session_seconds: number },
) {
  return Math.round(
    100 * (0.30 * saturate(u.events, 50) + 0.25 * saturate(u.sessions, 5) + 0.30 * saturate(u.purchases, 2) +
      0.15 * saturate(u.avg_session_seconds, 600)),
  );
}

/** Each RFM tier's range of the sum of recency, frequency and monetary quintile scores (3..15), both ends in. */
export const SEGMENT_SCORES: Record<typeof api.SEGMENTS[number], [number, number]> = {
  champion: [13, 15],
  loyal: [10, 12],
  potential: [7, 9],
  at_risk: [5, 6],
  lost: [3, 4],
};

/** RFM tier from the sum of recency, frequency and monetary quintile scores (3..15). */
function segment(score: number): string {
  return api.SEGMENTS.find((s) => score >= SEGMENT_SCORES[s][0] && score <= SEGMENT_SCORES[s][1])!;
}
