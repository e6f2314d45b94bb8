import type { Event } from "../../core/event.ts";

/** Where simulated events go, and when to hold back. */
export interface DriveOptions {
  /** Events per second. */
  rate: number;
  /** Stop after this many events (default: run until aborted). */
  count?: number;
  /** Receives each tick's events; resolves once they are stored. */
  sink: (events: Event[]) => Promise<void>;
  /** Back-pressure: while it answers true, no events are produced. */
  paused?: () => boolean;
  signal?: AbortSignal;
  /** Largest batch handed to the sink at once. */
  maxBatch?: number;
}

const TICK_MS = 100;

/** Where driven events come from: the live simulator, or a history's events in order. */
export interface EventSource {
  take(n: number): Event[];
}

/** Feeds `sim` into a sink at a steady rate, pausing under back-pressure. Resolves when done or aborted. */
export async function drive(sim: EventSource, opts: DriveOptions): Promise<number> {
  const maxBatch = opts.maxBatch ?? 1000;
  let sent = 0;
  let due = 0;
  let last = performance.now();
  while (!opts.signal?.aborted && (opts.count === undefined || sent < opts.count)) {
    await new Promise((r) => setTimeout(r, TICK_MS));
    const now = performance.now();
    if (opts.paused?.()) {
      last = now;
      continue;
    }
    due += (now - last) / 1000 * opts.rate;
    last = now;
    let n = Math.floor(due);
    if (opts.count !== undefined) n = Math.min(n, opts.count - sent);
    due -= n;
    while (n > 0) {
      const batch = sim.take(Math.min(n, maxBatch));
      n -= batch.length;
      try {
        await opts.sink(batch);
        sent += batch.length;
      } catch (e) {
        if (opts.signal?.aborted) break;
        throw e;
      }
    }
  }
  return sent;
}

/** A sink posting to a runtime's `/v1/events` over HTTP. */
export function httpSink(baseUrl: string, key?: string): (events: Event[]) => Promise<void> {
  return async (events) => {
    const res = await fetch(new URL("/v1/events", baseUrl), {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify(events),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(`POST /v1/events answered ${res.status}: ${body.error}`);
  };
}
