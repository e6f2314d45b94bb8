/**
 * The overview and the time series read from `event_facts`, when a query filters events by their properties or breaks
 * them down by one: the top values by events (ties by value, bytewise), a row for every other value together, and the
 * totals of the events that meet the conditions. One statement each, reading the facts in the range once.
 */
import { compareValues, type Condition, type Env, type Property } from "@runtime/sdk";
import { inRangeSql } from "./buckets.ts";
import { factsSql } from "./filters.ts";
import { ratio, round } from "./numbers.ts";

type Db = Env["db"];

/** What a filtered or broken-down read is asked. */
export interface FactsQuery {
  /** The range's ends, ms (whole minutes); null when open. */
  from: number | null;
  to: number | null;
  conditions: Condition[];
  breakdown: Property | null;
  limit: number;
}

/** The figures of a set of events, as the overview gives them (sessions aside). */
export interface Figures {
  events: number;
  users: number;
  purchases: number;
  revenue: number;
  by_type: Record<string, number>;
  conversion_rate: number;
  cart_rate: number;
  checkout_rate: number;
  aov: number;
  revenue_per_user: number;
}

/** A breakdown's row: a value (null: events without it), or every value past the top ones (`other`). */
export type Row = { key: string | null; other: boolean };

/** Figures from events per type, revenue and users. */
export function figures(byType: Record<string, number>, revenue: number, users: number): Figures {
  const events = Object.values(byType).reduce((a, b) => a + b, 0);
  const purchases = byType.purchase ?? 0;
  const views = (byType.page_view ?? 0) + (byType.product_view ?? 0);
  const carts = byType.add_to_cart ?? 0;
  return {
    events,
    users,
    purchases,
    revenue: round(revenue, 2),
    by_type: byType,
    conversion_rate: ratio(purchases, views),
    cart_rate: ratio(carts, views),
    checkout_rate: ratio(purchases, carts),
    aov: round(purchases ? revenue / purchases : 0, 2),
    revenue_per_user: round(users ? revenue / users : 0, 2),
  };
}

/**
 * SQL: the CTEs `g` (each event in range meeting the conditions, with `start` when `bucket` is given, `k` its row's
 * value and `other`) over `ranked`, the top `limit` values by events. Pushes parameters to `params`.
 */
function facts(q: FactsQuery, params: unknown[], bucket: string | null): string {
  const sql = factsSql(q.conditions, q.breakdown, params);
  const range = inRangeSql("f.ts", q, params);
  const start = bucket === null ? "" : `date_trunc($${params.push(bucket)}::text, f.ts, 'UTC') as start, `;
  return `f as materialized (
      select ${start}f.type, f.user_id, f.amount, ${sql.key} as key
      from event_facts f ${sql.joins}
      where ${range} and ${sql.where}
    ), ranked as (
      select key from f group by key order by count(*) desc, key collate "C" nulls last limit $${params.push(q.limit)}
    ), top as (
      select coalesce(array_agg(key) filter (where key is not null), '{}') as keys,
        coalesce(bool_or(key is null), false) as has_null
      from ranked
    ), g as (
      select f.*, not coalesce(f.key = any(top.keys) or f.key is null and top.has_null, false) as other,
        case when coalesce(f.key = any(top.keys) or f.key is null and top.has_null, false) then f.key end as k
      from f, top
    )`;
}

/** The rows' order: most events first, ties by value (bytewise, no value after values), other last. */
function byEvents<T extends Row & { events: number }>(rows: T[]): T[] {
  return rows.sort((a, b) => Number(a.other) - Number(b.other) || b.events - a.events || compareValues(a.key, b.key));
}

/** A row's identity, to group by. */
const rowKey = (r: Row) => JSON.stringify([r.other, r.key]);

/**
 * The figures per row of `q`'s breakdown, and with `totals` those of all the events meeting its conditions (else null:
 * the caller has them from the counters, and counting the range's distinct users once more would sort all its events).
 */
