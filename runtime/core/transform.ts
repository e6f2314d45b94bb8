/**
 * Transforms: items in a shape the runtime does not know, mapped to events by a plugin's `transform` (in its sandbox)
 * before the usual validation, for one route (`POST /v1/sources/<plugin>`) or one Kafka topic (`KAFKA_TRANSFORMS`).
 * What the transform refuses, or fails on, is dead-lettered with stage `transform:<plugin>`; what it makes is then
 * validated like any event (so a bad event it makes is dead-lettered with stage `ingest`, naming the transform).
 * @module
 */
import type { Event } from "./event.ts";
import type { DeadLetter } from "./event_log.ts";
import { type IngestResult, MAX_BATCH, validateItems } from "./ingest.ts";
import { HttpError } from "../http/errors.ts";
import type { Money } from "./money.ts";

/** The most events a transform may make of one item. */
export const MAX_EVENTS_PER_ITEM = 100;
/** The most events one request's (or Kafka message's) items may make together; the items past it are refused. */
export const MAX_EVENTS_PER_REQUEST = 10 * MAX_BATCH;

/** The items of a source's body: the items of an array, or the body itself (a webhook's object, whatever its keys). */
export function sourceItems(body: unknown): unknown[] {
  const items = Array.isArray(body) ? body : [body];
  if (items.length > MAX_BATCH) {
    throw new HttpError(413, `a request holds at most ${MAX_BATCH} items, got ${items.length}`);
  }
  return items;
}

/** What a transform made of one item: candidate events (none drops the item), or why it could not. */
export type TransformResult = { ok: true; events: unknown[] } | { ok: false; error: string };

/** A plugin's transform as the host calls it: one result per item, in order. */
export interface Transform {
  /** The plugin's name. */
  name: string;
  run(items: unknown[]): Promise<TransformResult[]>;
}

/** What items through a transform came to. */
export interface Transformed {
  valid: Event[];
  /** Per item: refused by the transform, or an event it made refused by validation. */
  rejected: IngestResult["rejected"];
  letters: DeadLetter[];
  /** Items the transform dropped (it made no event of them). */
  dropped: number;
}

/** Runs `items` through `transform`, then validates what it made; `where` names an item's place in dead letters. */
export async function transformItems(
  transform: Transform,
  items: unknown[],
  money: Money,
  where: (index: number) => Record<string, unknown> = () => ({}),
): Promise<Transformed> {
  const results = await transform.run(items);
  const candidates: unknown[] = [];
  const from: number[] = [];
  const rejected: IngestResult["rejected"] = [];
  const letters: DeadLetter[] = [];
  let dropped = 0;
  results.forEach((r, index) => {
    if (r.ok && candidates.length + r.events.length > MAX_EVENTS_PER_REQUEST) {
      r = { ok: false, error: `the request's items made over ${MAX_EVENTS_PER_REQUEST} events: send fewer at once` };
    }
    if (r.ok) {
      if (r.events.length === 0) dropped++;
      for (const e of r.events) {
        candidates.push(e);
        from.push(index);
      }
      return;
    }
    rejected.push({ index, error: `transform ${transform.name}: ${r.error}` });
    letters.push({
      stage: `transform:${transform.name}`,
      reason: r.error,
      payload: { ...where(index), item: items[index] },
    });
  });
  const checked = validateItems(candidates, money, (k) => ({ ...where(from[k]), transform: transform.name }));
  for (const r of checked.rejected) rejected.push({ index: from[r.index], error: r.error });
  rejected.sort((a, b) => a.index - b.index);
  return { valid: checked.valid, rejected, letters: [...letters, ...checked.letters], dropped };
}

/**
 * A sandbox's answer to a transform call, checked: the plugin's code writes it, so its shape is not trusted. Null when
 * it is not one result per item.
 */
export function parseResults(answer: unknown, items: number): TransformResult[] | null {
  if (!Array.isArray(answer) || answer.length !== items) return null;
  const results: TransformResult[] = [];
  for (const r of answer) {
    if (r === null || typeof r !== "object") return null;
    if (r.ok === true && Array.isArray(r.events)) {
      results.push(
        r.events.length > MAX_EVENTS_PER_ITEM
          ? { ok: false, error: `made ${r.events.length} events of one item, over ${MAX_EVENTS_PER_ITEM}` }
          : { ok: true, events: r.events },
      );
    } else if (r.ok === false && typeof r.error === "string") {
      results.push({ ok: false, error: r.error.slice(0, 2000) });
    } else return null;
  }
  return results;
}
