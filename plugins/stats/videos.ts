/**
 * stats' videos: plays, views, completions and where views stopped, of all time or of the views that began in a range of
 * event time (a view, a user's plays of a video within one session, is placed at its first event).
 * @module
 */
import type { Hono } from "hono";
import { describeRoute, type Env } from "@runtime/sdk";
import * as api from "./api.ts";
import { inRangeSql, wholeMinutes } from "./buckets.ts";

/** stats' `/videos`. */
export function videoRoutes(app: Hono<{ Bindings: Env }>): void {
  app.get(
    "/videos",
    describeRoute({
      summary: "Videos by plays, with completion and drop-off, of all time or over a range of event time",
      query: api.VideosQuery,
      response: api.Videos,
      errors: [400],
    }),
    async (c) => {
      const { limit, from = null, to = null } = c.req.valid("query");
      const span = wholeMinutes(from, to);
      const params: unknown[] = [];
      const videos = await c.env.db.query<{ video_id: string }>(
        `select video_id, sum(plays)::int8 as plays, count(*)::int8 as views,
           count(*) filter (where completed)::int8 as completions,
           round(count(*) filter (where completed)::numeric / count(*), 4) as completion_rate,
           round(sum(max_position), 1) as watch_time_s
         from video_views where ${inRangeSql("first_at", span, params)}
         group by video_id order by plays desc, video_id limit $${params.push(limit)}`,
        params,
      );
      const ids = [videos.map((v) => v.video_id)];
      const drops = await c.env.db.query<{ video_id: string; k: number; views: number }>(
        `select video_id, least(9, floor(10 * max_position / duration))::int4 as k, count(*)::int8 as views
         from video_views
         where video_id = any($1::text[]) and ${inRangeSql("first_at", span, ids)} and not completed and duration > 0
         group by 1, 2`,
        ids,
      );
      return c.json({
        from,
        to,
        videos: videos.map((v) => ({
          ...v,
          drop_off: Array.from({ length: 10 }, (_, k) => ({
            from_pct: k * 10,
            to_pct: k * 10 + 10,
            views: drops.find((d) => d.video_id === v.video_id && d.k === k)?.views ?? 0,
          })),
        })),
      });
    },
  );
}
