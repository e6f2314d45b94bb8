/**
 * Ingest: a request body of events is validated item by item; the valid ones are appended to the log
 * and the rejected ones to the dead letters, in one transaction, before the answer.
 * @module
 */
import { fromFlatShape } from "./shapes.ts";
import { inBaseCurrency, type Money } from "./money.ts";
import { type Event, validateEvent } from "./event.ts";
import type { DeadLetter } from "./event_log.ts";
import { HttpError } from "../http/errors.ts";
import type { MetricsRegistry } from "../observability/metrics.ts";

/** The largest request body accepted on `/v1/events`. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** The most events in one request. */
export const MAX_BATCH = 1000;

/** The answer to an ingest request. */
export interface IngestResult {
  /** Valid items durably stored, duplicates included. */
  accepted: number;
  rejected: { index: number; error: string }[];
}

/** The items of a body: one event, an array of events, or `{ "events": [...] }`. */
export function batchItems(body: unknown): unknown[] {
  let items: unknown[];
  if (Array.isArray(body)) items = body;
  else if (body !== null && typeof body === "object" && "events" in body) {
    const events = (body as { events: unknown }).events;
    if (!Array.isArray(events)) throw new HttpError(400, "events must be an array");
    items = events;
  } else items = [body];
  if (items.length > MAX_BATCH) {
    throw new HttpError(413, `a request holds at most ${MAX_BATCH} events, got ${items.length}`);
  }
  return items;
}

/** Why an item was rejected at ingest: the `reason` label of `events_rejected_total`. */
export const REJECT_REASONS = [
  "schema",
  "too_large",
  "too_deep",
  "encoding",
  "not_json",
  "empty",
  "transform",
] as const;
/** One of {@linkcode REJECT_REASONS}. */
export type RejectReason = typeof REJECT_REASONS[number];

/** The class of a validation error from {@linkcode validateEvent}. */
export function rejectReason(error: string): RejectReason {
  if (error.startsWith("transform ")) return "transform";
  if (error.startsWith("event nests deeper")) return "too_deep";
  if (/^event is \d+ bytes/.test(error)) return "too_large";
  if (error.startsWith("strings must")) return "encoding";
  return "schema";
}

/** Counts rejected items in `events_rejected_total{reason}`. */
export function countRejected(metrics: MetricsRegistry, reasons: RejectReason[]): void {
  for (const reason of reasons) metrics.inc("events_rejected_total", "Items rejected at ingest, by reason", { reason });
}

/** Where validated events and rejected items go: the log, or Kafka (rejects still to the log's dead letters). */
export type Sink = (events: Event[], deadLetters: DeadLetter[]) => Promise<unknown>;

/** Splits untrusted items into valid events and rejections (with their dead letters). */
export function validateItems(
  items: unknown[],
  money: Money,
  where: (index: number) => Record<string, unknown> = () => ({}),
) {
  const valid: Event[] = [];
  const rejected: IngestResult["rejected"] = [];
  const letters: DeadLetter[] = [];
  items.forEach((item, index) => {
    const checked = validateEvent(fromFlatShape(item)); // a rejected item is kept as sent, not as mapped
    const v = checked.ok ? inBaseCurrency(checked.event, money) : checked;
    if (v.ok) valid.push(v.event);
    else {
      rejected.push({ index, error: v.error });
      const context = where(index);
      letters.push({
        stage: "ingest",
        reason: v.error,
        payload: Object.keys(context).length ? { ...context, item } : item,
      });
    }
  });
  return { valid, rejected, letters };
}

/** Validates `items` and hands them to `sink`; resolves once the sink has them durably. */
export async function ingest(
  sink: Sink,
  items: unknown[],
  metrics: MetricsRegistry,
  money: Money,
): Promise<IngestResult> {
  const { valid, rejected, letters } = validateItems(items, money);
  await sink(valid, letters);
  metrics.inc("events_received_total", "Items received for ingest", {}, items.length);
  countRejected(metrics, rejected.map((r) => rejectReason(r.error)));
  return { accepted: valid.length, rejected };
}
