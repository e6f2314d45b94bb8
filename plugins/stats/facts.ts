/**
 * What breakdowns and filters read: every event, slim (`event_facts`), each user's latest traits (`user_traits`) and
 * the event property names seen (`property_names`). Written per batch beside the counters, moved on identity merges.
 */
import { atMs, type Env, type Event, fold, key, type Merge } from "@runtime/sdk";
import { PROPERTY } from "./filters.ts";

type Db = Env["db"];

/** The traits an event carries (`properties.traits`, as Segment's identify sends them), with names a filter can use. */
function traitsOf(e: Event): [string, unknown][] {
  const traits = e.properties.traits;
  if (traits === null || typeof traits !== "object" || Array.isArray(traits)) return [];
  return Object.entries(traits).filter(([name, value]) => PROPERTY.test(name) && value !== undefined);
}

/** Stores the batch's events as facts, each user's newer traits, and the property names seen: one statement. */
export async function recordFacts(db: Db, batch: Event[]): Promise<void> {
  // The latest value of each user's trait in the batch: by event time, then place in the log.
  const traits = fold(
    batch.flatMap((e) => traitsOf(e).map(([name, value]) => ({ e, name, value, ms: Date.parse(e.timestamp) }))),
    (t) => key(t.e.user_id, t.name),
    (t) => t,
    (latest, t) => {
      const newer = t.ms > latest.ms || t.ms === latest.ms && (t.e.position ?? 0) > (latest.e.position ?? 0);
      if (newer) Object.assign(latest, t);
    },
  );
  const names = fold(
    batch.flatMap((e) => Object.keys(e.properties).filter((n) => n !== "items" && n !== "traits" && PROPERTY.test(n))),
    (name) => name,
    (name) => ({ name, events: 0 }),
    (n) => n.events++,
  );
  await db.query(
    `with traits as (
       insert into user_traits (user_id, key, value, ts, position)
       select user_id, key, value, ${atMs("ms")}, position
       from rows from (unnest($6::text[]), unnest($7::text[]), jsonb_array_elements($8::jsonb), unnest($9::int8[]),
                       unnest($10::int8[])) as t(user_id, key, value, ms, position)
       on conflict (user_id, key) do update set value = excluded.value, ts = excluded.ts, position = excluded.position
         where (excluded.ts, excluded.position) > (user_traits.ts, user_traits.position)
     ), names as (
       insert into property_names (name, events)
       select * from unnest($11::text[], $12::int8[])
       on conflict (name) do update set events = property_names.events + excluded.events
     )
     insert into event_facts (ts, type, user_id, amount, properties)
     select ${atMs("ms")}, type, user_id, amount, properties
     from rows from (unnest($1::int8[]), unnest($2::text[]), unnest($3::text[]), unnest($4::numeric[]),
                     jsonb_array_elements($5::jsonb)) as e(ms, type, user_id, amount, properties)`,
    [
      batch.map((e) => Date.parse(e.timestamp)),
      batch.map((e) => e.type),
      batch.map((e) => e.user_id),
      batch.map((e) => e.type === "purchase" ? e.properties.amount ?? 0 : null),
      JSON.stringify(batch.map(({ properties: { items: _, traits: __, ...rest } }) => rest)),
      traits.map((t) => t.e.user_id),
      traits.map((t) => t.name),
      JSON.stringify(traits.map((t) => t.value)),
      traits.map((t) => t.ms),
      traits.map((t) => t.e.position ?? 0),
      names.map((n) => n.name),
      names.map((n) => n.events),
    ],
  );
}

/** Moves each merge's facts to its `into`, and its traits where they are newer than the person's own. */
export async function mergeFacts(db: Db, merges: Merge[]): Promise<void> {
  await db.query(
    `with m as (select * from unnest($1::text[], $2::text[]) as m(from_id, into_id)),
     facts as (update event_facts f set user_id = m.into_id from m where f.user_id = m.from_id),
     gone as (delete from user_traits t using m where t.user_id = m.from_id returning m.into_id, t.*)
     insert into user_traits (user_id, key, value, ts, position)
     select distinct on (into_id, key) into_id, key, value, ts, position from gone
     order by into_id, key, ts desc, position desc
     on conflict (user_id, key) do update set value = excluded.value, ts = excluded.ts, position = excluded.position
       where (excluded.ts, excluded.position) > (user_traits.ts, user_traits.position)`,
    [merges.map((m) => m.from), merges.map((m) => m.into)],
  );
}
