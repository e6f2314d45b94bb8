/**
 * The runtime assembled: store, event log, plugin host and HTTP app, started and stopped together.
 * @module
 */
import type { Hono } from "hono";
import { EventLog } from "./event_log.ts";
import { createLogger, type Logger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { PluginHost, type RetryPolicy } from "./plugin/mod.ts";
import { createApp } from "./server.ts";
import { migrateHost, openStore, type Store } from "./store/mod.ts";

/** What a runtime is started with (a subset of the resolved config, plus test hooks). */
export interface RuntimeOptions {
  dataDir: string;
  databaseUrl?: string;
  pluginsDir: string;
  ingestKeys?: string[];
  apiTokens?: string[];
  pluginSettings?: Record<string, unknown>;
  retry?: Partial<RetryPolicy>;
  logger?: Logger;
  /** An already open store (tests), left open by {@linkcode Runtime.stop}. */
  store?: Store;
}

/** A started runtime. */
export interface Runtime {
  app: Hono;
  store: Store;
  log: EventLog;
  plugins: PluginHost;
  metrics: Metrics;
  logger: Logger;
  /** Stops plugins, then closes the store if the runtime opened it. */
  stop(): Promise<void>;
}

/** Opens the store, migrates the host's tables, loads the plugins, and builds the app. */
export async function startRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const logger = opts.logger ?? createLogger("info");
  const ownsStore = opts.store === undefined;
  const store = opts.store ?? await openStore(opts);
  const { hardened } = await migrateHost(store);
  if (!hardened) {
    logger.warn(
      "database user is not a superuser: plpgsql and set_config stay open to plugin roles; the SQL guard still applies",
    );
  }
  const log = new EventLog(store);
  await log.open();
  const metrics = new Metrics();
  const plugins = new PluginHost({
    store,
    log,
    logger,
    metrics,
    pluginsDir: opts.pluginsDir,
    settings: opts.pluginSettings,
    retry: opts.retry,
  });
  await plugins.start();
  const app = createApp({
    store,
    log,
    plugins,
    metrics,
    logger,
    ingestKeys: opts.ingestKeys ?? [],
    apiTokens: opts.apiTokens ?? [],
  });
  return {
    app,
    store,
    log,
    plugins,
    metrics,
    logger,
    async stop() {
      await plugins.stop();
      if (ownsStore) await store.close();
    },
  };
}
