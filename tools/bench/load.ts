/**
 * Load for the benchmarks: simulated events posted as fast as the runtime takes them, or at a fixed rate with
 * the latency from ingest to committed by every plugin measured per request.
 * @module
 */
import type { Event } from "../../runtime/core/event.ts";
import { Simulator } from "../../runtime/sources/simulator/mod.ts";
import type { BenchRuntime } from "./process.ts";

/** Events per request when posting as fast as possible. */
const BATCH = 1000;

/**
 * The share of sessions that start signed out and are linked at login (`BENCH_ANONYMOUS`, default 0): with it, the
 * figures include resolving identities and the plugins' merges.
 */
const ANONYMOUS = Number(Deno.env.get("BENCH_ANONYMOUS") ?? 0);

/** Deterministic simulated traffic: `count` events in batches of `size`, made as they are needed. */
export function* batches(count: number, size = BATCH, seed = 42): Generator<Event[]> {
  const sim = new Simulator({ seed, users: 20_000, concurrency: 200, anonymous: ANONYMOUS });
  for (let sent = 0; sent < count; sent += size) yield sim.take(Math.min(size, count - sent));
}

/**
 * Posts `count` events (simulated with `seed`) with `concurrency` requests in flight, to `url` or spread over several
 * runtimes' `url`s; answers how many were accepted.
 */
export async function postAll(url: string | string[], count: number, concurrency = 4, seed = 42): Promise<number> {
  const urls = [url].flat();
  const source = batches(count, BATCH, seed);
  let accepted = 0;
  const worker = async (i: number) => {
    const to = urls[i % urls.length];
    for (let next = source.next(); !next.done; next = source.next()) {
      const n = await post(to, next.value); // not `accepted += await …`: that adds to the value before the wait
      accepted += n;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
  return accepted;
}

/**
 * Posts `count` events at `rate` per second, one request every `tickMs` whether or not earlier ones were answered (as
 * independent clients do), to the `urls` in turn; answers how many were accepted.
 */
export async function postPaced(urls: string[], count: number, rate: number, tickMs = 50, seed = 42): Promise<number> {
  const source = batches(count, Math.max(1, Math.round(rate * tickMs / 1000)), seed);
  const accepted = await everyTick(source, tickMs, (events, i) => post(urls[i % urls.length], events));
  return accepted.reduce((a, b) => a + b, 0);
}

/** Calls `send` with each of `source`'s batches, one every `tickMs`, not waiting for the answers; answers them all. */
async function everyTick<T>(
  source: Iterable<Event[]>,
  tickMs: number,
  send: (events: Event[], i: number) => Promise<T>,
): Promise<T[]> {
  const started = performance.now();
  const requests: Promise<T>[] = [];
  for (const events of source) {
    const wait = started + requests.length * tickMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    requests.push(send(events, requests.length));
  }
  return await Promise.all(requests);
}

async function post(url: string, events: Event[]): Promise<number> {
  const res = await fetch(`${url}/v1/events`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(events),
  });
  const body = await res.json();
  if (!res.ok || body.rejected.length > 0) throw new Error(`ingest answered ${res.status}: ${JSON.stringify(body)}`);
  return body.accepted;
}

/** What a paced run measured. */
export interface PacedResult {
  rate: number;
  achievedRate: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Whether every request was committed by every plugin within the wait after the run. */
  keptUp: boolean;
}

/**
 * Posts `rate` events per second for `seconds`, one request every `tickMs` whether or not earlier ones were
 * answered (as independent clients do), and measures for each request the time from sending it until every
 * plugin has committed its events (polling `/api/plugins` every `pollMs`). Its events lie at or below the
 * number of events sent when its answer arrives, so waiting for that position errs on the slow side. Positions
 * are counted from the log's head at the start: this must be the only writer.
 */
export async function paced(
  rt: BenchRuntime,
  rate: number,
  seconds: number,
  tickMs = 50,
  pollMs = 5,
): Promise<PacedResult> {
  const perTick = Math.max(1, Math.round(rate * tickMs / 1000));
  const ticks = Math.round(seconds * 1000 / tickMs);
  const source = batches(perTick * ticks, perTick, rate);
  let sent = (await rt.progress()).head;
  const pending: { upTo: number; sentAt: number }[] = [];
  const latencies: number[] = [];
  let sending = true;
  const poller = (async () => {
    while (sending || pending.length > 0) {
      const { committed } = await rt.progress();
      const now = performance.now();
      while (pending.length > 0 && pending[0].upTo <= committed) latencies.push(now - pending.shift()!.sentAt);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  })();
  const started = performance.now();
  const requests = await everyTick(source, tickMs, (events) => {
    const sentAt = performance.now();
    sent += events.length;
    return post(rt.url, events).then(() => void pending.push({ upTo: sent, sentAt }));
  });
  const elapsed = (performance.now() - started) / 1000;
  sending = false;
  const keptUp = await Promise.race([
    poller.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 60_000)),
  ]);
  pending.length = 0; // stops the poller if it did not keep up
  await poller;
  // The first second warms up (JIT, caches); it is not the steady state being measured.
  const steady = latencies.slice(Math.ceil(1000 / tickMs)).sort((a, b) => a - b);
  const at = (q: number) =>
    steady.length ? Math.round(steady[Math.min(steady.length - 1, Math.floor(q * steady.length))]) : NaN;
  return {
    rate,
    achievedRate: Math.round(perTick * requests.length / elapsed),
    requests: requests.length,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: steady.length ? Math.round(steady[steady.length - 1]) : NaN,
    keptUp,
  };
}
