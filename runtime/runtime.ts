/**
 * The runtime assembled: store, event log, plugin host and HTTP app, started and stopped together.
 * @module
 */
import type { Money } from "./core/money.ts";
import type { Hono } from "hono";
import type { KafkaConfig } from "./core/config.ts";
import { EventLog } from "./core/event_log.ts";
import { REJECT_REASONS, type Sink } from "./core/ingest.ts";
import { createKafka, KafkaSink, KafkaSource } from "./sources/kafka/mod.ts";
import { createLogger, type Logger } from "./observability/logger.ts";
import { MetricsRegistry } from "./observability/metrics.ts";
import { processMetrics, progressMetrics, timedStore } from "./observability/observe.ts";
import { Members, PluginHost, type RetryPolicy } from "./plugin/mod.ts";
import { createApp, type RuntimeParts } from "./http/app.ts";
import { migrateHost, openStore, type Store } from "./store/mod.ts";
import { NoticeFeed, NoticeRetention } from "./notices/mod.ts";
import { WebhookDeliverer, type WebhookPolicy } from "./webhooks/mod.ts";
import { DeadLetterRetrier, DEFAULT_RETRY_POLICY, type RetryPolicy as LetterRetryPolicy } from "./dead_letters/mod.ts";

/** Sources pause while the slowest plugin is this far behind the log (events). */
export const MAX_LAG = 50_000;

/** Amounts as they come when no currency is configured: in euros, as the simulator's; no other currency taken. */
export const DEFAULT_MONEY: Money = { base: "EUR", rates: {} };

/** What a runtime is started with (a subset of the resolved config, plus test hooks). */
export interface RuntimeOptions {
  dataDir: string;
  databaseUrl?: string;
  kafka?: KafkaConfig;
  pluginsDir: string;
  /** Development: reload a plugin when its folder changes (see {@linkcode PluginHost.watch}). */
  watchPlugins?: boolean;
  ingestKeys?: string[];
  apiTokens?: string[];
  /** Tokens that may manage webhooks (and read, as API tokens do). */
  adminTokens?: string[];
  /** Requests per second per key on /v1 and /api (0 or absent: no limit). */
  rateLimit?: number;
  corsOrigins?: string[];
  /** The base currency and rates amounts are converted with (default: EUR, and no other currency taken). */
  money?: Money;
  pluginSettings?: Record<string, unknown>;
  retry?: Partial<RetryPolicy>;
  /** How long a plugin's runner gathers events for its next batch (ms; `PLUGINS_BATCH_WAIT_MS`, default 250). */
  batchWaitMs?: number;
  /** How webhook deliveries are retried (`WEBHOOK_RETRY_BASE_MS`, `WEBHOOK_MAX_ATTEMPTS`). */
  webhooks?: Partial<WebhookPolicy>;
  /** How dead letters are retried (`DEAD_LETTER_RETRIES`, `DEAD_LETTER_RETRY_BASE_MS`). */
  deadLetters?: Partial<LetterRetryPolicy>;
  /** Sources pause while the slowest plugin lags the log by more than this (default {@linkcode MAX_LAG}). */
  maxLag?: number;
  logger?: Logger;
  /** Check plugin SQL with the text guard before the database sees it (default true; tests turn it off). */
  sqlTripwire?: boolean;
  /** An already open store (tests), left open by {@linkcode Runtime.stop}. */
  store?: Store;
}

/** A started runtime. */
export interface Runtime extends RuntimeParts {
  app: Hono;
  /** Ends open streams (`/api/stream`), so that an HTTP server serving {@linkcode app} can shut down. */
  closeStreams(): void;
  /**
   * Stops the webhook deliveries, the dead letters' retries, the source, the plugins, the notices' feed and retention,
   * then closes the store if
   * the runtime opened it.
   */
  stop(): Promise<void>;
}

