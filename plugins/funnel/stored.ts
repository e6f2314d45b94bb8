/**
 * The events a session is computed from: those stored before the batch, read back as one JSON text, and the
 * batch's own, taken as they are in the sandbox rather than read back. Both are put in the order SQL sorts
 * events in (time, then position in the log, then event_id), and the batch's cart values are computed exactly as SQL computes them
 * from the stored properties, so a session comes out as if every event had been read from the table.
 */
import type { Env, Event } from "@runtime/sdk";

type Db = Env["db"];

/** One event, as sessions are computed from it. */
export type Stored = {
  event_id: string;
  user_id: string;
  session_id: string | null;
  ts: number;
  /** The event's place in the host's log (arrival); null for events stored before positions were kept. */
  position: number | null;
  type: string;
  /** Price × quantity of an add_to_cart, else 0. */
  value: number;
  country: string | null;
  device: string | null;
};

/**
 * SQL for the instant an int8 expression holds in epoch milliseconds, exact in every year (to_timestamp's
 * float8 is exact for whole seconds only; the milliseconds are added as an interval, in UTC terms).
 */
export const atMs = (ms: string) => `(to_timestamp(${ms} / 1000) + ${ms} % 1000 * interval '1 millisecond')`;

/**
 * SQL: one stored event (`e`) as a JSON array, for `json_agg`: the host then hands over one text for all the
 * events rather than an object per row, several times cheaper for it. {@linkcode parseStored} reads it back.
 */
export const STORED_JSON = `json_build_array(e.event_id, e.user_id, e.session_id,
  (extract(epoch from e.ts) * 1000)::int8, e.position, e.type,
  case when e.type = 'add_to_cart'
    then coalesce((e.properties->>'price')::numeric * coalesce((e.properties->>'quantity')::numeric, 1), 0)
    else 0 end::float8,
  e.properties->>'country', e.properties->>'device')`;

/** The events in a JSON array of {@linkcode STORED_JSON} arrays. */
export function parseStored(json: string): Stored[] {
  type Row = [string, string, string | null, number, number | null, string, number, string | null, string | null];
  return (JSON.parse(json) as Row[]).map((
    [event_id, user_id, session_id, ts, position, type, value, country, device],
  ) => ({
    event_id,
    user_id,
    session_id,
    ts,
    position,
    type,
    value,
    country,
    device,
  }));
}

/** A batch's event as it will be stored. */
export function storedOf(e: Event): Stored {
  const p = e.properties;
  return {
    event_id: e.event_id,
    user_id: e.user_id,
    session_id: e.session_id ?? null,
    ts: Date.parse(e.timestamp),
    position: e.position ?? null,
    type: e.type,
    value: e.type === "add_to_cart" && p.price !== undefined ? cartValue(p.price, p.quantity ?? 1) : 0,
    country: p.country ?? null,
    device: p.device ?? null,
  };
}

/** A number's decimal text (as stored in jsonb) as an integer and a power of ten: `digits × 10^exponent`. */
function decimalOf(x: number): { digits: bigint; exponent: number } {
  const [mantissa, e = "0"] = String(x).split("e");
  const [whole, fraction = ""] = mantissa.split(".");
  return { digits: BigInt(whole + fraction), exponent: Number(e) - fraction.length };
}

/**
 * `price × quantity` as SQL computes it from the stored properties: multiplied exactly as `numeric`, then
 * rounded once to a double as `::float8` does (a float multiplication would round twice: 0.1 × 3).
 */
export function cartValue(price: number, quantity: number): number {
  const a = decimalOf(price);
  const b = decimalOf(quantity);
  const value = Number(`${a.digits * b.digits}e${a.exponent + b.exponent}`);
  if (!Number.isFinite(value)) throw new Error(`cart value out of range: ${price} × ${quantity}`);
  return value;
}

/**
 * Sorts each group's events as SQL's `order by ts, position, event_id` does: by time, then by arrival (a handler
 * sending several events in one millisecond), a missing position last. Events of equal time without positions are
 * rare (stored before positions were kept); their event_ids are ranked by SQL (one query for all), since their order
 * is the database's collation.
 */
export async function sortLikeSql(db: Db, groups: Stored[][]): Promise<void> {
  const byPosition = (a: Stored, b: Stored) =>
    a.position === b.position ? 0 : a.position === null ? 1 : b.position === null ? -1 : a.position - b.position;
  const tied = new Set<string>();
  for (const g of groups) {
    g.sort((a, b) => a.ts - b.ts || byPosition(a, b));
    for (let i = 1; i < g.length; i++) {
      if (g[i].ts === g[i - 1].ts && byPosition(g[i], g[i - 1]) === 0) tied.add(g[i].event_id).add(g[i - 1].event_id);
    }
  }
  if (tied.size === 0) return;
  const [{ ids }] = await db.query<{ ids: string }>(
    "select json_agg(id order by id)::text as ids from unnest($1::text[]) as id",
    [[...tied]],
  );
  const rank = new Map((JSON.parse(ids) as string[]).map((id, i) => [id, i]));
  for (const g of groups) {
    g.sort((a, b) => a.ts - b.ts || byPosition(a, b) || (rank.get(a.event_id) ?? 0) - (rank.get(b.event_id) ?? 0));
  }
}
