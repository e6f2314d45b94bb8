/**
 * Ingest: a request body of events is validated item by item; the valid ones are appended to the log
 * and the rejected ones to the dead letters, in one transaction, before the answer.
 * @module
 */
import { type Event, validateEvent } from "./event.ts";
import type { DeadLetter, EventLog } from "./event_log.ts";
import { HttpError } from "./http.ts";
import type { Metrics } from "./metrics.ts";

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

/** Validates and durably stores `items`; resolves once committed. */
export async function ingest(log: EventLog, items: unknown[], metrics: Metrics): Promise<IngestResult> {
  const valid: Event[] = [];
  const rejected: IngestResult["rejected"] = [];
  const letters: DeadLetter[] = [];
  items.forEach((item, index) => {
    const v = validateEvent(item);
    if (v.ok) valid.push(v.event);
    else {
      rejected.push({ index, error: v.error });
      letters.push({ stage: "ingest", reason: v.error, payload: item });
    }
  });
  const started = performance.now();
  const { stored, duplicates } = await log.append(valid, letters);
  metrics.observe(
    "db_commit_seconds",
    "Latency of durable commits to the event log",
    { op: "append" },
    (performance.now() - started) / 1000,
  );
  metrics.inc("events_received_total", "Items received for ingest", {}, items.length);
  metrics.inc("events_accepted_total", "Events new to the log", {}, stored);
  metrics.inc("events_duplicate_total", "Valid events whose event_id was already logged", {}, duplicates);
  metrics.inc("events_rejected_total", "Items rejected at ingest", {}, rejected.length);
  if (letters.length) {
    metrics.inc("dead_letters_total", "Items sent to the dead letters", { stage: "ingest" }, letters.length);
  }
  return { accepted: valid.length, rejected };
}
