/** What the fraud plugin keeps of the events, and the context a purchase is judged in. */
import { atMs, type Env, type Event, fold, key } from "@runtime/sdk";
import type { Context } from "./rules.ts";

type Db = Env["db"];

/** Log-scale buckets of the store's amounts: bucket k holds amounts in [1.05^k − 1, 1.05^(k+1) − 1). */
const BASE = Math.log(1.05);
const bucketOf = (amount: number) => Math.floor(Math.log(amount + 1) / BASE);

/**
 * Records the batch, in one statement: accounts, where users are seen from, and purchases with the store's
 * amounts. The batch is folded here first, into one row per user and per place with its earliest time; a
 * stored first sighting is rewritten only when the batch saw it earlier (late events), not at every sighting.
 */
export async function record(db: Db, batch: Event[]): Promise<void> {
  const timed = batch.map((e) => ({ e, ms: Date.parse(e.timestamp) }));
  const accounts = fold(timed, ({ e }) => e.user_id, ({ e, ms }) => ({ user: e.user_id, first: ms }), (a, { ms }) => {
    a.first = Math.min(a.first, ms);
  });
  const sightings = timed.flatMap(({ e, ms }) =>
    (["country", "device"] as const).filter((k) => typeof e.properties[k] === "string")
      .map((kind) => ({ user: e.user_id, kind, value: e.properties[kind] as string, ms }))
  );
  const places = fold(sightings, (p) => key(p.user, p.kind, p.value), (p) => ({ ...p }), (p, s) => {
    p.ms = Math.min(p.ms, s.ms);
  });
  const purchases = timed.filter(({ e }) => e.type === "purchase");
  const buckets = fold(
    purchases,
    ({ e }) => String(bucketOf(e.properties.amount ?? 0)),
    ({ e }) => ({ bucket: bucketOf(e.properties.amount ?? 0), n: 0 }),
    (b) => b.n++,
  );
  await db.query(
    `with accounts as (
       insert into accounts (user_id, first_seen)
       select user_id, ${atMs("first_ms")} from unnest($1::text[], $2::int8[]) as a(user_id, first_ms)
       on conflict (user_id) do update set first_seen = excluded.first_seen
         where excluded.first_seen < accounts.first_seen
     ), places as (
       insert into places (user_id, kind, value, first_seen)
       select user_id, kind, value, ${atMs("first_ms")}
       from unnest($3::text[], $4::text[], $5::text[], $6::int8[]) as p(user_id, kind, value, first_ms)
       on conflict (user_id, kind, value) do update set first_seen = excluded.first_seen
         where excluded.first_seen < places.first_seen
     ), purchases as (
       insert into purchases (event_id, user_id, ts, amount, country, device)
       select event_id, user_id, ${atMs("ms")}, amount, country, device
       from unnest($7::text[], $8::text[], $9::int8[], $10::numeric[], $11::text[], $12::text[])
         as p(event_id, user_id, ms, amount, country, device)
     )
     insert into amounts (bucket, n) select * from unnest($13::int4[], $14::int4[])
     on conflict (bucket) do update set n = amounts.n + excluded.n`,
    [
      accounts.map((a) => a.user),
      accounts.map((a) => a.first),
      places.map((p) => p.user),
      places.map((p) => p.kind),
      places.map((p) => p.value),
      places.map((p) => p.ms),
      purchases.map(({ e }) => e.event_id),
      purchases.map(({ e }) => e.user_id),
      purchases.map(({ ms }) => ms),
      purchases.map(({ e }) => e.properties.amount ?? 0),
      purchases.map(({ e }) => e.properties.country ?? null),
      purchases.map(({ e }) => e.properties.device ?? null),
      buckets.map((b) => b.bucket),
      buckets.map((b) => b.n),
    ],
  );
}

/**
 * The store's amount at each percentile, from the histogram (the upper edge of the bucket reaching it), without
 * `excluded` (the purchase being judged, stored already: an outlier must not raise the bar it is measured against).
 */