export async function overviewFacts(
  db: Db,
  q: FactsQuery,
  { totals }: { totals: boolean },
): Promise<{ totals: Figures | null; rows: (Row & Figures)[] }> {
  const params: unknown[] = [];
  const grouped = await db.query<
    Row & { type: string; events: number; revenue: number; users: number; level: number }
  >(
    `with ${facts(q, params, null)}
     select k as key, other, type, count(*)::int8 as events, coalesce(sum(amount), 0) as revenue,
       count(distinct user_id)::int8 as users, grouping(other, k, type) as level
     from g group by grouping sets ((other, k, type), (other, k)${totals ? ", ()" : ""})`,
    params,
  );
  // Per type without a prototype: a custom type may be named `constructor` or `toString`.
  const byType: Record<string, number> = Object.create(null);
  const rowTypes = new Map<string, Record<string, number>>();
  for (const r of grouped.filter((r) => r.level === 0).sort((a, b) => a.type.localeCompare(b.type))) {
    byType[r.type] = (byType[r.type] ?? 0) + r.events;
    const types = rowTypes.get(rowKey(r)) ?? Object.create(null);
    types[r.type] = r.events;
    rowTypes.set(rowKey(r), types);
  }
  const total = grouped.find((r) => r.level === 7);
  const rows = q.breakdown === null ? [] : grouped.filter((r) => r.level === 1).map((r) => ({
    key: r.key,
    other: r.other,
    ...figures(rowTypes.get(rowKey(r)) ?? {}, Number(r.revenue), r.users),
  }));
  return {
    totals: totals ? figures(byType, Number(total?.revenue ?? 0), total?.users ?? 0) : null,
    rows: byEvents(rows),
  };
}

/** A bucket of the series: its totals, and its row per value of the breakdown. */
export interface FactsBucket {
  start: number;
  events: number;
  by_type: Record<string, number>;
  revenue: number;
  users: number;
}

/** A breakdown's row in one bucket. */
export type SeriesRow = Row & { start: number; events: number; revenue: number; users: number };

/**
 * The series of the events meeting `q`'s conditions in `count` buckets of `width` ms from `first`: per bucket, and per
 * bucket and row of its breakdown (every row in every bucket, zeros included).
 */
export async function seriesFacts(
  db: Db,
  q: FactsQuery,
  bucket: string,
  first: number,
  width: number,
  count: number,
): Promise<{ buckets: FactsBucket[]; rows: SeriesRow[]; values: Row[] }> {
  const params: unknown[] = [];
  const grouped = await db.query<
    Row & { start: string; type: string; events: number; revenue: number; users: number; level: number }
  >(
    `with ${facts(q, params, bucket)}
     select start, k as key, other, type, count(*)::int8 as events, coalesce(sum(amount), 0) as revenue,
       count(distinct user_id)::int8 as users, grouping(start, type, other, k) as level
     from g group by grouping sets ((start, type), (start), (start, other, k))`,
    params,
  );
  const buckets = Array.from({ length: Math.max(0, count) }, (_, i) => ({
    start: first + i * width,
    events: 0,
    by_type: {} as Record<string, number>,
    revenue: 0,
    users: 0,
  }));
  const at = (start: string) => Math.round((Date.parse(start) - first) / width);
  const totals = new Map<string, Row & { events: number }>();
  const cells = new Map<string, SeriesRow>();
  for (const r of grouped.sort((a, b) => (a.type ?? "").localeCompare(b.type ?? ""))) {
    const b = buckets[at(r.start)];
    if (b === undefined) continue;
    if (r.level === 3) b.by_type[r.type] = r.events;
    else if (r.level === 7) {
      Object.assign(b, { events: r.events, revenue: round(Number(r.revenue), 2), users: r.users });
    } else if (q.breakdown !== null) {
      const row = { key: r.key, other: r.other };
      const sum = totals.get(rowKey(row)) ?? { ...row, events: 0 };
      sum.events += r.events;
      totals.set(rowKey(row), sum);
      cells.set(JSON.stringify([b.start, rowKey(row)]), {
        start: b.start,
        ...row,
        events: r.events,
        revenue: round(Number(r.revenue), 2),
        users: r.users,
      });
    }
  }
  const values = byEvents([...totals.values()]).map(({ key, other }) => ({ key, other }));
  const rows = buckets.flatMap((b) =>
    values.map((v) =>
      cells.get(JSON.stringify([b.start, rowKey(v)])) ?? { start: b.start, ...v, events: 0, revenue: 0, users: 0 }
    )
  );
  return { buckets, rows, values };
}
