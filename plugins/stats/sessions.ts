/**
 * Sessions as stats keeps them: explicit ones keyed by session_id, inferred ones merged across gaps under 30
 * minutes. A batch folds its events into one row per session here, so the SQL touches each session once.
 */
import { atMs, type Env, type Event, fold, key, mergeSessions } from "@runtime/sdk";

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

/** A session row of one user, as written back: `key` is `s:<session_id>` for an explicit session. */
export type UserSession = Session & { user: string };
/** An explicit session row, with its key. */
export type KeyedSession = UserSession & { key: string };

/**
 * Adds the batch's events to their sessions: the explicit ones fold into one row each; the inferred ones the
 * events fall in or next to are taken out, merged with them, and written back with the explicit ones.
 */
export async function updateSessions(db: Db, batch: Event[]): Promise<void> {
  const explicit = fold(
    batch.filter((e) => e.session_id !== undefined),
    (e) => key(e.user_id, e.session_id),
    (e) => ({ user: e.user_id, key: `s:${e.session_id}`, ...partOf(e), events: 0, pages: 0 }),
    (s, e) => {
      const part = partOf(e);
      combine(s, part);
      s.start = Math.min(s.start, part.start);
      s.end = Math.max(s.end, part.end);
    },
  );
  const inferred = fold(
    batch.filter((e) => e.session_id === undefined),
    (e) => e.user_id,
    (e) => ({ user: e.user_id, parts: [] as Session[] }),
    (u, e) => void u.parts.push(partOf(e)),
  );
  await saveSessions(db, explicit, await mergeInferred(db, inferred));
}

/** Writes sessions: explicit ones added to the stored row of their key, inferred ones as they are. */
export async function saveSessions(db: Db, explicit: KeyedSession[], inferred: UserSession[]): Promise<void> {
  if (explicit.length === 0 && inferred.length === 0) return;
  await db.query(
    `with inferred as (
       insert into sessions (user_id, session_key, explicit, started_at, ended_at, events, has_cart, has_purchase,
         pages)
       select user_id, 'a:' || start_ms, false, ${atMs("start_ms")}, ${atMs("end_ms")}, events, cart, purchase, pages
       from unnest($9::text[], $10::int8[], $11::int8[], $12::int8[], $13::boolean[], $14::boolean[], $15::int8[])
         as r(user_id, start_ms, end_ms, events, cart, purchase, pages)
     )
     insert into sessions (user_id, session_key, explicit, started_at, ended_at, events, has_cart, has_purchase, pages)
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
      explicit.map((s) => s.user),
      explicit.map((s) => s.key),
      explicit.map((s) => s.start),
      explicit.map((s) => s.end),
      explicit.map((s) => s.events),
      explicit.map((s) => s.cart),
      explicit.map((s) => s.purchase),
      explicit.map((s) => s.pages),
      inferred.map((r) => r.user),
      inferred.map((r) => r.start),
      inferred.map((r) => r.end),
      inferred.map((r) => r.events),
      inferred.map((r) => r.cart),
      inferred.map((r) => r.purchase),
      inferred.map((r) => r.pages),
    ],
  );
}

/**
 * Inferred sessions with parts added (events, or sessions of another id merged in): the stored ones the parts fall in
 * or next to are deleted and answered merged with them, to be written back.
 */
export async function mergeInferred(db: Db, users: { user: string; parts: Session[] }[]): Promise<UserSession[]> {
  if (users.length === 0) return [];
  // Times come back as epoch milliseconds (a Date from the driver would drop the milliseconds).
  const old = await db.query<
    { i: number; lo: number; hi: number; events: number; has_cart: boolean; has_purchase: boolean; pages: number }
  >(
    `delete from sessions s
     using unnest($1::text[], $2::int8[], $3::int8[]) with ordinality as r(user_id, lo, hi, i)
     where s.user_id = r.user_id and not s.explicit
       and s.ended_at > ${atMs("r.lo")} - interval '30 minutes'
       and s.started_at < ${atMs("r.hi")} + interval '30 minutes'
     returning r.i, (extract(epoch from s.started_at) * 1000)::int8 as lo,
       (extract(epoch from s.ended_at) * 1000)::int8 as hi, s.events, s.has_cart, s.has_purchase, s.pages`,
    [
      users.map((u) => u.user),
      users.map((u) => Math.min(...u.parts.map((p) => p.start))),
      users.map((u) => Math.max(...u.parts.map((p) => p.end))),
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
  return users.flatMap((u) => mergeSessions(u.parts, combine).map((i) => ({ user: u.user, ...i })));
}
