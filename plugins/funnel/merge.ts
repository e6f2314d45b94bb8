/**
 * Identity merges: an id's stored events move to the person it was linked to, and the person's sessions they fall in
 * or next to are recomputed, as if the events had carried the person's id from the start.
 */
import type { Env, Merge } from "@runtime/sdk";
import { parseSessionPaths, SESSION_PATH_JSON, sessionsAround } from "./sessions.ts";
import type { Stored } from "./stored.ts";
import { writeBatch } from "./write.ts";

/**
 * Moves each merge's events and sessions to its `into`. Only the bounds of what moved come back (per explicit session,
 * and per person for the inferred ones), however long the history: the sessions they touch are read as a batch's are.
 */
export async function merge(merges: Merge[], env: Env): Promise<void> {
  const [{ moved, gone }] = await env.db.query<{ moved: string; gone: string }>(
    `with m as (select * from unnest($1::text[], $2::text[]) as m(from_id, into_id)),
     gone as (
       delete from sessions s using m where s.user_id = m.from_id returning m.into_id as user_id, s.started_at, s.path
     ),
     e as (update events e set user_id = m.into_id from m where e.user_id = m.from_id returning e.*),
     bounds as (
       select e.user_id, e.session_id, min(e.ts) as lo, max(e.ts) as hi from e group by e.user_id, e.session_id
     )
     select coalesce(json_agg(json_build_array(user_id, session_id, (extract(epoch from lo) * 1000)::int8,
       (extract(epoch from hi) * 1000)::int8)), '[]')::text as moved,
       (select coalesce(json_agg(${SESSION_PATH_JSON}), '[]')::text from gone s) as gone
     from bounds`,
    [merges.map((m) => m.from), merges.map((m) => m.into)],
  );
  // Each bound as an event at its time: what the sessions around them are found by.
  const touched = (JSON.parse(moved) as [string, string | null, number, number][]).flatMap(([user, session, lo, hi]) =>
    [lo, hi].map((ts): Stored => ({
      event_id: "",
      user_id: user,
      session_id: session,
      ts,
      position: null,
      type: "",
      value: 0,
      country: null,
      device: null,
    }))
  );
  // The id's sessions are gone: their walks are counted out with those of the sessions recomputed, under the person
  // (whose partition this merge is in), so that this runner writes only its own shards.
  const { rows, replaced } = await sessionsAround(env.db, touched, []);
  await writeBatch(env.db, [], { rows, replaced: [...replaced, ...parseSessionPaths(gone)] });
}
