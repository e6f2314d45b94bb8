/**
 * Instrumentation for `/metrics` beyond what the log and the plugins count themselves: database latency by store,
 * HTTP requests by route, and the process (memory, CPU, start time, versions).
 * @module
 */
import type { MiddlewareHandler } from "hono";
import process from "node:process";
import type { MetricsRegistry } from "./metrics.ts";
import type { Sql, Store } from "../store/mod.ts";

/**
 * The store with every statement and transaction timed: `db_query_seconds{store, op}` (`op` is `query`, `exec` or
 * `transaction`) and `db_errors_total{store, op}`. A transaction's time includes its statements and its commit.
 */
export function timedStore(store: Store, metrics: MetricsRegistry): Store {
  const labels = (op: string) => ({ store: store.kind, op });
  const timed = async <T>(op: string, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await run();
    } catch (e) {
      metrics.inc("db_errors_total", "Database statements and transactions that failed", labels(op));
      throw e;
    } finally {
      metrics.observe(
        "db_query_seconds",
        "Database latency by store and operation",
        labels(op),
        (performance.now() - started) / 1000,
      );
    }
  };
  for (const op of ["query", "exec", "transaction"]) {
    metrics.inc("db_errors_total", "Database statements and transactions that failed", labels(op), 0);
  }
  const wrap = (sql: Sql): Sql => ({
    query: (text, params, opts) => timed("query", () => sql.query(text, params, opts)),
    exec: (text, opts) => timed("exec", () => sql.exec(text, opts)),
  });
  return {
    kind: store.kind,
    ...wrap(store),
    transaction: (fn, opts) => timed("transaction", () => store.transaction((tx) => fn(wrap(tx)), opts)),
    close: () => store.close(),
  };
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * Counts and times every request: `http_requests_total{method, route, status}` and `http_request_seconds{route}`,
 * where `route` is the matched route's pattern (a plugin's routes are `/api/:plugin/*`), so that made-up paths and
 * methods cannot create new series. A stream's time is the time to its first byte.
 */
export function httpMetrics(metrics: MetricsRegistry): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = c.res.status === 404 && c.req.routePath.endsWith("*") && !c.req.routePath.includes(":plugin")
        ? "unmatched"
        : c.req.routePath.replace(/\{[^}]*\}/g, "");
      const method = METHODS.has(c.req.method) ? c.req.method : "OTHER";
      metrics.inc("http_requests_total", "HTTP requests by method, route and status", {
        method,
        route,
        status: String(c.res.status),
      });
      metrics.observe("http_request_seconds", "HTTP latency by route", { route }, (performance.now() - started) / 1000);
    }
  };
}

/** What {@linkcode processMetrics} reports about the runtime. */
export interface RuntimeInfo {
  store: string;
  source: string;
}

/**
 * Gauges of the process, read at each scrape: resident memory, V8 heap, CPU time, start time (uptime is
 * `time() - process_start_time_seconds`), and `runtime_info` with the Deno and V8 versions, store and source.
 */
export function processMetrics(metrics: MetricsRegistry, info: RuntimeInfo): void {
  const started = Date.now() / 1000 - performance.now() / 1000;
  metrics.set("process_start_time_seconds", "When the process started (Unix time, seconds)", {}, started);
  metrics.set(
    "runtime_info",
    "The runtime's versions and its store and source (always 1)",
    { deno: Deno.version.deno, v8: Deno.version.v8, typescript: Deno.version.typescript, ...info },
    1,
  );
  let cpuSeconds = 0;
  metrics.collect(() => {
    const memory = Deno.memoryUsage();
    const cpu = process.cpuUsage();
    const now = (cpu.user + cpu.system) / 1e6;
    metrics.inc("process_cpu_seconds_total", "User and system CPU time of the host process", {}, now - cpuSeconds);
    cpuSeconds = now;
    metrics.set("process_resident_memory_bytes", "Resident memory of the host process", {}, memory.rss);
    metrics.set("process_heap_used_bytes", "V8 heap used by the host process", {}, memory.heapUsed);
    metrics.set("process_heap_total_bytes", "V8 heap reserved by the host process", {}, memory.heapTotal);
    metrics.set("process_external_memory_bytes", "Memory outside the V8 heap (buffers)", {}, memory.external);
  });
}

/** What {@linkcode progressMetrics} reads. */
export interface Progress {
  eventLog: { head: number; watermark: string | null };
  plugins: { list(): { name: string; checkpoint: number }[] };
}

/**
 * Gauges of progress, read at each scrape: the log's head and watermark (event time, Unix seconds) and each plugin's
 * checkpoint; and every plugin's counters and each rejection reason at 0 from the start, so that `rate()` and
 * `increase()` see their first failure.
 */
export function progressMetrics(metrics: MetricsRegistry, progress: Progress, rejectReasons: readonly string[]): void {
  for (const reason of rejectReasons) {
    metrics.inc("events_rejected_total", "Items rejected at ingest, by reason", { reason }, 0);
  }
  for (const { name } of progress.plugins.list()) {
    const plugin = { plugin: name };
    metrics.inc("plugin_events_processed_total", "Events committed by each plugin", plugin, 0);
    metrics.inc("plugin_batch_failures_total", "Failed plugin batches", plugin, 0);
    metrics.inc("plugin_restarts_total", "Plugin sandbox restarts", plugin, 0);
    metrics.inc("plugin_scheduled_failures_total", "Failed scheduled runs", plugin, 0);
  }
  for (const stage of ["ingest", ...progress.plugins.list().map((p) => `plugin:${p.name}`)]) {
    metrics.inc("dead_letters_total", "Items sent to the dead letters", { stage }, 0);
    metrics.inc("dead_letters_replayed_total", "Dead letters replayed", { stage }, 0);
  }
  metrics.collect(() => {
    const { head, watermark } = progress.eventLog;
    metrics.set("log_head_position", "The last position in the event log known to this process", {}, head);
    if (watermark !== null) {
      metrics.set(
        "log_watermark_seconds",
        "The latest event time committed to the log (Unix time, seconds)",
        {},
        Date.parse(watermark) / 1000,
      );
    }
    for (const p of progress.plugins.list()) {
      metrics.set(
        "plugin_checkpoint_position",
        "The last log position each plugin committed",
        { plugin: p.name },
        p.checkpoint,
      );
    }
  });
}
