import { type Kafka, Partitioners, type Producer } from "kafkajs";
import type { KafkaConfig } from "../../core/config.ts";
import type { Event } from "../../core/event.ts";
import type { DeadLetter, EventLog } from "../../core/event_log.ts";
import type { Sink } from "../../core/ingest.ts";

/**
 * With Kafka as the source, accepted events are produced to the first configured topic, keyed by user_id
 * (so a user's events stay ordered in one partition), and acknowledged by all in-sync replicas before
 * the sink resolves. Rejected items still go straight to the log's dead letters.
 */
export class KafkaSink {
  readonly #producer: Producer;
  readonly #topic: string;
  readonly #eventLog: EventLog;

  constructor(kafka: Kafka, config: KafkaConfig, eventLog: EventLog) {
    this.#producer = kafka.producer({
      idempotent: config.idempotent,
      // Java-compatible murmur2 on the key: a user lands in the same partition as with other clients.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.#topic = config.topics[0];
    this.#eventLog = eventLog;
  }

  /** Connects the producer. */
  async start(): Promise<void> {
    await this.#producer.connect();
  }

  /** The sink for {@linkcode ingest}. */
  readonly sink: Sink = async (events: Event[], deadLetters: DeadLetter[]) => {
    if (events.length > 0) {
      await this.#producer.send({
        topic: this.#topic,
        acks: -1,
        messages: events.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })),
      });
    }
    // After the send: a client retrying a failed request must not find its rejects stored twice.
    if (deadLetters.length > 0) await this.#eventLog.append([], deadLetters);
  };

  /** Flushes and disconnects. */
  async stop(): Promise<void> {
    await this.#producer.disconnect();
  }
}
