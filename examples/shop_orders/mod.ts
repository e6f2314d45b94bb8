/**
 * `shop_orders`: a source rather than an analysis. Shopify's `orders/create` webhook, pointed at
 * `POST /v1/sources/shop_orders` (or a Kafka topic given to it in `KAFKA_TRANSFORMS`), becomes a purchase per order,
 * under the customer's id, in the order's currency (the host converts it to the base currency). Test orders are dropped;
 * an order with no customer, or anything that is not an order, is refused with the reason and dead-lettered.
 * @module
 */
import { z } from "zod";
import { definePlugin, type Event } from "@runtime/sdk";

const Id = z.union([z.number(), z.string().min(1)]);
const Money = z.string().regex(/^\d+(\.\d+)?$/, "must be a decimal amount in a string, like '19.90'");

/** The part of Shopify's order (REST Admin API, `orders/create` webhook) the transform reads. */
export const Order = z.object({
  id: Id,
  created_at: z.string(),
  currency: z.string().length(3),
  total_price: Money,
  test: z.boolean().optional(),
  customer: z.object({ id: Id }).nullable().optional(),
  billing_address: z.object({ country_code: z.string().nullable().optional() }).nullable().optional(),
  line_items: z.array(z.object({
    sku: z.string().nullable().optional(),
    product_id: Id.nullable().optional(),
    price: Money,
    quantity: z.number().int().min(1),
  })),
});

/** One order as the purchase it records. */
export function purchaseOf(order: z.infer<typeof Order>): Omit<Event, "position"> {
  if (!order.customer) throw new Error("a guest order has no customer id to count it under");
  const country = order.billing_address?.country_code;
  return {
    event_id: `shopify-order-${order.id}`,
    type: "purchase",
    user_id: `shopify-${order.customer.id}`,
    timestamp: order.created_at,
    properties: {
      order_id: String(order.id),
      amount: Number(order.total_price),
      currency: order.currency.toUpperCase(),
      ...(country ? { country } : {}),
      items: order.line_items.map((line) => ({
        product_id: String(line.sku || line.product_id || "unknown"),
        price: Number(line.price),
        quantity: line.quantity,
      })),
    },
  };
}

export default definePlugin({
  name: "shop_orders",
  version: "1.0.0",
  subscribes: [],
  transform(item) {
    const parsed = Order.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`not a Shopify order: ${issue.path.join(".") || "the body"}: ${issue.message}`);
    }
    return parsed.data.test ? null : purchaseOf(parsed.data);
  },
});
