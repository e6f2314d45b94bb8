/**
 * Identity merges: an id's activity and sessions move to the person it was linked to, combined with the person's, as
 * if the events had carried the person's id from the start; the id's score goes (the person is scored instead).
 */
import { type Env, type Merge, movedSessions } from "@runtime/sdk";
import { mergeInferred, saveSessions, type Session } from "./activity.ts";

type Db = Env["db"];

/** Moves each merge's days of activity and sessions to its `into`, and drops the merged ids' scores. */
export async function moveActivity(db: Db, merges: Merge[]): Promise<void> {
  const from = merges.map((m) => m.from);
  const into = merges.map((m) => m.into);
  const gone = await db.query<{
    into: string;
    key: string;
    explicit: boolean;
    start: number;
    end: number;
    events: number;
    carted: boolean;
    purchased: boolean;
  }>(
    `with m as (select * from unnest($1::text[], $2::text[]) as m(from_id, into_id)),
     days_gone as (delete from activity a using m where a.user_id = m.from_id returning m.into_id, a.*),
     days_moved as (
       insert into activity (user_id, day, events, views, carts, purchases, spend, last_ts)
       select into_id, day, sum(events), sum(views), sum(carts), sum(purchases), sum(spend), max(last_ts)
       from days_gone group by into_id, day
       on conflict (user_id, day) do update set
         events = activity.events + excluded.events, views = activity.views + excluded.views,
         carts = activity.carts + excluded.carts, purchases = activity.purchases + excluded.purchases,
         spend = activity.spend + excluded.spend, last_ts = greatest(activity.last_ts, excluded.last_ts)
     ),
     scores_gone as (delete from scores s using m where s.user_id = m.from_id)
     delete from sessions s using m where s.user_id = m.from_id
     returning m.into_id as into, s.session_key as key, s.explicit, (extract(epoch from s.started_at) * 1000)::int8
       as start, (extract(epoch from s.ended_at) * 1000)::int8 as end, s.events, s.carted, s.purchased`,
    [from, into],
  );
  const part = ({ start, end, events, carted, purchased }: (typeof gone)[number]): Session => ({
    start,
    end,
    events,
    carted,
    purchased,
  });
  const { explicit, inferred } = movedSessions(gone, part);
  await saveSessions(db, explicit, await mergeInferred(db, inferred));
}
