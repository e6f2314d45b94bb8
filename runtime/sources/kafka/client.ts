import { Kafka, logLevel } from "kafkajs";
import type { KafkaConfig } from "../../core/config.ts";
import type { Logger } from "../../observability/logger.ts";

/** A kafkajs client for the configured brokers, logging through the runtime's logger. */
export function createKafka(config: KafkaConfig, logger: Logger): Kafka {
  const log = logger.with({ component: "kafka" });
  return new Kafka({
    clientId: "analytics-runtime",
    brokers: config.brokers,
    logLevel: logLevel.WARN,
    logCreator: () => ({ level, log: entry }) => {
      const { message, ...fields } = entry;
      const at = level <= logLevel.ERROR ? "error" : "warn";
      log[at](String(message), fields);
    },
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5_000 },
  });
}
