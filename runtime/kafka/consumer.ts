import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import type { KafkaConfig } from "../config.ts";
import type { Event } from "../event.ts";
import { type DeadLetter, type EventLog, SourceMoved } from "../event_log.ts";
import { MAX_BATCH, MAX_BODY_BYTES, validateItems } from "../ingest.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";

/** One consumed partition as `/api/plugins` and `/metrics` show it. */
export interface PartitionState {
  topic: string;
  partition: number;
  /** The last offset whose events are in the log. */
  offset: number;
  /** Messages in the partition not yet in the log. */
  lag: number;
}

/** What a Kafka source needs. */
export interface KafkaSourceOptions {
  kafka: Kafka;
  config: KafkaConfig;
  log: EventLog;
  metrics: Metrics;
  logger: Logger;
  /** Back-pressure: while it answers true, no batch is appended (the consumer keeps its group alive). */
  paused: () => boolean;
}

/**
 * Kafka as the source: one consumer group over the configured topics feeding the durable log. Each batch
 * of a partition is appended in one transaction that also moves that partition's stored offset, so a
 * message is in the log once whatever the redeliveries and rebalances; Kafka's committed offset follows
 * after. Poison messages go to the dead letters with their topic, partition and offset, and the partition
 * moves on.
 */
export class KafkaSource {
  readonly #opts: KafkaSourceOptions;
  readonly #consumer: Consumer;
  readonly #admin: Admin;
  #partitions = new Map<string, PartitionState>();
  #joined = false;

  constructor(opts: KafkaSourceOptions) {
    this.#opts = opts;
    this.#consumer = opts.kafka.consumer({
      groupId: opts.config.group,
      maxBytesPerPartition: MAX_BODY_BYTES,
      sessionTimeout: opts.config.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(opts.config.sessionTimeoutMs / 5)),
      // A rebalance waits this long for members to rejoin: as long as a silent member may stay silent.
      rebalanceTimeout: opts.config.sessionTimeoutMs,
    });
    this.#admin = opts.kafka.admin();
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, (e) => {
      this.#assigned(e.payload.memberAssignment).then(
        () => this.#joined = true,
        (err) => opts.logger.error("cannot read the assigned partitions' offsets", { error: String(err) }),
      );
    });
    this.#consumer.on(this.#consumer.events.CRASH, (e) => {
      this.#joined = false;
      opts.logger.error("kafka consumer crashed; kafkajs restarts it", { error: String(e.payload.error) });
    });
    opts.metrics.collect(() => {
      for (const p of this.#partitions.values()) {
        const labels = { topic: p.topic, partition: String(p.partition) };
        opts.metrics.set("source_partition_lag", "Messages in a Kafka partition not yet in the log", labels, p.lag);
      }
    });
  }

  /** Whether the consumer has joined its group. */
  get ready(): boolean {
    return this.#joined;
  }

  /** The partitions this process has consumed, with their lag. */
  partitions(): PartitionState[] {
    return [...this.#partitions.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /** Connects, joins the group and starts consuming. */
  async start(): Promise<void> {
    await this.#admin.connect();
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: this.#opts.config.topics, fromBeginning: true });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 2,
      eachBatch: (payload) => this.#onBatch(payload),
    });
  }

  /** Finishes the batch in hand, commits, and leaves the group. */
  async stop(): Promise<void> {
    await this.#consumer.disconnect();
    await this.#admin.disconnect();
    this.#joined = false;
  }

  /** After a rebalance: the partitions now this process's, with their stored offsets and lag. */
  async #assigned(assignment: Record<string, number[]>): Promise<void> {
    const next = new Map<string, PartitionState>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      const ends = await this.#admin.fetchTopicOffsets(topic);
      for (const partition of partitions) {
        const key = `${topic}/${partition}`;
        const offset = Math.max(
          await this.#opts.log.sourceOffset(topic, partition),
          this.#partitions.get(key)?.offset ?? -1,
        );
        const high = Number(ends.find((e) => e.partition === partition)?.high ?? 0);
        next.set(key, { topic, partition, offset, lag: Math.max(0, high - offset - 1) });
      }
    }
    this.#partitions = next;
  }

  async #onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    if (batch.messages.length === 0) return;
    while (this.#opts.paused() && isRunning() && !isStale()) {
      await heartbeat();
      await new Promise((r) => setTimeout(r, 200));
    }
    if (!isRunning() || isStale()) return;
    const last = Number(batch.lastOffset());
    let stored = -1;
    for (let attempt = 1;; attempt++) {
      stored = this.#partitions.get(`${topic}/${partition}`)?.offset ??
        await this.#opts.log.sourceOffset(topic, partition);
      const fresh = batch.messages.filter((m) => Number(m.offset) > stored);
      if (fresh.length === 0) break;
      const { events, letters, received } = decode(topic, partition, fresh);
      try {
        await this.#opts.log.append(events, letters, { topic, partition, from: stored, to: last });
      } catch (e) {
        // Another consumer appended this partition meanwhile (a rebalance in flight): re-read and skip it.
        if (!(e instanceof SourceMoved) || attempt >= 3) throw e;
        this.#partitions.delete(`${topic}/${partition}`);
        continue;
      }
      this.#opts.metrics.inc("events_received_total", "Items received for ingest", {}, received);
      this.#opts.metrics.inc("events_rejected_total", "Items rejected at ingest", {}, letters.length);
      stored = last;
      break;
    }
    const offset = Math.max(stored, last);
    const lag = Math.max(0, Number(batch.highWatermark) - offset - 1);
    this.#partitions.set(`${topic}/${partition}`, { topic, partition, offset, lag });
    resolveOffset(batch.lastOffset());
    await this.#consumer.commitOffsets([{ topic, partition, offset: String(last + 1) }]);
    await heartbeat();
  }
}

/** Messages to events and dead letters; each dead letter names its topic, partition and offset. */
function decode(topic: string, partition: number, messages: KafkaMessage[]) {
  const events: Event[] = [];
  const letters: DeadLetter[] = [];
  let received = 0;
  const text = new TextDecoder("utf-8", { fatal: true });
  for (const m of messages) {
    const kafka = { topic, partition, offset: Number(m.offset) };
    const reject = (reason: string, value: unknown) =>
      letters.push({
        stage: "ingest",
        reason: `${topic}/${partition}@${m.offset}: ${reason}`,
        payload: { kafka, value },
      });
    if (!m.value || m.value.length === 0) {
      reject("empty message", null);
      continue;
    }
    if (m.value.length > MAX_BODY_BYTES) {
      reject(`message is ${m.value.length} bytes, over the ${MAX_BODY_BYTES} byte limit`, null);
      continue;
    }
    let raw: string;
    try {
      raw = text.decode(m.value);
    } catch {
      reject("message is not valid UTF-8", null);
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (e) {
      reject(`message is not JSON: ${(e as Error).message}`, raw.slice(0, 32 * 1024));
      continue;
    }
    const items = Array.isArray(parsed) ? parsed : [parsed];
    if (items.length > MAX_BATCH) {
      reject(`a message holds at most ${MAX_BATCH} events, got ${items.length}`, null);
      continue;
    }
    received += items.length;
    const v = validateItems(items, (index) => ({ kafka: { ...kafka, index } }));
    events.push(...v.valid);
    for (const l of v.letters) letters.push({ ...l, reason: `${topic}/${partition}@${m.offset}: ${l.reason}` });
  }
  return { events, letters, received };
}
