/**
 * `POST /api/fraud/score` as a checkout would call it: candidate purchases at a fixed rate against a store with
 * history, each timed from sending to its answer, once with the runtime otherwise idle and once while it ingests
 * events at a steady rate (the four plugins at work beside the scoring).
 * @module
 */
import type { Backend } from "../../tests/support/harness.ts";
import { paced, postAll } from "./load.ts";
import { BenchRuntime } from "./process.ts";
import type { Row } from "./scenarios.ts";

/** What one paced scoring run measured (ms); a request not answered 200 counts with its time, and among `failed`. */
interface ScoreRun {
  requests: number;
  failed: number;
  achievedRate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Scores `rate` candidates per second for `seconds`, one request every 1/rate s whether or not earlier ones were
 * answered (independent shoppers), for users of the simulated store.
 */
async function scoreAt(url: string, rate: number, seconds: number): Promise<ScoreRun> {
  const gap = 1000 / rate;
  const count = Math.round(rate * seconds);
  const latencies: number[] = [];
  let failed = 0;
  const started = performance.now();
  const requests: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = started + i * gap - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const candidate = {
      user_id: `u${(i * 7919) % 20_000}`,
      timestamp: new Date().toISOString(),
      properties: { amount: 20 + (i % 50) * 7.5, country: i % 9 === 0 ? "BR" : "US", device: "mobile" },
    };
    const sentAt = performance.now();
    requests.push(
      fetch(`${url}/api/fraud/score`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(candidate),
      }).then(async (res) => {
        await res.body?.cancel();
        if (!res.ok) failed++;
        latencies.push(performance.now() - sentAt);
      }),
    );
  }
  await Promise.all(requests);
  const elapsed = (performance.now() - started) / 1000;
  // The first second warms up (JIT, caches); it is not the steady state being measured.
  const steady = latencies.slice(rate).sort((a, b) => a - b);
  const at = (q: number) => Math.round(steady[Math.min(steady.length - 1, Math.floor(q * steady.length))] * 10) / 10;
  return {
    requests: count,
    failed,
    achievedRate: Math.round(count / elapsed),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: at(1),
  };
}

/**
 * Loads `history` events, then scores at `rate`/s for `seconds`: idle, and while ingesting `ingestRate` events/s.
 */
export async function fraudScore(
  name: string,
  backend: Backend,
  env: Record<string, string>,
  opts: { history: number; rate: number; seconds: number; ingestRate: number },
): Promise<Row[]> {
  const rt = await BenchRuntime.start(env);
  try {
    await postAll(rt.url, opts.history);
    await rt.committed(opts.history);
    const idle = await scoreAt(rt.url, opts.rate, opts.seconds);
    const [busy] = await Promise.all([
      scoreAt(rt.url, opts.rate, opts.seconds),
      paced(rt, opts.ingestRate, opts.seconds),
    ]);
    const line = (r: ScoreRun, beside: string): Row => ({
      scenario: `fraud score ${name} @ ${opts.rate}/s${beside}`,
      events: r.requests,
      seconds: opts.seconds,
      eventsPerSecond: null,
      summary: `POST /api/fraud/score answered: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms ` +
        `(${r.achievedRate} requests/s${r.failed > 0 ? `; ${r.failed} not answered 200` : ""})`,
      details: { ...r, backend: backend.name, historyEvents: opts.history },
    });
    return [line(idle, ""), line(busy, `, ingesting ${opts.ingestRate} events/s`)];
  } finally {
    await rt.stop();
  }
}
