/**
 * What the host's routes read from: the runtime's parts and the server's settings.
 * @module
 */
import type { EventLog } from "../core/event_log.ts";
import type { DeadLetterRetrier } from "../dead_letters/mod.ts";
import type { Sink } from "../core/ingest.ts";
import type { Money } from "../core/money.ts";
import type { Logger } from "../observability/logger.ts";
import type { MetricsRegistry } from "../observability/metrics.ts";
import type { NoticeFeed } from "../notices/mod.ts";
import type { PluginHost } from "../plugin/mod.ts";
import type { KafkaSource } from "../sources/kafka/mod.ts";
import type { Store } from "../store/mod.ts";
import type { WebhookDeliverer } from "../webhooks/mod.ts";

/** The runtime's parts, as the routes and the runtime's handle both expose them. */
export interface RuntimeParts {
  store: Store;
  eventLog: EventLog;
  /** Where ingested events go: the log, or Kafka when it is the source. */
  sink: Sink;
  /** The Kafka consumer, when Kafka is the source. */
  source: KafkaSource | null;
  plugins: PluginHost;
  metrics: MetricsRegistry;
  logger: Logger;
  /** The base currency and rates every amount is converted with at ingest. */
  money: Money;
  /** The committed notices as they come (for `/api/stream`). */
  notices: NoticeFeed;
  /** The loop delivering notices to webhooks. */
  webhooks: WebhookDeliverer;
  /** Replays dead letters, and retries those due. */
  deadLetters: DeadLetterRetrier;
}

/** Everything the routes read from. */
export interface ServerContext extends RuntimeParts {
  ingestKeys: string[];
  apiTokens: string[];
  /** Tokens that may manage webhooks; they pass as API tokens too. */
  adminTokens: string[];
  /** Requests per second per key on /v1 and /api; 0 for no limit. */
  rateLimit: number;
  /** Origins allowed to call /v1 and /api from a browser. */
  corsOrigins: string[];
  /** Aborted when the runtime shuts down: open streams end, so the HTTP server can stop. */
  closing: AbortSignal;
}
