/**
 * What breakdowns and filters read: every event, slim (`event_facts`: its scalar properties, short text only), each
 * user's latest traits from `identify` (`user_traits`) and the event property names seen (`property_names`). Written per
 * batch beside the counters, moved on identity merges.
 */
import { atMs, type Env, type Event, fold, key, type Merge } from "@runtime/sdk";
import { MAX_VALUE_LENGTH, PROPERTY } from "@runtime/sdk";

type Db = Env["db"];

/** The most properties (or traits) kept of one event, in the order it gives them. */
export const MAX_KEPT = 32;
/** The most event property names `property_names` keeps: a sender's made-up names past it are not listed. */
export const MAX_NAMES = 1000;

/**
 * What a breakdown or a condition can read of `values`: at most {@linkcode MAX_KEPT} entries with a usable name and a
 * scalar value (text up to {@linkcode MAX_VALUE_LENGTH} characters, a number or a boolean).
 */
function scalars(values: Record<string, unknown>, skip: string[] = []): [string, string | number | boolean][] {
  const kept: [string, string | number | boolean][] = [];
  for (const [name, v] of Object.entries(values)) {
    if (kept.length === MAX_KEPT) break;
    if (skip.includes(name) || !PROPERTY.test(name)) continue;
    // Characters as Postgres's length() counts them (code points), so that funnel's reading of traits agrees.
    const short = typeof v === "string" && [...v].length <= MAX_VALUE_LENGTH;
    if (short || typeof v === "number" || typeof v === "boolean") kept.push([name, v]);
  }
  return kept;
}

/** An `identify`'s traits (Segment's go to `properties.traits`): a `group`'s are the group's, not the user's. */
function traitsOf(e: Event): [string, unknown][] {
  const traits = e.properties.traits;
  if (e.type !== "identify" || traits === null || typeof traits !== "object" || Array.isArray(traits)) return [];
  return scalars(traits as Record<string, unknown>);
}

/**
 * Stores the batch's events as facts, each user's newer traits, and the property names seen: one statement. Rows that
 * other runners update too go in key order, so that two batches never wait on each other's locks in a cycle.
 */
export async function recordFacts(db: Db, batch: Event[]): Promise<void> {
  const facts = batch.map((e) => ({ e, kept: scalars(e.properties, ["items", "traits"]) }));
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
    facts.flatMap((f) => f.kept.map(([name]) => name)),
    (n) => n,
    (name) => ({ name, events: 0 }),
    (n) => n.events++,
  );
  names.sort((a, b) => a.name < b.name ? -1 : 1);
  traits.sort((a, b) => a.e.user_id < b.e.user_id ? -1 : a.e.user_id > b.e.user_id ? 1 : a.name < b.name ? -1 : 1);
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
       select * from unnest($11::text[], $12::int8[]) as n(name, events)
       where exists (select from property_names p where p.name = n.name)
         or (select count(*) from property_names) < $13
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
      JSON.stringify(facts.map((f) => Object.fromEntries(f.kept))),
      traits.map((t) => t.e.user_id),
      traits.map((t) => t.name),
      JSON.stringify(traits.map((t) => t.value)),
      traits.map((t) => t.ms),
      traits.map((t) => t.e.position ?? 0),
      names.map((n) => n.name),
      names.map((n) => n.events),
      MAX_NAMES,
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
