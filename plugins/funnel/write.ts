/** Stores a batch: its events, and the sessions it recomputed, in one statement. */
import type { Env, Event } from "@runtime/sdk";
import { walkDeltas } from "./walks.ts";
import type { Recomputed } from "./sessions.ts";
import { atMs } from "./stored.ts";

type Db = Env["db"];

/**
 * Writes the batch's events, upserts its sessions and moves the walk counts of the sessions it replaced to the ones it
 * made. The host parses every parameter: times go as epoch milliseconds (half the cost of ISO text), and the
 * properties as one JSON array (a third of the cost of a jsonb[] of escaped texts).
 */
export async function writeBatch(db: Db, batch: Event[], { rows: sessions, replaced }: Recomputed): Promise<void> {
  const at = (i: number) => sessions.map((r) => r.step_at[i] ?? null);
  const walks = walkDeltas(sessions, replaced);
  await db.query(
    `with walks as (
       insert into path_walks (event, forward, day, walk, more, shard, sessions)
       select event, forward, day::date, string_to_array(walk, ' '), more, shard, sessions
       from unnest($24::text[], $25::bool[], $26::text[], $27::text[], $28::bool[], $29::int2[], $30::int8[])
         with ordinality as w(event, forward, day, walk, more, shard, sessions, n)
       order by n
       on conflict (event, forward, day, walk, more, shard)
         do update set sessions = path_walks.sessions + excluded.sessions
     ), saved as (
       insert into sessions (user_id, session_key, started_at, ended_at, events, reached, view_at, cart_at,
         checkout_at, purchase_at, has_cart, has_purchase, cart_value, country, device, path)
       select user_id, session_key, ${atMs("started")}, ${atMs("ended")}, events, reached, ${atMs("v")},
         ${atMs("c")}, ${atMs("k")}, ${atMs("p")}, has_cart, has_purchase, cart_value, country, device,
         string_to_array(path, ' ')
       from unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int4[], $6::int2[], $7::int8[], $8::int8[],
                   $9::int8[], $10::int8[], $11::bool[], $12::bool[], $13::numeric[], $14::text[], $15::text[],
                   $23::text[])
         as r(user_id, session_key, started, ended, events, reached, v, c, k, p, has_cart, has_purchase, cart_value,
              country, device, path)
       on conflict (user_id, session_key) do update set
         started_at = excluded.started_at, ended_at = excluded.ended_at, events = excluded.events,
         reached = excluded.reached, view_at = excluded.view_at, cart_at = excluded.cart_at,
         checkout_at = excluded.checkout_at, purchase_at = excluded.purchase_at, has_cart = excluded.has_cart,
         has_purchase = excluded.has_purchase, cart_value = excluded.cart_value, country = excluded.country,
         device = excluded.device, path = excluded.path
     )
     insert into events (event_id, user_id, session_id, ts, position, type, properties)
     select event_id, user_id, session_id, ${atMs("ms")}, position, type, properties
     from rows from (unnest($16::text[]), unnest($17::text[]), unnest($18::text[]), unnest($19::int8[]),
                     unnest($20::int8[]), unnest($21::text[]), jsonb_array_elements($22::jsonb))
       as e(event_id, user_id, session_id, ms, position, type, properties)`,
    [
      sessions.map((r) => r.user_id),
      sessions.map((r) => r.session_key),
      sessions.map((r) => r.started_at),
      sessions.map((r) => r.ended_at),
      sessions.map((r) => r.events),
      sessions.map((r) => r.step_at.length),
      at(0),
      at(1),
      at(2),
      at(3),
      sessions.map((r) => r.has_cart),
      sessions.map((r) => r.has_purchase),
      sessions.map((r) => r.cart_value),
      sessions.map((r) => r.country),
      sessions.map((r) => r.device),
      batch.map((e) => e.event_id),
      batch.map((e) => e.user_id),
      batch.map((e) => e.session_id ?? null),
      batch.map((e) => Date.parse(e.timestamp)),
      batch.map((e) => e.position ?? null),
      batch.map((e) => e.type),
      JSON.stringify(batch.map(({ properties: { items: _, ...rest } }) => rest)),
      // An event type has no space in it (`[a-z][a-z0-9_.]*`): a path goes as one text, split in SQL.
      sessions.map((r) => r.path.join(" ")),
      walks.event,
      walks.forward,
      walks.day,
      walks.walk,
      walks.more,
      walks.shard,
      walks.sessions,
    ],
  );
}
