/**
 * The KPIs a rule can watch, each a value of one window's counts by event type: the overview's figures, with the same
 * definitions (`plugins/stats`), and the count of any event type.
 * @module
 */

/** A window's counts: events per type, and the revenue of its purchases. */
export interface Counts {
  /** Events per type. */
  byType: Record<string, number>;
  /** Sum of purchase amounts, in the base currency. */
  revenue: number;
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

/** All events of a window. */
export function eventsOf(c: Counts): number {
  return Object.values(c.byType).reduce((a, b) => a + b, 0);
}

/** The value of `kpi` (matching {@linkcode KPI}) in a window with counts `c`; null when it has none (0 / 0). */
export function kpiValue(kpi: string, c: Counts): number | null {
  const n = (type: string) => c.byType[type] ?? 0;
  const views = n("page_view") + n("product_view");
  switch (kpi) {
    case "events":
      return eventsOf(c);
    case "purchases":
      return n("purchase");
    case "revenue":
      return round(c.revenue, 2);
    case "page_views":
      return views;
    case "conversion_rate":
      return ratio(n("purchase"), views);
    case "cart_rate":
      return ratio(n("add_to_cart"), views);
    case "checkout_rate":
      return ratio(n("purchase"), n("add_to_cart"));
    case "aov":
      return n("purchase") > 0 ? round(c.revenue / n("purchase"), 2) : null;
    default:
      return n(kpi.slice("events.".length));
  }
}
