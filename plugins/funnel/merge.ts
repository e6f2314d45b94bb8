/**
 * Identity merges: an id's stored events move to the person it was linked to, and the person's sessions they fall in
 * or next to are recomputed, as if the events had carried the person's id from the start.
 */
import type { Env, Merge } from "@runtime/sdk";
import { sessionsAround } from "./sessions.ts";
import { parseStored, STORED_JSON } from "./stored.ts";
import { writeBatch } from "./write.ts";

/** Moves each merge's events and sessions to its `into`. */
export async function merge(merges: Merge[], env: Env): Promise<void> {
  const [{ moved }] = await env.db.query<{ moved: string }>(
    `with m as (select * from unnest($1::text[], $2::text[]) as m(from_id, into_id)),
     gone as (delete from sessions s using m where s.user_id = m.from_id),
     e as (update events e set user_id = m.into_id from m where e.user_id = m.from_id returning e.*)
     select coalesce(json_agg(${STORED_JSON}), '[]')::text as moved from e`,
    [merges.map((m) => m.from), merges.map((m) => m.into)],
  );
  await writeBatch(env.db, [], await sessionsAround(env.db, parseStored(moved), []));
}
