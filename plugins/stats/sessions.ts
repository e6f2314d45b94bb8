/**
 * Sessions as stats keeps them: explicit ones keyed by session_id, inferred ones merged across gaps under 30
 * minutes. A batch folds its events into one row per session here, so the SQL touches each session once.
 */
import { type Env, type Event, mergeSessions } from "@runtime/sdk";
import { atMs, fold, key } from "./fold.ts";

type Db = Env["db"];

/** What stats keeps per session: its event count and the funnel steps it reached. */
export interface Session {
  start: number;
  end: number;
  events: number;
  /** It holds an add_to_cart. */
  cart: boolean;
  /** It holds a purchase. */
  purchase: boolean;
  /** Its page views (page_view and product_view). */
  pages: number;
}

/** Combines the counts of two parts of one session (for the SDK's `mergeSessions`). */
export function combine(into: Session, from: Session): void {
  into.events += from.events;
  into.cart ||= from.cart;
  into.purchase ||= from.purchase;
  into.pages += from.pages;
}

/** One event as the part of a session it makes. */
function partOf(e: Event): Session {
  const t = Date.parse(e.timestamp);
  return {
    start: t,
    end: t,
    events: 1,
    cart: e.type === "add_to_cart",
    purchase: e.type === "purchase",
    pages: e.type === "page_view" || e.type === "product_view" ? 1 : 0,
  };
}

/** Adds the batch's events to their sessions. */
export async function updateSessions(db: Db, batch: Event[]): Promise<void> {
  await explicitSessions(db, batch.filter((e) => e.session_id !== undefined));
  await inferredSessions(db, batch.filter((e) => e.session_id === undefined));
}

/** Sessions with a session_id: one row per session, its span and counts merged into what is stored. */
async function explicitSessions(db: Db, events: Event[]): Promise<void> {
  if (events.length === 0) return;
  const sessions = fold(
    events,
    (e) => key(e.user_id, e.session_id),
    (e) => ({ user: e.user_id, key: `s:${e.session_id}`, ...partOf(e), events: 0, pages: 0 }),
    (s, e) => {
      const part = partOf(e);
      combine(s, part);
      s.start = Math.min(s.start, part.start);
      s.end = Math.max(s.end, part.end);
    },
  );
  await db.query(
    `insert into sessions (user_id, session_key, explicit, started_at, ended_at, events, has_cart, has_purchase, pages)
     select user_id, session_key, true, ${atMs("start_ms")}, ${atMs("end_ms")}, events, cart, purchase, pages
     from unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int4[], $6::boolean[], $7::boolean[], $8::int4[])
       as s(user_id, session_key, start_ms, end_ms, events, cart, purchase, pages)
     on conflict (user_id, session_key) do update set
       started_at = least(sessions.started_at, excluded.started_at),
       ended_at = greatest(sessions.ended_at, excluded.ended_at),
       events = sessions.events + excluded.events,
       has_cart = sessions.has_cart or excluded.has_cart,
       has_purchase = sessions.has_purchase or excluded.has_purchase,
       pages = sessions.pages + excluded.pages`,
    [
      sessions.map((s) => s.user),
      sessions.map((s) => s.key),
      sessions.map((s) => s.start),
      sessions.map((s) => s.end),
      sessions.map((s) => s.events),
      sessions.map((s) => s.cart),
      sessions.map((s) => s.purchase),
      sessions.map((s) => s.pages),
    ],
  );
}

/** Merges events without a session_id into their users' inferred sessions. */
async function inferredSessions(db: Db, events: Event[]): Promise<void> {
  if (events.length === 0) return;
  const users = fold(events, (e) => e.user_id, (e) => ({ user: e.user_id, parts: [] as Session[] }), (u, e) => {
    u.parts.push(partOf(e));
  });
  // The stored inferred sessions the new events fall in or next to: taken out, merged, written back. Their
  // times come back as epoch milliseconds (a Date from the driver would drop the milliseconds).
  const old = await db.query<
    { i: number; lo: number; hi: number; events: number; has_cart: boolean; has_purchase: boolean; pages: number }
  >(
    `delete from sessions s
     using unnest($1::text[], $2::int8[], $3::int8[]) with ordinality as r(user_id, lo, hi, i)
     where s.user_id = r.user_id and not s.explicit
       and s.ended_at > ${atMs("r.lo")} - interval '30 minutes' and s.started_at < ${
      atMs("r.hi")
    } + interval '30 minutes'
     returning r.i, (extract(epoch from s.started_at) * 1000)::int8 as lo,
       (extract(epoch from s.ended_at) * 1000)::int8 as hi, s.events, s.has_cart, s.has_purchase, s.pages`,
    [
      users.map((u) => u.user),
      users.map((u) => Math.min(...u.parts.map((p) => p.start))),
      users.map((u) => Math.max(...u.parts.map((p) => p.start))),
    ],
  );
  for (const s of old) {
    users[s.i - 1].parts.push({
      start: s.lo,
      end: s.hi,
      events: s.events,
      cart: s.has_cart,
      purchase: s.has_purchase,
      pages: s.pages,
    });
  }
  const rows = users.flatMap((u) => mergeSessions(u.parts, combine).map((i) => ({ user: u.user, ...i })));
  await db.query(
    `insert into sessions (user_id, session_key, explicit, started_at, ended_at, events, has_cart, has_purchase, pages)
     select user_id, 'a:' || start_ms, false, ${atMs("start_ms")}, ${atMs("end_ms")}, events, cart, purchase, pages
     from unnest($1::text[], $2::int8[], $3::int8[], $4::int8[], $5::boolean[], $6::boolean[], $7::int8[])
       as r(user_id, start_ms, end_ms, events, cart, purchase, pages)`,
    [
      rows.map((r) => r.user),
      rows.map((r) => r.start),
      rows.map((r) => r.end),
      rows.map((r) => r.events),
      rows.map((r) => r.cart),
      rows.map((r) => r.purchase),
      rows.map((r) => r.pages),
    ],
  );
}