/** Opens the store, migrates the host's tables, loads the plugins, and builds the app. */
export async function startRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const logger = opts.logger ?? createLogger("info");
  const ownsStore = opts.store === undefined;
  const metrics = new MetricsRegistry();
  const store = timedStore(opts.store ?? await openStore(opts), metrics);
  const { superuser } = await migrateHost(store);
  if (superuser && store.kind === "postgres") {
    logger.warn(
      "connected to PostgreSQL as a superuser: the runtime needs less (CREATEROLE and its own database); " +
        "deno task setup-db makes such a user (docs/operations.md: Deploying with Kafka and PostgreSQL)",
    );
  }
  const eventLog = new EventLog(store, metrics);
  await eventLog.open();
  // On a server database, other processes may run the same plugins: they split the log's partitions between them.
  const members = store.kind === "postgres" ? new Members(store, logger) : null;
  const notices = new NoticeFeed(store, logger);
  const webhooks = new WebhookDeliverer({ store, logger, metrics, policy: opts.webhooks });
  const plugins = new PluginHost({
    store,
    eventLog,
    logger,
    metrics,
    pluginsDir: opts.pluginsDir,
    settings: opts.pluginSettings,
    retry: opts.retry,
    batchWaitMs: opts.batchWaitMs,
    sqlTripwire: opts.sqlTripwire,
    ownership: members ?? undefined,
    notified: () => {
      notices.wake();
      webhooks.wake();
    },
  });
  await members?.start(() => plugins.running());
  await plugins.start();
  if (opts.watchPlugins) plugins.watch();
  processMetrics(metrics, { store: store.kind, source: opts.kafka ? "kafka" : "http" });
  progressMetrics(metrics, { eventLog, plugins }, REJECT_REASONS);
  const maxLag = opts.maxLag ?? MAX_LAG;
  let sink: Sink = (events, letters) => eventLog.append(events, letters);
  let source: KafkaSource | null = null;
  let producer: KafkaSink | null = null;
  const money = opts.money ?? DEFAULT_MONEY;
  if (opts.kafka) {
    for (const [topic, name] of opts.kafka.transforms) {
      if (!plugins.transform(name)) {
        await plugins.stop();
        await members?.stop();
        if (ownsStore) await store.close();
        throw new Error(
          `Cannot start: KAFKA_TRANSFORMS sends topic ${topic} through plugin ${name}, which is not loaded with a transform`,
        );
      }
    }
    const kafka = createKafka(opts.kafka, logger);
    producer = new KafkaSink(kafka, opts.kafka, eventLog);
    await producer.start();
    sink = producer.sink;
    source = new KafkaSource({
      kafka,
      config: opts.kafka,
      eventLog,
      metrics,
      logger,
      money,
      paused: () => plugins.maxLag > maxLag,
      transformFor: (topic) => {
        const name = opts.kafka!.transforms.get(topic);
        if (name === undefined) return undefined;
        const transform = plugins.transform(name);
        if (!transform) throw new Error(`topic ${topic}: plugin ${name} is not loaded with a transform`);
        return transform;
      },
    });
    await source.start();
  }
  const deadLetters = new DeadLetterRetrier({
    parts: { store, eventLog, sink, plugins, metrics, money, webhooks },
    logger,
    policy: { ...DEFAULT_RETRY_POLICY, ...opts.deadLetters },
  });
  const parts = { store, eventLog, sink, source, plugins, metrics, logger, money, notices, webhooks, deadLetters };
  webhooks.start();
  deadLetters.start();
  const retention = new NoticeRetention({ store, logger, metrics });
  retention.start();
  const closing = new AbortController();
  const app = createApp({
    ...parts,
    ingestKeys: opts.ingestKeys ?? [],
    apiTokens: opts.apiTokens ?? [],
    adminTokens: opts.adminTokens ?? [],
    rateLimit: opts.rateLimit ?? 0,
    corsOrigins: opts.corsOrigins ?? [],
    closing: closing.signal,
  });
  return {
    app,
    ...parts,
    closeStreams: () => closing.abort(),
    async stop() {
      closing.abort();
      await webhooks.stop(); // attempts in flight are given back, due again at the next start
      await deadLetters.stop(); // before what it replays through
      await source?.stop();
      await producer?.stop();
      await plugins.stop();
      await members?.stop();
      await notices.stop();
      await retention.stop();
      if (ownsStore) await store.close();
    },
  };
}
