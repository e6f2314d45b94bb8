/**
 * `search_terms`: per search term, how many searches and searchers, and how many of those searches were followed
 * by an add_to_cart and by a purchase, with the revenue of those purchases. A worked example (see README.md): it
 * stores one row per event and aggregates when asked, so its answers equal a recomputation from the raw events
 * however late or out of order they arrive.
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { answerHttpError, atMs, definePlugin, describeRoute, type Env, type Event } from "@runtime/sdk";

const count = (what: string) => z.number().int().min(0).describe(what);
const rate = (what: string) => z.number().min(0).max(1).describe(`${what}, to 4 places`);

/** One term's numbers. */
export const TermStats = z.object({
  term: z.string().describe("the search query, trimmed and lower-cased"),
  searches: count("search events for the term"),
  users: count("distinct users who searched it"),
  searches_with_cart: count("searches followed by an add_to_cart"),
  searches_with_purchase: count("searches followed by a purchase"),
  cart_rate: rate("searches_with_cart / searches"),
  conversion_rate: rate("searches_with_purchase / searches"),
  purchases: count("distinct purchases that followed a search for the term"),
  revenue: z.number().min(0).describe("the sum of those purchases' amounts"),
});

/** The answer of `GET /terms`. */
export const TermList = z.object({ sort: z.enum(["searches", "conversion"]), terms: z.array(TermStats) });

const TermsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(20).describe("how many terms, 1..1000"),
  sort: z.enum(["searches", "conversion"]).default("searches").describe("most searched, or best converting first"),
});

/** The term as stored and looked up: trimmed and lower-cased; "" for none. */
const normalize = (query: string | undefined) => (query ?? "").trim().toLowerCase();

async function queue(batch: Event[], env: Env): Promise<void> {
  const searches = batch.filter((e) => e.type === "search" && normalize(e.properties.query) !== "");
  const conversions = batch.filter((e) => e.type !== "search");
  const ms = (events: Event[]) => events.map((e) => Date.parse(e.timestamp)); // cheaper for the host than ISO text
  // The host delivers each event once, in this batch's transaction; the keys would keep it so in any case.
  if (searches.length > 0) {
    await env.db.query(
      `insert into searches (event_id, term, user_id, session_id, ts)
       select event_id, term, user_id, session_id, ${atMs("ms")}
       from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[])
         as s(event_id, term, user_id, session_id, ms)
       on conflict (event_id) do nothing`,
      [
        searches.map((e) => e.event_id),
        searches.map((e) => normalize(e.properties.query)),
        searches.map((e) => e.user_id),
        searches.map((e) => e.session_id ?? null),
        ms(searches),
      ],
    );
  }
  if (conversions.length > 0) {
    await env.db.query(
      `insert into conversions (event_id, type, user_id, session_id, ts, amount)
       select event_id, type, user_id, session_id, ${atMs("ms")}, amount
       from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::numeric[])
         as c(event_id, type, user_id, session_id, ms, amount)
       on conflict (event_id) do nothing`,
      [
        conversions.map((e) => e.event_id),
        conversions.map((e) => e.type),
        conversions.map((e) => e.user_id),
        conversions.map((e) => e.session_id ?? null),
        ms(conversions),
        conversions.map((e) => e.type === "purchase" ? e.properties.amount ?? 0 : null),
      ],
    );
  }
}

/**
 * Each term's numbers, computed from the stored facts. A search is followed by a cart or purchase of its user at or
 * after its time, in its session when it has a session_id, else within 30 minutes.
 */
function termStats(db: Env["db"], opts: { term?: string; sort?: string; limit?: number }) {
  return db.query<z.infer<typeof TermStats>>(
    `with followed as (
       select s.term, s.event_id, s.user_id, c.type, c.event_id as conversion_id, c.amount
       from searches s
       left join conversions c on c.user_id = s.user_id and c.ts >= s.ts
         and (c.session_id = s.session_id or (s.session_id is null and c.ts <= s.ts + interval '30 minutes'))
       where $1::text is null or s.term = $1
     ), per_term as (
       select term, count(distinct event_id) as searches, count(distinct user_id) as users,
         count(distinct event_id) filter (where type = 'add_to_cart') as searches_with_cart,
         count(distinct event_id) filter (where type = 'purchase') as searches_with_purchase
       from followed group by term
     ), bought as (
       -- A purchase after several searches for a term counts once for it.
       select term, count(*) as purchases, sum(amount) as revenue
       from (select distinct term, conversion_id, amount from followed where type = 'purchase') p
       group by term
     )
     select t.term, t.searches, t.users, t.searches_with_cart, t.searches_with_purchase,
       round(t.searches_with_cart::numeric / t.searches, 4) as cart_rate,
       round(t.searches_with_purchase::numeric / t.searches, 4) as conversion_rate,
       coalesce(b.purchases, 0) as purchases, coalesce(b.revenue, 0) as revenue
     from per_term t left join bought b using (term)
     order by case when $2 = 'conversion' then t.searches_with_purchase::numeric / t.searches end desc nulls last,
       t.searches desc, t.term
     limit $3`,
    [opts.term ?? null, opts.sort ?? "searches", opts.limit ?? 1],
  );
}

const app = new Hono<{ Bindings: Env }>();

app.onError(answerHttpError);

app.get(
  "/terms",
  describeRoute({
    summary: "Search terms with their conversion",
    query: TermsQuery,
    response: TermList,
    errors: [400],
  }),
  async (c) => {
    const { limit, sort } = c.req.valid("query");
    return c.json({ sort, terms: await termStats(c.env.db, { sort, limit }) });
  },
);

app.get(
  "/terms/:term",
  describeRoute({
    summary: "One search term's numbers",
    params: z.object({ term: z.string().describe("the term, matched trimmed and lower-cased") }),
    response: TermStats,
    errors: [404],
  }),
  async (c) => {
    const term = normalize(c.req.param("term"));
    const [stats] = await termStats(c.env.db, { term });
    return stats ? c.json(stats) : c.json({ error: `no searches for '${term}'` }, 404);
  },
);

export default definePlugin({
  name: "search_terms",
  version: "1.0.0",
  subscribes: ["search", "add_to_cart", "purchase"],
  queue,
  fetch: app,
  panels: [{ title: "Search terms", route: "/terms", kind: "table" }],
});
