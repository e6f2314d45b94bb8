/**
 * `deno task start`: the runtime from the environment's configuration, serving HTTP, with the built-in
 * simulator feeding it when configured.
 */
import { ConfigError, loadConfig } from "./core/config.ts";
import { ingest } from "./core/ingest.ts";
import { createLogger } from "./observability/logger.ts";
import { MAX_LAG, startRuntime } from "./runtime.ts";
import { drive, Simulator } from "./sources/simulator/mod.ts";

let config;
try {
  config = loadConfig(Deno.env.toObject());
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  console.error(e.message);
  Deno.exit(1);
}
const logger = createLogger(config.logLevel);
const runtime = await startRuntime({ ...config, logger }).catch((e) => {
  logger.error("cannot start", { error: (e as Error).message }); // one JSON line, as every other
  return Deno.exit(1);
});
const server = Deno.serve({
  port: config.port,
  hostname: config.host,
  onListen: ({ hostname, port }) =>
    logger.info("listening", {
      url: `http://${hostname}:${port}/`,
      store: runtime.store.kind === "pglite" ? `pglite:${config.dataDir}` : "postgres",
      source: config.kafka ? `kafka:${config.kafka.brokers.join(",")}/${config.kafka.topics.join(",")}` : "http",
      plugins: runtime.plugins.list().map((p) => `${p.name}:${p.status}`).join(" "),
    }),
}, runtime.app.fetch);

const stopping = new AbortController();
let simulation: Promise<unknown> = Promise.resolve();
if (config.simulate > 0) {
  logger.info("simulator on", { rate: config.simulate });
  simulation = drive(new Simulator({ seed: Date.now() % 1_000_000_000, live: true }), {
    rate: config.simulate,
    sink: async (events) => void await ingest(runtime.sink, events, runtime.metrics, runtime.money),
    paused: () => runtime.plugins.maxLag > MAX_LAG,
    signal: stopping.signal,
  }).catch((e) => logger.error("simulator stopped", { error: (e as Error).message }));
}

/** Longest a graceful shutdown may take before the process exits anyway (the log is durable). */
const SHUTDOWN_TIMEOUT_MS = 30_000;

async function shutdown(signal: string) {
  if (stopping.signal.aborted) return logger.warn("already shutting down", { signal });
  const started = performance.now();
  logger.info("shutting down", { signal });
  setTimeout(() => {
    logger.error("shutdown took too long; exiting", { timeoutMs: SHUTDOWN_TIMEOUT_MS });
    Deno.exit(1);
  }, SHUTDOWN_TIMEOUT_MS);
  stopping.abort();
  await simulation;
  runtime.closeStreams();
  await server.shutdown();
  await runtime.stop(); // the source, then the plugins (each finishes its batch in flight), then the store
  logger.info("stopped", { ms: Math.round(performance.now() - started) });
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
