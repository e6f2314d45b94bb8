/**
 * Sessions and their place in the default funnel, kept exact as events arrive in any order: a batch
 * recomputes every session it touches from its events, those stored before it and its own.
 */
import { type Env, type Event, SESSION_GAP_MS } from "@runtime/sdk";
import { bestAttempt, type Timeline } from "./match.ts";
import { atMs, parseStored, sortLikeSql, type Stored, STORED_JSON, storedOf } from "./stored.ts";

type Db = Env["db"];

/** The default funnel, per session: a page or product view, then add to cart, checkout and purchase. */
export const DEFAULT_STEPS = [
  { step: "view", types: ["page_view", "product_view"] },
  { step: "add_to_cart", types: ["add_to_cart"] },
  { step: "checkout", types: ["checkout"] },
  { step: "purchase", types: ["purchase"] },
] as const;

/** A session row: its span, size, how far it went through the default funnel, and its cart. */
export interface SessionRow {
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
  /** The session's event types in order, a run of one type counted once: what paths are drawn from. */
  path: string[];
}

/** A session as paths count it: its user (the person), when it started (ms) and its path. */
export interface SessionPath {
  user_id: string;
  started_at: number;
  path: string[];
}

/** The sessions a batch recomputed, and the stored ones they replace (their paths are counted out). */
export interface Recomputed {
  rows: SessionRow[];
  replaced: SessionPath[];
}

/** SQL: a stored session (`s`) as a JSON array of its user, its start in ms and its path. */
export const SESSION_PATH_JSON = `json_build_array(s.user_id, (extract(epoch from s.started_at) * 1000)::int8, s.path)`;

/** Sessions' paths from a JSON array of {@linkcode SESSION_PATH_JSON} arrays. */
export function parseSessionPaths(json: string): SessionPath[] {
  return (JSON.parse(json) as [string, number, string[]][]).map(([user_id, started_at, path]) => ({
    user_id,
    started_at,
    path,
  }));
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
    path: events.map((e) => e.type).filter((t, i, types) => i === 0 || t !== types[i - 1]),
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
 * (call it before storing the batch's) and the batch's own. The inferred sessions it rebuilds are deleted;
 * `writeBatch` stores the answer.
 */
export function sessionsOf(db: Db, batch: Event[]): Promise<Recomputed> {
  const events = batch.map(storedOf);
  return sessionsAround(db, events, events);
}

/**
 * Recomputes every session the `touched` events belong to or join, from the stored events and the `fresh` ones (not
 * stored yet): the batch's, or, after a merge, none (the moved events are stored under their person already).
 */
export async function sessionsAround(db: Db, touched: Stored[], fresh: Stored[]): Promise<Recomputed> {
  const explicitKey = (e: Stored) => JSON.stringify([e.user_id, e.session_id]);
  const explicit = groupBy(touched.filter((e) => e.session_id !== null), explicitKey);
  const inferred = groupBy(touched.filter((e) => e.session_id === null), (e) => e.user_id);
  const pairs = [...explicit.values()].map((g) => g[0]);
  const spans = [...inferred.values()].map((g) => g.map((e) => e.ts));
  for (const g of [...explicit.values(), ...inferred.values()]) g.length = 0; // each group holds what is read
  for (const e of fresh) (e.session_id === null ? inferred.get(e.user_id) : explicit.get(explicitKey(e)))!.push(e);
  // One statement for what is stored: the explicit sessions' events, and the inferred sessions the new events
  // fall in or next to (deleted, to be rebuilt over their whole span) with the events of those spans; and the
  // stored sessions these replace. The lateral probes with offset 0 keep the planner from scanning the events table
  // instead of its index.
  const [stored] = await db.query<{ explicit: string; inferred: string; replaced: string }>(
    `with b as (
       select * from unnest($3::text[], $4::int8[], $5::int8[]) as b(user_id, lo, hi)
     ), old as (
       delete from sessions s using b
       where s.user_id = b.user_id and s.session_key like 'a:%'
         and s.ended_at > ${atMs("b.lo")} - $6::int8 * interval '1 millisecond'
         and s.started_at < ${atMs("b.hi")} + $6::int8 * interval '1 millisecond'
       returning s.user_id, s.started_at, s.ended_at, s.path
     ), spans as (
       select b.user_id, least(${atMs("b.lo")}, min(old.started_at)) as lo,
         greatest(${atMs("b.hi")}, max(old.ended_at)) as hi
       from b left join old using (user_id)
       group by b.user_id, b.lo, b.hi
     )
     select
       (select coalesce(json_agg(${STORED_JSON}), '[]')::text
        from unnest($1::text[], $2::text[]) as p(user_id, session_id)
          cross join lateral (select * from events where user_id = p.user_id and session_id = p.session_id offset 0) e
       ) as explicit,
       (select coalesce(json_agg(${STORED_JSON}), '[]')::text
        from spans b cross join lateral (
          select * from events where user_id = b.user_id and session_id is null and ts between b.lo and b.hi offset 0
        ) e
       ) as inferred,
       (select coalesce(json_agg(${SESSION_PATH_JSON}), '[]')::text
        from (
          select old.user_id, old.started_at, old.path from old
          union all
          select s.user_id, s.started_at, s.path from unnest($1::text[], $2::text[]) as p(user_id, session_id)
            join sessions s on s.user_id = p.user_id and s.session_key = 's:' || p.session_id
        ) s
       ) as replaced`,
    [
      pairs.map((e) => e.user_id),
      pairs.map((e) => e.session_id),
      [...inferred.keys()],
      spans.map((ts) => Math.min(...ts)),
      spans.map((ts) => Math.max(...ts)),
      SESSION_GAP_MS,
    ],
  );
  for (const e of parseStored(stored.explicit)) explicit.get(explicitKey(e))!.push(e);
  for (const e of parseStored(stored.inferred)) inferred.get(e.user_id)!.push(e);
  await sortLikeSql(db, [...explicit.values(), ...inferred.values()]);
  const rows: SessionRow[] = [];
  for (const g of explicit.values()) if (g.length > 0) rows.push(summarize(g[0].user_id, `s:${g[0].session_id}`, g));
  for (const g of inferred.values()) {
    for (const s of splitByInactivity(g)) rows.push(summarize(s[0].user_id, `a:${s[0].ts}`, s));
  }
  return { rows, replaced: parseSessionPaths(stored.replaced) };
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
