/**
 * The analytics queries people run on a long history: a runtime with stats and funnel takes `events` of simulated history
 * (users joining, returning and leaving over 60 days: `simulateHistory`, made and posted 2,000 users at a time so that
 * memory stays flat), then each query is asked {@linkcode REPEATS} times, one at a time, and timed from request to
 * answer. A query's row gives its median and 95th percentile.
 * @module
 */
import type { Event } from "../../runtime/core/event.ts";
import { simulateHistory } from "../../runtime/sources/simulator/history.ts";
import { type Backend, pluginsFolder, REPO } from "../../tests/support/harness.ts";
import { BenchRuntime, round } from "./process.ts";
import { freshEnv, type Row } from "./scenarios.ts";

/** How many times each query is asked; {@linkcode FEW_REPEATS} when its first answer took over {@linkcode SLOW_MS}. */
const REPEATS = 20;
const FEW_REPEATS = 3;
const SLOW_MS = 5_000;

/** The history's first day, and how many days it spans. */
const START = "2026-01-01";
const DAYS = 60;

/** The queries, by name: stats' and funnel's routes with what they are asked. */
const QUERIES: Record<string, string> = {
  "retention, last 8 days": "/api/stats/retention",
  "retention, 60 days by day, 30 periods": `/api/stats/retention?periods=30&from=${START}&to=2026-03-02`,
  "retention, 60 days by week": `/api/stats/retention?interval=week&periods=8&from=${START}&to=2026-03-02`,
  "retention back with a purchase, 14 days": "/api/stats/retention?periods=14&return_event=purchase",
  "retention from the first purchase, by week": "/api/stats/retention?interval=week&periods=6&start_event=purchase",
  "paths after a product view, 4 deep": "/api/funnel/paths?event=product_view&depth=4",
  "paths before a purchase, 60 days, 6 deep":
    `/api/funnel/paths?event=purchase&direction=previous&depth=6&from=${START}`,
  "paths after a search, last 7 days": "/api/funnel/paths?event=search&from=2026-02-23",
  "paths after a search, from a time of day": "/api/funnel/paths?event=search&from=2026-02-23T12:00:00Z",
  "paths after a product view, 60 days from a time of day":
    "/api/funnel/paths?event=product_view&from=2026-01-01T06:00:00Z",
  "overview by country, last 24 hours": "/api/stats/overview?breakdown=country&from=2026-03-01T00:00:00Z",
  "overview by device, filtered, last 7 days":
    "/api/stats/overview?breakdown=device&where=country:eq:DE&from=2026-02-23T00:00:00Z",
  "events per hour by country, last 7 days":
    "/api/stats/timeseries?bucket=hour&breakdown=country&breakdown_limit=5&from=2026-02-23T00:00:00Z&to=2026-03-02",
  "overview by category, 60 days": "/api/stats/overview?breakdown=category",
  "top products by revenue, last 7 days from a time of day":
    "/api/stats/products?sort=revenue&from=2026-02-23T12:00:00Z",
  "top products by views, 60 days from a time of day":
    "/api/stats/products?from=2026-01-01T06:00:00Z&to=2026-03-01T18:30:00Z",
  "videos, last 7 days from a time of day": "/api/stats/videos?from=2026-02-23T12:00:00Z",
  "videos, 60 days": `/api/stats/videos?from=${START}`,
  "funnel report, view to purchase, last 24 hours": "/api/funnel/definitions/shop/report?from=2026-03-01T00:00:00Z",
  "funnel report, view to purchase, last 7 days": "/api/funnel/definitions/shop/report?from=2026-02-23T00:00:00Z",
  "funnel report by country, filtered by device, last 7 days":
    "/api/funnel/definitions/shop/report?from=2026-02-23T00:00:00Z&breakdown=country&where=device:eq:mobile",
  "funnel report by country, 60 days": "/api/funnel/definitions/shop/report?breakdown=country",
};

/** The custom funnel the reports above read. */
const SHOP = { name: "shop", steps: ["product_view", "add_to_cart", "checkout", "purchase"] };

