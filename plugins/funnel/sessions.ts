/**
 * Sessions and their place in the default funnel, kept exact as events arrive in any order: a batch
 * recomputes every session it touches from its events, those stored before it and its own.
 */
import { type Env, type Event, SESSION_GAP_MS } from "@runtime/sdk";
import { bestAttempt, type Timeline } from "./match.ts";
import { atMs, readStored, sortLikeSql, type Stored, storedOf } from "./stored.ts";

type Db = Env["db"];

/** The default funnel, per session: a page or product view, then add to cart, checkout and purchase. */
export const DEFAULT_STEPS = [
  { step: "view", types: ["page_view", "product_view"] },
  { step: "add_to_cart", types: ["add_to_cart"] },
  { step: "checkout", types: ["checkout"] },
  { step: "purchase", types: ["purchase"] },
] as const;

/** A session row: its span, size, how far it went through the default funnel, and its cart. */
interface SessionRow {
  user_id: string;
  session_key: string;
  started_at: number;
  ended_at: number;
  events: number;
  /** When each default step was reached, in order; its length is the furthest step. */
  step_at: number[];
  has_cart: boolean;
  has_purchase: boolean;
  cart_value: number;
  country: string | null;
  device: string | null;
}

/** Bit mask of the default steps an event type matches. */
function defaultMask(type: string): number {
  return DEFAULT_STEPS.reduce((m, s, i) => (s.types as readonly string[]).includes(type) ? m | (1 << i) : m, 0);
}

/** Summarizes one session's events, sorted by time. */
function summarize(user: string, key: string, events: Stored[]): SessionRow {
  const timeline: Timeline = { ts: events.map((e) => e.ts), masks: events.map((e) => defaultMask(e.type)) };
  const best = bestAttempt(timeline, { steps: DEFAULT_STEPS.length, order: "sequential", windowMs: Infinity });
  return {
    user_id: user,
    session_key: key,
    started_at: events[0].ts,
    ended_at: events[events.length - 1].ts,
    events: events.length,
    step_at: best?.times ?? [],
    has_cart: events.some((e) => e.type === "add_to_cart"),
    has_purchase: events.some((e) => e.type === "purchase"),
    cart_value: Math.round(events.reduce((sum, e) => sum + e.value, 0) * 100) / 100,
    country: events.find((e) => e.country !== null)?.country ?? null,
    device: events.find((e) => e.device !== null)?.device ?? null,
  };
}

/** Splits one user's events without a session_id, sorted by time, at gaps of 30 minutes or more. */
export function splitByInactivity<T extends { ts: number }>(events: T[]): T[][] {
  const out: T[][] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (last && e.ts - last[last.length - 1].ts < SESSION_GAP_MS) last.push(e);
    else out.push([e]);
  }
  return out;
}

/**
 * Recomputes every session the batch's events belong to or join, from the events stored before the batch
 * (call it before storing the batch's) and the batch's own.
 */