export function percentiles(
  rows: { bucket: number; n: number }[],
  excluded?: number,
): ((p: number) => number) & { samples: number } {
  const own = excluded === undefined ? null : bucketOf(excluded);
  const counts = rows.map((r) => ({ bucket: r.bucket, n: r.bucket === own ? r.n - 1 : r.n }));
  const total = counts.reduce((s, r) => s + r.n, 0);
  return Object.assign((p: number) => {
    let seen = 0;
    for (const r of counts) {
      seen += r.n;
      if (seen > 0 && seen >= p * total) return Math.exp((r.bucket + 1) * BASE) - 1;
    }
    return Infinity;
  }, { samples: total });
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

/** A probe's stored context, as the JSON array the context query answers per probe. */
type StoredContext = [
  history: number[] | null,
  recentTs: number[] | null,
  recentAmounts: number[] | null,
  countrySeen: number | null,
  deviceSeen: number | null,
  accountSeen: number | null,
];

/**
 * SQL answering the contexts of the probes given as arrays `$1`..`$5` (event ids, user ids, times, countries,
 * devices) as one JSON text of {@linkcode StoredContext} rows, the host handing over one value rather than a row of
 * arrays per probe. `users` is the user ids' expression (a candidate's id resolved to its person, say) and `window`
 * the seconds of recent purchases to read.
 */
export function contextsSql(users: string, window: string): string {
  // First sightings in epoch ms (a driver's Date read back through Date.parse would drop the milliseconds).
  const seenMs = (at: string) => `(select (extract(epoch from first_seen) * 1000)::int8 ${at})`;
  return `select coalesce(json_agg(json_build_array(h.amounts, r.ts, r.amounts,
       ${seenMs("from places where user_id = p.user_id and kind = 'country' and value = p.country")},
       ${seenMs("from places where user_id = p.user_id and kind = 'device' and value = p.device")},
       ${seenMs("from accounts where user_id = p.user_id")}) order by p.i), '[]')::text
     from unnest($1::text[], ${users}, $3::timestamptz[], $4::text[], $5::text[])
       with ordinality as p(event_id, user_id, ts, country, device, i)
     left join lateral (
       select array_agg(amount::float8) as amounts from (
         select amount from purchases h where h.user_id = p.user_id and (h.ts, h.event_id) < (p.ts, p.event_id)
         order by h.ts desc limit 100) x
     ) h on true
     left join lateral (
       select array_agg((extract(epoch from h.ts) * 1000)::int8 order by h.ts) as ts,
         array_agg(h.amount::float8 order by h.ts) as amounts
       from purchases h where h.user_id = p.user_id and h.ts >= p.ts - (${window}) * interval '1 second'
         and (h.ts, h.event_id) <= (p.ts, p.event_id)
     ) r on true`;
}

/** The parameters `$1`..`$5` of {@linkcode contextsSql} for `probes`. */
export function contextsParams(probes: Probe[]): unknown[] {
  return [
    probes.map((p) => p.event_id),
    probes.map((p) => p.user_id),
    probes.map((p) => p.ts),
    probes.map((p) => p.country),
    probes.map((p) => p.device),
  ];
}

/**
 * The context of each probe from what {@linkcode contextsSql} answered: the store's amounts (`store`) without the
 * probe's own when it is stored.
 */
export function readContexts(text: string, probes: Probe[], store: { bucket: number; n: number }[]): Context[] {
  const rows = (JSON.parse(text) as StoredContext[]).map((
    [history, recent_ts, recent_amounts, country_seen, device_seen, account_seen],
  ) => ({ history, recent_ts, recent_amounts, country_seen, device_seen, account_seen }));
  return rows.map((r, i) => {
    const p = probes[i];
    const ts = Date.parse(p.ts);
    const recent = (r.recent_ts ?? []).map((t, k) => ({ ts: t, amount: r.recent_amounts![k] }));
    // A candidate is not stored: it counts among its own recent purchases, and whatever is unseen is new now.
    if (!p.stored) recent.push({ ts, amount: p.amount });
    const storeAt = percentiles(store, p.stored ? p.amount : undefined);
    const seen = (at: number | null, value: string | null) =>
      value === null ? null : at === null ? ts : Math.min(ts, at);
    return {
      ts,
      amount: p.amount,
      history: r.history ?? [],
      recent,
      countrySeen: seen(r.country_seen, p.country),
      deviceSeen: seen(r.device_seen, p.device),
      accountSeen: r.account_seen === null ? ts : Math.min(ts, r.account_seen),
      storeAt,
      storeSamples: storeAt.samples,
    };
  });
}