/** Loads about `events` events of history into a fresh database, then times each of {@linkcode QUERIES}. */
export async function queries(name: string, backend: Backend, events: number): Promise<Row[]> {
  const env = await freshEnv(backend);
  const plugins = new URL("plugins/", REPO);
  env.PLUGINS_DIR = await pluginsFolder([{ name: "stats", from: plugins }, { name: "funnel", from: plugins }]);
  const rt = await BenchRuntime.start(env);
  const rows: Row[] = [];
  try {
    const started = performance.now();
    let sent = 0;
    for (let chunk = 0; sent < events; chunk++) {
      const { events: history } = simulateHistory({
        seed: chunk + 1,
        users: 2_000,
        start: new Date(`${START}T00:00:00Z`),
        days: DAYS,
        userPrefix: `c${chunk}-`,
      });
      sent += await post(rt.url, history.slice(0, events - sent));
    }
    const { head } = await rt.progress(); // duplicates in the history are logged once
    await rt.committed(head);
    const loadSeconds = (performance.now() - started) / 1000;
    // What the history takes in each plugin's schema, against its storage quota.
    const { plugins } = await (await fetch(`${rt.url}/api/plugins`)).json() as {
      plugins: { name: string; storage_bytes: number }[];
    };
    const storageMb = Object.fromEntries(plugins.map((p) => [p.name, round(p.storage_bytes / 2 ** 20)]));
    const saved = await fetch(`${rt.url}/api/funnel/definitions`, { method: "POST", body: JSON.stringify(SHOP) });
    if (saved.status !== 201) throw new Error(`POST /api/funnel/definitions: ${saved.status} ${await saved.text()}`);
    await saved.body?.cancel();
    for (const [query, path] of Object.entries(QUERIES)) {
      // A breakdown over more events than stats reads in one request (`maxScanEvents`) is refused, and a query past
      // its plugin's time limit fails: a row saying so, and the next query.
      const failed = async (res: Response, started: number, ask: number) => {
        const { error } = await res.json();
        const ms = Math.round(performance.now() - started);
        const what = `${res.status === 400 ? "refused" : "failed"} (${res.status}) after ${ms} ms`;
        rows.push({
          scenario: `query ${name}: ${query}`,
          events: head,
          seconds: round(loadSeconds),
          eventsPerSecond: null,
          summary: `${what}${ask > 1 ? ` on ask ${ask}` : ""}: ${error}`,
          details: { path, status: res.status, error, ms, loadSeconds: round(loadSeconds), storageMb },
        });
      };
      const asked = performance.now();
      const first = await fetch(`${rt.url}${path}`);
      if (!first.ok) {
        await failed(first, asked, 1);
        continue;
      }
      await first.body?.cancel();
      // A query slower than SLOW_MS is asked fewer times, so that one slow query cannot hold the run for an hour.
      const repeats = performance.now() - asked > SLOW_MS ? FEW_REPEATS : REPEATS;
      const ms: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const t = performance.now();
        const res = await fetch(`${rt.url}${path}`);
        if (!res.ok) {
          await failed(res, t, i + 2);
          break;
        }
        await res.body?.cancel();
        ms.push(performance.now() - t);
      }
      if (ms.length < repeats) continue;
      ms.sort((a, b) => a - b);
      const p50 = ms[Math.floor(repeats / 2)];
      const p95 = ms[Math.ceil(repeats * 0.95) - 1];
      rows.push({
        scenario: `query ${name}: ${query}`,
        events: head,
        seconds: round(loadSeconds),
        eventsPerSecond: null,
        summary: `p50 ${Math.round(p50)} ms, p95 ${Math.round(p95)} ms (${repeats} asks, one at a time)`,
        details: { path, p50Ms: round(p50), p95Ms: round(p95), loadSeconds: round(loadSeconds), storageMb },
      });
    }
  } finally {
    await rt.stop();
  }
  return rows;
}

/** Posts `events` in requests of 1,000, four at a time; answers how many were accepted. */
async function post(url: string, events: Event[]): Promise<number> {
  let next = 0;
  let accepted = 0;
  const worker = async () => {
    while (next < events.length) {
      const batch = events.slice(next, next += 1000);
      const res = await fetch(`${url}/v1/events`, { method: "POST", body: JSON.stringify(batch) });
      if (!res.ok) throw new Error(`POST /v1/events: ${res.status} ${await res.text()}`);
      const { accepted: n } = await res.json(); // not `accepted += await …`: that adds to the value before the wait
      accepted += n;
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return accepted;
}
