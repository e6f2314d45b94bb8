/** What stats keeps per session: its event count and the funnel steps it reached. */
export interface Session {
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

/** Combines the counts of two parts of one session (for the SDK's `mergeSessions`). */
export function combine(into: Session, from: Session): void {
  into.events += from.events;
  into.cart ||= from.cart;
  into.purchase ||= from.purchase;
  into.pages += from.pages;
}
