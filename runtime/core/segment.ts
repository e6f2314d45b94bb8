/**
 * Segment-compatible ingestion: the messages of Segment's (and RudderStack's) HTTP tracking API mapped to
 * canonical event candidates, which then go through the same validation and sink as `/v1/events`.
 * @module
 */
import type { DeadLetter } from "./event_log.ts";
import { HttpError } from "../http/errors.ts";
import { countRejected, type IngestResult, MAX_BATCH, rejectReason, type Sink, validateItems } from "./ingest.ts";
import type { MetricsRegistry } from "../observability/metrics.ts";
import type { Money } from "./money.ts";

/** The message types of Segment's spec, each with its own route (`/v1/track`, ...) besides `/v1/batch`. */
export const SEGMENT_CALLS = ["track", "page", "screen", "identify", "group", "alias"] as const;
/** One of {@linkcode SEGMENT_CALLS}. */
export type SegmentCall = typeof SEGMENT_CALLS[number];

/** Segment's e-commerce, authentication and video spec event names (snake_cased) → our known types. */
export const SPEC_EVENT_TYPES: Record<string, string> = {
  product_viewed: "product_view",
  product_added: "add_to_cart",
  product_removed: "remove_from_cart",
  checkout_started: "checkout",
  order_completed: "purchase",
  products_searched: "search",
  signed_in: "login",
  signed_out: "logout",
  signed_up: "signup",
  video_playback_started: "video_play",
  video_content_playing: "video_progress",
  video_playback_completed: "video_complete",
};

type Obj = Record<string, unknown>;
/** Whether `v` is a JSON object (not null, not an array). */
export const isObject = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** A message mapped to a candidate event (still to validate), or why it cannot be. */
export type Mapped = { ok: true; item: Obj } | { ok: false; error: string };

/**
 * The messages of a request body: `{ "batch": [...] }` on `/v1/batch` (its top-level `context` merged under each
 * message's, its `sentAt` a fallback time), or one message on `/v1/<call>`, whose type is the route's.
 */
export function segmentMessages(body: unknown, call: SegmentCall | "batch"): unknown[] {
  if (!isObject(body)) throw new HttpError(400, "body must be a JSON object");
  if (call !== "batch") return [{ ...body, type: call }];
  if (!Array.isArray(body.batch)) throw new HttpError(400, "batch must be an array of messages");
  if (body.batch.length > MAX_BATCH) {
    throw new HttpError(413, `a batch holds at most ${MAX_BATCH} messages, got ${body.batch.length}`);
  }
  return body.batch.map((m) => {
    if (!isObject(m)) return m;
    const merged: Obj = { ...m };
    if (isObject(body.context)) merged.context = deepMerge(body.context, isObject(m.context) ? m.context : {});
    if (merged.sentAt === undefined && body.sentAt !== undefined) merged.sentAt = body.sentAt;
    return merged;
  });
}

/** `over` merged onto `under`, nested objects merged too (to a few levels: context is shallow, input hostile). */
function deepMerge(under: Obj, over: Obj, depth = 0): Obj {
  const out: Obj = { ...under };
  for (const [k, v] of Object.entries(over)) {
    out[k] = depth < 3 && isObject(v) && isObject(out[k]) ? deepMerge(out[k], v, depth + 1) : v;
  }
  return out;
}

/** `"Order Completed"`, `"orderCompleted"`, `"order-completed"` → `"order_completed"`. */
export function snakeCase(name: string): string {
  return name.trim().replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase().replace(/[^a-z0-9.]+/g, "_")
    .replace(/^_+|_+$/g, "");
}

