/**
 * Identity merges: an id's account, places, purchases and alerts move to the person it was linked to, so the
 * person's later purchases are judged with the history from before the link, and a candidate scored under the old
 * id is judged as the person. Decisions already made stay as they were made.
 */
import type { Env, Merge } from "@runtime/sdk";

/** Moves each merge's history to its `into`, and remembers the id as the person's. */
export async function merge(merges: Merge[], env: Env): Promise<void> {
  await env.db.query(
    `with m as (select * from unnest($1::text[], $2::text[]) as m(from_id, into_id)),
     accounts_gone as (delete from accounts a using m where a.user_id = m.from_id returning m.into_id, a.first_seen),
     accounts_moved as (
       insert into accounts (user_id, first_seen) select into_id, min(first_seen) from accounts_gone group by into_id
       on conflict (user_id) do update set first_seen = least(accounts.first_seen, excluded.first_seen)
     ),
     places_gone as (
       delete from places p using m where p.user_id = m.from_id returning m.into_id, p.kind, p.value, p.first_seen
     ),
     places_moved as (
       insert into places (user_id, kind, value, first_seen)
       select into_id, kind, value, min(first_seen) from places_gone group by into_id, kind, value
       on conflict (user_id, kind, value) do update set first_seen = least(places.first_seen, excluded.first_seen)
     ),
     purchases_moved as (update purchases p set user_id = m.into_id from m where p.user_id = m.from_id),
     alerts_moved as (update alerts a set user_id = m.into_id from m where a.user_id = m.from_id),
     persons_moved as (update persons p set person = m.into_id from m where p.person = m.from_id)
     insert into persons (id, person) select from_id, into_id from m`,
    [merges.map((m) => m.from), merges.map((m) => m.into)],
  );
}

/** The person `id` was merged into, or `id` itself. */
export async function personOf(db: Env["db"], id: string): Promise<string> {
  const [row] = await db.query<{ person: string }>("select person from persons where id = $1", [id]);
  return row?.person ?? id;
}
