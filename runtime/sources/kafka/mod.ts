/**
 * Kafka as the source: a consumer group feeding the durable log with per-partition offsets committed in
 * the same transaction, and a producer for `POST /v1/events`.
 * @module
 */
export { createKafka } from "./client.ts";
export { KafkaSource, type KafkaSourceOptions, type PartitionState } from "./consumer.ts";
export { KafkaSink } from "./producer.ts";