/** Maps one Segment message to a canonical event candidate; `receivedAt` is its time when it carries none. */
export function segmentToEvent(message: unknown, receivedAt: string): Mapped {
  if (!isObject(message)) return { ok: false, error: "message must be a JSON object" };
  const { type: call, messageId, context = {} } = message;
  if (typeof call !== "string" || !(SEGMENT_CALLS as readonly string[]).includes(call)) {
    return { ok: false, error: `type: must be one of ${SEGMENT_CALLS.join(", ")}, got ${JSON.stringify(call)}` };
  }
  if (messageId === undefined) return { ok: false, error: "messageId: is required (events are de-duplicated by it)" };
  if (typeof messageId !== "string") return { ok: false, error: "messageId: must be a string" };
  const user = [message.userId, message.anonymousId].find((id) => id !== undefined && id !== null && id !== "");
  if (user === undefined) return { ok: false, error: "userId or anonymousId is required" };
  if (!isObject(context)) return { ok: false, error: "context: must be an object" };
  const sent = message.properties ?? {};
  if (!isObject(sent)) return { ok: false, error: "properties: must be an object" };
  const properties: Obj = { ...sent };

  let type: string;
  if (call === "track") {
    if (typeof message.event !== "string" || message.event === "") {
      return { ok: false, error: "event: a track message needs the event's name" };
    }
    const name = snakeCase(message.event);
    type = SPEC_EVENT_TYPES[name] ?? name;
    if (!/^[a-z][a-z0-9_.]{0,63}$/.test(type)) {
      return { ok: false, error: `event: '${message.event}' does not make a type matching [a-z][a-z0-9_.]{0,63}` };
    }
    mapTrackProperties(type, properties);
  } else if (call === "page" || call === "screen") {
    type = call === "page" ? "page_view" : "screen_view";
    const page = isObject(context.page) ? context.page : {};
    properties.page ??= [sent.path, sent.url, page.path, page.url].find((p) => typeof p === "string");
    if (properties.page === undefined) delete properties.page;
    if (typeof message.name === "string") properties.name ??= message.name;
  } else if (call === "identify" || call === "group") {
    type = call;
    if (message.traits !== undefined) properties.traits = message.traits;
    if (call === "group" && message.groupId !== undefined) properties.group_id = message.groupId;
  } else {
    type = "alias";
    if (message.previousId !== undefined) properties.previous_id = message.previousId;
  }

  // A message with both ids links them (identity.ts): analytics.js sends both on every call after identify().
  const anonymous = message.anonymousId;
  if (user !== anonymous && (typeof anonymous === "string" && anonymous !== "" || typeof anonymous === "number")) {
    properties.anonymous_id ??= String(anonymous);
  }
  if (typeof properties.previous_id === "number") properties.previous_id = String(properties.previous_id);

  const location = isObject(context.location) ? context.location : {};
  if (typeof location.country === "string" && /^[a-z]{2}$/i.test(location.country)) {
    properties.country ??= location.country.toUpperCase();
  }
  const device = isObject(context.device) ? context.device : {};
  if (typeof device.type === "string") properties.device ??= device.type;

  const timestamp = message.timestamp ?? message.originalTimestamp ?? message.sentAt ?? receivedAt;
  return {
    ok: true,
    item: { event_id: messageId, type, user_id: typeof user === "number" ? String(user) : user, timestamp, properties },
  };
}

/** Renames a track's spec properties in place to ours: products → items, revenue/total → amount, sku → product_id. */
function mapTrackProperties(type: string, p: Obj): void {
  if (typeof p.currency === "string") p.currency = p.currency.toUpperCase();
  if (typeof p.product_id === "number") p.product_id = String(p.product_id);
  p.product_id ??= p.sku;
  if (p.product_id === undefined) delete p.product_id;
  if (Array.isArray(p.products)) {
    p.items = p.products.map((product) => {
      if (!isObject(product)) return product;
      const id = product.product_id ?? product.sku;
      const item: Obj = { ...product, quantity: product.quantity ?? 1 };
      if (id !== undefined) item.product_id = typeof id === "number" ? String(id) : id;
      return item;
    });
    delete p.products;
  }
  if (type === "purchase") p.amount ??= p.revenue ?? p.total;
  if (type.startsWith("video_")) {
    p.video_id ??= p.content_asset_id ?? p.asset_id;
    p.position_s ??= p.position;
    p.duration_s ??= p.total_length;
  }
  for (const k of ["amount", "video_id", "position_s", "duration_s"]) if (p[k] === undefined) delete p[k];
}

/** Maps and validates `messages`, hands them to `sink` like `/v1/events` does, and answers per message. */
export async function ingestSegment(
  sink: Sink,
  messages: unknown[],
  metrics: MetricsRegistry,
  money: Money,
  receivedAt = new Date().toISOString(),
): Promise<IngestResult & { success: true }> {
  const mapped = messages.map((m) => segmentToEvent(m, receivedAt));
  const indexes = mapped.flatMap((m, i) => m.ok ? [i] : []);
  const checked = validateItems(mapped.flatMap((m) => m.ok ? [m.item] : []), money);
  const rejected = checked.rejected.map((r) => ({ index: indexes[r.index], error: r.error }));
  const letters: DeadLetter[] = [...checked.letters];
  mapped.forEach((m, index) => {
    if (m.ok) return;
    rejected.push({ index, error: m.error });
    letters.push({ stage: "ingest", reason: m.error, payload: messages[index] });
  });
  rejected.sort((a, b) => a.index - b.index);
  await sink(checked.valid, letters);
  metrics.inc("events_received_total", "Items received for ingest", {}, messages.length);
  countRejected(metrics, rejected.map((r) => rejectReason(r.error)));
  return { success: true, accepted: checked.valid.length, rejected };
}
