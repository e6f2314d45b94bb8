/**
 * The KPIs a rule can watch, each a value of one window's counts by event type: the overview's figures, with the same
 * definitions (`plugins/stats`), and the count of any event type.
 * @module
 */
import { decimalSum } from "@runtime/sdk";

/** A window's counts: events per type, and the revenue of its purchases. */
export interface Counts {
  /** Events per type; made by {@linkcode emptyCounts}, without a prototype (an event type may be `constructor`). */
  byType: Record<string, number>;
  /** Sum of purchase amounts, in the base currency: exact decimal text, whatever order they were added in. */
  revenue: string;
}

/** Counts of nothing. */
export function emptyCounts(): Counts {
  return { byType: Object.create(null), revenue: "0" };
}

/** The event types the overview's KPIs read; an `events.<type>` KPI reads its type besides. */
const BASE_TYPES = ["page_view", "product_view", "purchase", "add_to_cart"];

/** The event types whose counts `kpis` read: the others are only summed, as `''`. */
export function typesRead(kpis: readonly string[]): string[] {
  const types = new Set(BASE_TYPES);
  for (const k of kpis) if (k.startsWith("events.")) types.add(k.slice("events.".length));
  return [...types];
}

/** The named KPIs; besides them, `events.<type>` counts one event type. */
export const KPI_NAMES = [
  "events",
  "purchases",
  "revenue",
  "page_views",
  "conversion_rate",
  "cart_rate",
  "checkout_rate",
  "aov",
] as const;

/** A KPI's name: one of {@linkcode KPI_NAMES}, or `events.<type>`. */
export const KPI = new RegExp(`^(${KPI_NAMES.join("|")}|events\\.[a-z][a-z0-9_.]{0,63})$`);

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
/** A ratio to 4 decimals; null without a denominator (a rule does not judge a window it has no value for). */
const ratio = (n: number, d: number) => d > 0 ? round(n / d, 4) : null;

/** A stored row of counts: a window (or hour) start, an event type, its events, and revenue as decimal text. */
export type CountRow = { start: string | Date; type: string; events: number; revenue: string };

/**
 * SQL: the stored hours from `$1` to `$2` (both included), summed per window of `$3` ms, with the types of `$4` each on
 * a row and the others as one row of type `''`.
 */
export const COUNTS_SQL = `select to_timestamp(floor(extract(epoch from hour) * 1000 / $3) * $3 / 1000.0) as start,
    case when type = any($4::text[]) then type else '' end as type,
    sum(events)::int8 as events, sum(revenue)::text as revenue
  from hours where hour >= $1::timestamptz and hour <= $2::timestamptz group by 1, 2`;

/** Stored rows as counts per start (ms). */
export function countsByStart(rows: readonly CountRow[]): Map<number, Counts> {
  const out = new Map<number, Counts>();
  for (const r of rows) {
    const start = new Date(r.start).getTime();
    const c = out.get(start) ?? out.set(start, emptyCounts()).get(start)!;
    c.byType[r.type] = (c.byType[r.type] ?? 0) + Number(r.events);
    c.revenue = decimalSum([c.revenue, String(r.revenue)]);
  }
  return out;
}

/** All events of a window. */
export function eventsOf(c: Counts): number {
  return Object.values(c.byType).reduce((a, b) => a + b, 0);
}

/** The value of `kpi` (matching {@linkcode KPI}) in a window with counts `c`; null when it has none (0 / 0). */
export function kpiValue(kpi: string, c: Counts): number | null {
  const n = (type: string) => Object.hasOwn(c.byType, type) ? c.byType[type] : 0;
  const revenue = Number(c.revenue);
  const views = n("page_view") + n("product_view");
  switch (kpi) {
    case "events":
      return eventsOf(c);
    case "purchases":
      return n("purchase");
    case "revenue":
      return round(revenue, 2);
    case "page_views":
      return views;
    case "conversion_rate":
      return ratio(n("purchase"), views);
    case "cart_rate":
      return ratio(n("add_to_cart"), views);
    case "checkout_rate":
      return ratio(n("purchase"), n("add_to_cart"));
    case "aov":
      return n("purchase") > 0 ? round(revenue / n("purchase"), 2) : null;
    default:
      return n(kpi.slice("events.".length));
  }
}
