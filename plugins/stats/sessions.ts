import { SESSION_GAP_MS } from "@runtime/sdk";

/** A session as an interval of event time with its event count and the funnel steps it reached. */
export interface Interval {
  start: number;
  end: number;
  events: number;
  /** It holds an add_to_cart. */
  cart: boolean;
  /** It holds a purchase. */
  purchase: boolean;
  /** Its page views (page_view and product_view). */
  pages: number;
}

/**
 * Merges intervals (existing sessions and single new events) into sessions: any two closer than
 * {@linkcode SESSION_GAP_MS} become one. Order-independent, so late events land exactly.
 */
export function mergeSessions(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.start - last.end < SESSION_GAP_MS) {
      last.end = Math.max(last.end, i.end);
      last.events += i.events;
      last.cart ||= i.cart;
      last.purchase ||= i.purchase;
      last.pages += i.pages;
    } else out.push({ ...i });
  }
  return out;
}
