/**
 * Identity merges: what stats keeps under an id moves to the person it was linked to, combined with what the person
 * has, exactly as if the events had carried the person's id from the start.
 */
import { type Env, type Merge, movedSessions } from "@runtime/sdk";
import { mergeFacts } from "./facts.ts";
import { MERGE_DAYS } from "./retention.ts";
import { mergeInferred, saveSessions, type Session } from "./sessions.ts";

/**
 * Moves each merge's user totals, active minutes and days, purchases, video views, sessions, facts and traits to its
 * `into`.
 */
export async function merge(merges: Merge[], env: Env): Promise<void> {
  const from = merges.map((m) => m.from);
  const into = merges.map((m) => m.into);
  await env.db.query(
    `with m as (select * from unnest($1::text[], $2::text[]) as m(from_id, into_id)),
     users_gone as (delete from users u using m where u.user_id = m.from_id returning m.into_id, u.*),
     users_moved as (
       insert into users (user_id, events, purchases, spent, first_seen, last_seen)
       select into_id, sum(events), sum(purchases), sum(spent), min(first_seen), max(last_seen)
       from users_gone group by into_id
       on conflict (user_id) do update set
         events = users.events + excluded.events, purchases = users.purchases + excluded.purchases,
         spent = users.spent + excluded.spent, first_seen = least(users.first_seen, excluded.first_seen),
         last_seen = greatest(users.last_seen, excluded.last_seen)
     ),
     hours_gone as (delete from user_hours h using m where h.user_id = m.from_id returning m.into_id, h.hour, h.minutes),
     hours_moved as (
       insert into user_hours (hour, user_id, minutes)
       select hour, into_id, bit_or(minutes) from hours_gone group by hour, into_id
       on conflict (hour, user_id) do update set minutes = user_hours.minutes | excluded.minutes
     ),
     ${MERGE_DAYS},
     videos_gone as (delete from video_views v using m where v.user_id = m.from_id returning m.into_id, v.*),
     videos_moved as (
       insert into video_views (video_id, user_id, session_key, plays, max_position, duration, completed, first_at)
       select video_id, into_id, session_key, sum(plays), max(max_position), max(duration), bool_or(completed),
         -- Null (a view from before first_at was kept) when any part's start is unknown.
         case when bool_and(first_at is not null) then min(first_at) end
       from videos_gone group by video_id, into_id, session_key
       on conflict (video_id, user_id, session_key) do update set
         plays = video_views.plays + excluded.plays,
         max_position = greatest(video_views.max_position, excluded.max_position),
         duration = greatest(video_views.duration, excluded.duration),
         completed = video_views.completed or excluded.completed,
         first_at = case when video_views.first_at is not null and excluded.first_at is not null
                      then least(video_views.first_at, excluded.first_at) end
     )
     update purchases p set user_id = m.into_id from m where p.user_id = m.from_id`,
    [from, into],
  );
  // Sessions: explicit ones join the person's of the same session_id; inferred ones merge with the person's nearby.
  const gone = await env.db.query<{
    into: string;
    key: string;
    explicit: boolean;
    start: number;
    end: number;
    events: number;
    has_cart: boolean;
    has_purchase: boolean;
    pages: number;
  }>(
    `delete from sessions s using unnest($1::text[], $2::text[]) as m(from_id, into_id) where s.user_id = m.from_id
     returning m.into_id as into, s.session_key as key, s.explicit, (extract(epoch from s.started_at) * 1000)::int8
       as start, (extract(epoch from s.ended_at) * 1000)::int8 as end, s.events, s.has_cart, s.has_purchase, s.pages`,
    [from, into],
  );
  const part = (s: (typeof gone)[number]): Session => ({
    start: s.start,
    end: s.end,
    events: s.events,
    cart: s.has_cart,
    purchase: s.has_purchase,
    pages: s.pages,
  });
  const { explicit, inferred } = movedSessions(gone, part);
  await saveSessions(env.db, explicit, await mergeInferred(env.db, inferred));
  await mergeFacts(env.db, merges);
}