export async function updateSessions(db: Db, batch: Event[]): Promise<void> {
  const rows: SessionRow[] = [];
  const explicit = batch.filter((e) => e.session_id !== undefined).map(storedOf);
  if (explicit.length > 0) {
    const sessions = groupBy(explicit, (e) => JSON.stringify([e.user_id, e.session_id]));
    const stored = await readStored(
      db,
      // One index probe per session (offset 0 keeps the planner from scanning the table instead).
      `from unnest($1::text[], $2::text[]) as p(user_id, session_id)
         cross join lateral (select * from events where user_id = p.user_id and session_id = p.session_id offset 0) e`,
      [[...sessions.values()].map((g) => g[0].user_id), [...sessions.values()].map((g) => g[0].session_id)],
    );
    for (const e of stored) sessions.get(JSON.stringify([e.user_id, e.session_id]))!.push(e);
    await sortLikeSql(db, [...sessions.values()]);
    for (const g of sessions.values()) rows.push(summarize(g[0].user_id, `s:${g[0].session_id}`, g));
  }
  const inferred = batch.filter((e) => e.session_id === undefined).map(storedOf);
  if (inferred.length > 0) {
    const byUser = groupBy(inferred, (e) => e.user_id);
    const users = [...byUser.keys()];
    const spans = users.map((u) => {
      const ts = byUser.get(u)!.map((e) => e.ts);
      return { lo: Math.min(...ts), hi: Math.max(...ts) };
    });
    // The inferred sessions the new events fall in or next to; they are rebuilt over their whole span.
    const old = await db.query<{ i: number; lo: number; hi: number }>(
      `delete from sessions s
       using unnest($1::text[], $2::int8[], $3::int8[]) with ordinality as b(user_id, lo, hi, i)
       where s.user_id = b.user_id and s.session_key like 'a:%'
         and s.ended_at > ${atMs("b.lo")} - $4::int8 * interval '1 millisecond'
         and s.started_at < ${atMs("b.hi")} + $4::int8 * interval '1 millisecond'
       returning b.i, (extract(epoch from s.started_at) * 1000)::int8 as lo,
         (extract(epoch from s.ended_at) * 1000)::int8 as hi`,
      [users, spans.map((s) => s.lo), spans.map((s) => s.hi), SESSION_GAP_MS],
    );
    for (const o of old) {
      const s = spans[o.i - 1];
      s.lo = Math.min(s.lo, o.lo);
      s.hi = Math.max(s.hi, o.hi);
    }
    const stored = await readStored(
      db,
      `from unnest($1::text[], $2::int8[], $3::int8[]) as b(user_id, lo, hi)
         join events e on e.user_id = b.user_id
       where e.session_id is null and e.ts between ${atMs("b.lo")} and ${atMs("b.hi")}`,
      [users, spans.map((s) => s.lo), spans.map((s) => s.hi)],
    );
    for (const e of stored) byUser.get(e.user_id)!.push(e);
    await sortLikeSql(db, [...byUser.values()]);
    for (const events of byUser.values()) {
      for (const s of splitByInactivity(events)) rows.push(summarize(s[0].user_id, `a:${s[0].ts}`, s));
    }
  }
  if (rows.length > 0) await saveSessions(db, rows);
}

/** Groups items by key, in the order keys first appear. */
function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = out.get(k);
    if (group) group.push(item);
    else out.set(k, [item]);
  }
  return out;
}

async function saveSessions(db: Db, rows: SessionRow[]): Promise<void> {
  const at = (i: number) => rows.map((r) => r.step_at[i] ?? null);
  await db.query(
    `insert into sessions (user_id, session_key, started_at, ended_at, events, reached, view_at, cart_at,
       checkout_at, purchase_at, has_cart, has_purchase, cart_value, country, device)
     select user_id, session_key, ${atMs("started")}, ${atMs("ended")}, events, reached, ${atMs("v")}, ${atMs("c")},
       ${atMs("k")}, ${atMs("p")}, has_cart, has_purchase, cart_value, country, device
     from unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int4[], $6::int2[], $7::int8[], $8::int8[],
                 $9::int8[], $10::int8[], $11::bool[], $12::bool[], $13::numeric[], $14::text[], $15::text[])
       as r(user_id, session_key, started, ended, events, reached, v, c, k, p, has_cart, has_purchase, cart_value,
            country, device)
     on conflict (user_id, session_key) do update set
       started_at = excluded.started_at, ended_at = excluded.ended_at, events = excluded.events,
       reached = excluded.reached, view_at = excluded.view_at, cart_at = excluded.cart_at,
       checkout_at = excluded.checkout_at, purchase_at = excluded.purchase_at, has_cart = excluded.has_cart,
       has_purchase = excluded.has_purchase, cart_value = excluded.cart_value, country = excluded.country,
       device = excluded.device`,
    [
      rows.map((r) => r.user_id),
      rows.map((r) => r.session_key),
      rows.map((r) => r.started_at),
      rows.map((r) => r.ended_at),
      rows.map((r) => r.events),
      rows.map((r) => r.step_at.length),
      at(0),
      at(1),
      at(2),
      at(3),
      rows.map((r) => r.has_cart),
      rows.map((r) => r.has_purchase),
      rows.map((r) => r.cart_value),
      rows.map((r) => r.country),
      rows.map((r) => r.device),
    ],
  );
}
