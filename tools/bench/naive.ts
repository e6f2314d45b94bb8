/**
 * The baseline: a consumer written the way the seed pipelines' consumers are, one event at a time, one
 * transaction per event, one INSERT or UPDATE per event and per aggregate. It keeps less than our four plugins
 * do (raw events, per-user totals, counts per minute and type, per-product counts, sessions, purchases), so
 * the ratio to it understates the difference.
 * @module
 */
import type { Event } from "../../runtime/core/event.ts";
import type { Store } from "../../runtime/store/mod.ts";

const SCHEMA = `
create schema naive;
create table naive.events (event_id text primary key, type text, user_id text, ts timestamptz, body jsonb);
create table naive.users (user_id text primary key, events int8, purchases int8, spent numeric, last_seen timestamptz);
create table naive.minute_counts (minute timestamptz, type text, events int8, primary key (minute, type));
create table naive.products (product_id text primary key, views int8, adds int8);
create table naive.sessions (session_id text primary key, user_id text, started_at timestamptz, ended_at timestamptz,
  events int8);
create table naive.purchases (event_id text primary key, user_id text, amount numeric, ts timestamptz);
`;

/** Creates the baseline's tables. */
export async function prepareNaive(store: Store): Promise<void> {
  await store.exec(SCHEMA);
}

/** Consumes `events` one by one, each in its own transaction. */
export async function consumeNaively(store: Store, events: Iterable<Event>): Promise<void> {
  for (const e of events) {
    await store.transaction(async (tx) => {
      const fresh = await tx.query(
        `insert into naive.events values ($1, $2, $3, $4, $5::jsonb) on conflict do nothing returning event_id`,
        [e.event_id, e.type, e.user_id, e.timestamp, JSON.stringify(e)],
      );
      if (fresh.length === 0) return;
      const amount = e.type === "purchase" ? e.properties.amount ?? 0 : 0;
      await tx.query(
        `insert into naive.users values ($1, 1, $2, $3, $4) on conflict (user_id) do update set
           events = users.events + 1, purchases = users.purchases + $2, spent = users.spent + $3,
           last_seen = greatest(users.last_seen, $4)`,
        [e.user_id, e.type === "purchase" ? 1 : 0, amount, e.timestamp],
      );
      await tx.query(
        `insert into naive.minute_counts values (date_trunc('minute', $1::timestamptz), $2, 1)
         on conflict (minute, type) do update set events = minute_counts.events + 1`,
        [e.timestamp, e.type],
      );
      if (typeof e.properties.product_id === "string") {
        await tx.query(
          `insert into naive.products values ($1, $2, $3) on conflict (product_id) do update set
             views = products.views + $2, adds = products.adds + $3`,
          [e.properties.product_id, e.type === "product_view" ? 1 : 0, e.type === "add_to_cart" ? 1 : 0],
        );
      }
      if (e.session_id !== undefined) {
        await tx.query(
          `insert into naive.sessions values ($1, $2, $3, $3, 1) on conflict (session_id) do update set
             started_at = least(sessions.started_at, $3), ended_at = greatest(sessions.ended_at, $3),
             events = sessions.events + 1`,
          [e.session_id, e.user_id, e.timestamp],
        );
      }
      if (e.type === "purchase") {
        await tx.query(`insert into naive.purchases values ($1, $2, $3, $4)`, [
          e.event_id,
          e.user_id,
          amount,
          e.timestamp,
        ]);
      }
    });
  }
}
