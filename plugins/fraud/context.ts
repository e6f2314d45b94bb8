/** What the fraud plugin keeps of the events, and the context a purchase is judged in. */
import type { Env, Event } from "@runtime/sdk";
import type { Context, Rule } from "./rules.ts";
import { longestWindow } from "./rules.ts";

type Db = Env["db"];

/** Log-scale buckets of the store's amounts: bucket k holds amounts in [1.05^k − 1, 1.05^(k+1) − 1). */
const BASE = Math.log(1.05);
const bucketOf = (amount: number) => Math.floor(Math.log(amount + 1) / BASE);

/** Records the batch: accounts, where users are seen from, and purchases with the store's amounts. */
export async function record(db: Db, batch: Event[]): Promise<void> {
  await db.query(
    `insert into accounts (user_id, first_seen)
     select user_id, min(ts) from unnest($1::text[], $2::timestamptz[]) as e(user_id, ts) group by 1
     on conflict (user_id) do update set first_seen = least(accounts.first_seen, excluded.first_seen)`,
    [batch.map((e) => e.user_id), batch.map((e) => e.timestamp)],
  );
  const places = batch.flatMap((e) =>
    (["country", "device"] as const).filter((k) => typeof e.properties[k] === "string")
      .map((k) => ({ user: e.user_id, kind: k, value: e.properties[k] as string, ts: e.timestamp }))
  );
  if (places.length > 0) {
    await db.query(
      `insert into places (user_id, kind, value, first_seen)
       select user_id, kind, value, min(ts) from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
         as p(user_id, kind, value, ts) group by 1, 2, 3
       on conflict (user_id, kind, value) do update set first_seen = least(places.first_seen, excluded.first_seen)`,
      [places.map((p) => p.user), places.map((p) => p.kind), places.map((p) => p.value), places.map((p) => p.ts)],
    );
  }
  const purchases = batch.filter((e) => e.type === "purchase");
  if (purchases.length === 0) return;
  await db.query(
    `insert into purchases (event_id, user_id, ts, amount, country, device)
     select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::numeric[], $5::text[], $6::text[])`,
    [
      purchases.map((e) => e.event_id),
      purchases.map((e) => e.user_id),
      purchases.map((e) => e.timestamp),
      purchases.map((e) => e.properties.amount ?? 0),
      purchases.map((e) => e.properties.country ?? null),
      purchases.map((e) => e.properties.device ?? null),
    ],
  );
  await db.query(
    `insert into amounts (bucket, n) select b, count(*) from unnest($1::int4[]) b group by b
     on conflict (bucket) do update set n = amounts.n + excluded.n`,
    [purchases.map((e) => bucketOf(e.properties.amount ?? 0))],
  );
}

/** The store's amount at each percentile, from the histogram (the upper edge of the bucket reaching it). */
async function storePercentiles(db: Db): Promise<(p: number) => number> {
  const rows = await db.query<{ bucket: number; n: number }>("select bucket, n from amounts order by bucket");
  const total = rows.reduce((s, r) => s + r.n, 0);
  return (p) => {
    let seen = 0;
    for (const r of rows) {
      seen += r.n;
      if (seen >= p * total) return Math.exp((r.bucket + 1) * BASE) - 1;
    }
    return Infinity;
  };
}

/** A purchase to judge: stored already, or a candidate (not stored, judged as if it came now). */
export interface Probe {
  event_id: string;
  user_id: string;
  ts: string;
  amount: number;
  country: string | null;
  device: string | null;
  stored: boolean;
}

/** The context of each probe, from what is stored up to its time. */
export async function contexts(db: Db, probes: Probe[], rules: Rule[]): Promise<Context[]> {
  if (probes.length === 0) return [];
  const storeAt = await storePercentiles(db);
  const rows = await db.query<{
    history: number[] | null;
    recent_ts: number[] | null;
    recent_amounts: number[] | null;
    country_seen: string | null;
    device_seen: string | null;
    account_seen: string | null;
  }>(
    `select h.amounts as history, r.ts as recent_ts, r.amounts as recent_amounts,
       (select first_seen from places where user_id = p.user_id and kind = 'country' and value = p.country)
         as country_seen,
       (select first_seen from places where user_id = p.user_id and kind = 'device' and value = p.device)
         as device_seen,
       (select first_seen from accounts where user_id = p.user_id) as account_seen
     from unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[])
       with ordinality as p(event_id, user_id, ts, country, device, i)
     left join lateral (
       select array_agg(amount::float8) as amounts from (
         select amount from purchases h where h.user_id = p.user_id and (h.ts, h.event_id) < (p.ts, p.event_id)
         order by h.ts desc limit 100) x
     ) h on true
     left join lateral (
       select array_agg((extract(epoch from h.ts) * 1000)::int8 order by h.ts) as ts,
         array_agg(h.amount::float8 order by h.ts) as amounts
       from purchases h where h.user_id = p.user_id and h.ts >= p.ts - $6::int8 * interval '1 second'
         and (h.ts, h.event_id) <= (p.ts, p.event_id)
     ) r on true
     order by p.i`,
    [
      probes.map((p) => p.event_id),
      probes.map((p) => p.user_id),
      probes.map((p) => p.ts),
      probes.map((p) => p.country),
      probes.map((p) => p.device),
      longestWindow(rules),
    ],
  );
  return rows.map((r, i) => {
    const p = probes[i];
    const ts = Date.parse(p.ts);
    const recent = (r.recent_ts ?? []).map((t, k) => ({ ts: t, amount: r.recent_amounts![k] }));
    // A candidate is not stored: it counts among its own recent purchases, and whatever is unseen is new now.
    if (!p.stored) recent.push({ ts, amount: p.amount });
    const seen = (at: string | null, value: string | null) =>
      value === null ? null : at === null ? ts : Math.min(ts, Date.parse(at));
    return {
      ts,
      amount: p.amount,
      history: r.history ?? [],
      recent,
      countrySeen: seen(r.country_seen, p.country),
      deviceSeen: seen(r.device_seen, p.device),
      accountSeen: r.account_seen === null ? ts : Math.min(ts, Date.parse(r.account_seen)),
      storeAt,
    };
  });
}
