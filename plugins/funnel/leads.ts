/**
 * Hot leads: users who recently left a cart without buying, ranked by how likely they are to come back and
 * buy. The likelihood is a documented points score, not a trained model, so every rank can be explained.
 */
import { type Env, SESSION_GAP_MS } from "@runtime/sdk";
import { DEFAULT_STEPS } from "./sessions.ts";

type Db = Env["db"];

/** A lead's session, as the score reads it. */
type Candidate = {
  user_id: string;
  session_key: string;
  abandoned_at: string;
  reached: number;
  events: number;
  cart_value: number;
  hours_ago: number;
  prior_purchases: number;
};

/**
 * Likelihood to buy, 0..1, the sum of:
 * - how far the session went: 0.35 when it reached checkout, else 0.15;
 * - earlier purchases by the user: 0.1 each, at most 0.3;
 * - recency: 0.2, falling linearly to 0 at the end of the window;
 * - engagement: 0.15 × events in the session / 20, at most 0.15.
 */
export function likelihood(c: Candidate, windowHours: number): { score: number; reasons: string[] } {
  const checkout = c.reached >= 3;
  const parts: [number, string][] = [
    [checkout ? 0.35 : 0.15, checkout ? "reached checkout" : "added to cart"],
    [
      0.1 * Math.min(3, c.prior_purchases),
      `${c.prior_purchases} earlier purchase${c.prior_purchases === 1 ? "" : "s"}`,
    ],
    [0.2 * Math.max(0, 1 - c.hours_ago / windowHours), `left ${ago(c.hours_ago)} ago`],
    [0.15 * Math.min(1, c.events / 20), `${c.events} events in the session`],
  ];
  return {
    score: Math.round(parts.reduce((s, [p]) => s + p, 0) * 1e4) / 1e4,
    reasons: parts.filter(([p]) => p > 0).sort((a, b) => b[0] - a[0]).map(([, why]) => why),
  };
}

/** A duration in hours, in words: minutes under an hour, else hours to one decimal. */
function ago(hours: number): string {
  return hours < 1 ? `${Math.round(hours * 60)} min` : `${Math.round(hours * 10) / 10} h`;
}

/**
 * Each user's latest abandoned cart: a session that added to cart, bought nothing, and ended in the `hours`
 * before the watermark but at least 30 minutes before it (a session still going is not abandoned yet), unless
 * the user bought in a later session. Ranked by {@linkcode likelihood}, then cart value.
 */
export async function leads(db: Db, watermark: string | null, hours: number, limit: number) {
  if (watermark === null) return { window: null, leads: [] };
  const candidates = await db.query<Candidate>(
    `with recent as (
       select distinct on (s.user_id) s.*
       from sessions s
       where s.has_cart and not s.has_purchase
         and s.ended_at > $1::timestamptz - $2::int8 * interval '1 hour'
         and s.ended_at <= $1::timestamptz - $3::int8 * interval '1 millisecond'
         and not exists (select 1 from sessions p
                         where p.user_id = s.user_id and p.has_purchase and p.started_at > s.started_at)
       order by s.user_id, s.ended_at desc
     )
     select r.user_id, r.session_key, r.ended_at as abandoned_at, r.reached, r.events,
       round(r.cart_value, 2) as cart_value,
       extract(epoch from $1::timestamptz - r.ended_at)::float8 / 3600 as hours_ago,
       (select count(*) from sessions p
        where p.user_id = r.user_id and p.has_purchase and p.started_at < r.started_at)::int8 as prior_purchases
     from recent r`,
    [watermark, hours, SESSION_GAP_MS],
  );
  const ranked = candidates.map((c) => ({ c, ...likelihood(c, hours) }))
    .sort((a, b) => b.score - a.score || b.c.cart_value - a.c.cart_value || (a.c.user_id < b.c.user_id ? -1 : 1));
  return {
    window: { from: new Date(Date.parse(watermark) - hours * 3_600_000).toISOString(), to: watermark },
    leads: ranked.slice(0, limit).map(({ c, score, reasons }) => ({
      user_id: c.user_id,
      session_key: c.session_key,
      abandoned_at: c.abandoned_at,
      furthest_step: c.reached === 0 ? null : DEFAULT_STEPS[c.reached - 1].step,
      cart_value: c.cart_value,
      prior_purchases: c.prior_purchases,
      events: c.events,
      score,
      reasons,
    })),
  };
}
