import { type Transform, transformItems } from "../../core/transform.ts";
import type { Money } from "../../core/money.ts";
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import type { KafkaConfig } from "../../core/config.ts";
import type { Event } from "../../core/event.ts";
import { type DeadLetter, type EventLog, SourceMoved } from "../../core/event_log.ts";
import {
  countRejected,
  MAX_BATCH,
  MAX_BODY_BYTES,
  type RejectReason,
  rejectReason,
  validateItems,
} from "../../core/ingest.ts";
import type { Logger } from "../../observability/logger.ts";
import type { MetricsRegistry } from "../../observability/metrics.ts";

/** One partition assigned to this process, as `/api/plugins` and `/metrics` show it. */
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
  eventLog: EventLog;
  metrics: MetricsRegistry;
  logger: Logger;
  /** The base currency and rates every amount is converted with. */
  money: Money;
  /** Back-pressure: while it answers true, no batch is appended (the consumer keeps its group alive). */
  paused: () => boolean;
  /**
   * The transform a topic's messages go through (see `KAFKA_TRANSFORMS`), undefined for none; it throws while the
   * plugin cannot serve, and the batch is then retried.
   */
  transformFor?: (topic: string) => Transform | undefined;
}

/** How often partition ends are read to keep the lag current while nothing is consumed. */
const LAG_REFRESH_MS = 5_000;
/** How often a partition's offset is committed to Kafka (a hint only: the offset stored in Postgres counts). */
const COMMIT_EVERY_MS = 1_000;
/** Partitions whose batches are appended at once: concurrent appends share one transaction (group commit). */
const CONCURRENT_PARTITIONS = 8;
/** Pause before a new consumer replaces one that kafkajs gave up on. */
const RESTART_DELAY_MS = 2_000;

/**
 * Kafka as the source: one consumer group over the configured topics feeding the durable log. Each batch
 * of a partition is appended in one transaction that also moves that partition's stored offset (by
 * compare-and-set), so a message is in the log once whatever the redeliveries and rebalances; Kafka's
 * committed offset follows after, as a hint only: reading resumes from the stored offset. Poison messages
 * go to the dead letters with their topic, partition and offset, and the partition moves on.
 */
export class KafkaSource {
  readonly #opts: KafkaSourceOptions;
  readonly #admin: Admin;
  #consumer: Consumer | null = null;
  #partitions = new Map<string, PartitionState>();
  #generation = 0;
  #joined = false;
  #stopping = false;
  #refresh: ReturnType<typeof setInterval> | undefined;
  /** When each partition's offset was last committed to Kafka. */
  #committedAt = new Map<string, number>();

  constructor(opts: KafkaSourceOptions) {
    this.#opts = opts;
    this.#admin = opts.kafka.admin();
    opts.metrics.collect(() => {
      opts.metrics.clear("source_partition_lag");
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

  /** The partitions assigned to this process, with their stored offsets and lag. */
  partitions(): PartitionState[] {
    return [...this.#partitions.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /** Connects, joins the group and starts consuming. */
  async start(): Promise<void> {
    await this.#admin.connect();
    await this.#startConsumer();
    this.#refresh = setInterval(() => this.#refreshLag().catch(() => {}), LAG_REFRESH_MS);
  }

  /** Stops after the batch in hand and leaves the group. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#refresh);
    await this.#consumer?.disconnect();
    await this.#admin.disconnect();
    this.#joined = false;
  }

  async #startConsumer(): Promise<void> {
    const { config, logger } = this.#opts;
    const consumer = this.#opts.kafka.consumer({
      groupId: config.group,
      maxBytesPerPartition: MAX_BODY_BYTES,
      minBytes: config.fetchMinBytes,
      maxWaitTimeInMs: config.fetchMaxWaitMs,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(config.sessionTimeoutMs / 5)),
      // A rebalance waits this long for members to rejoin: as long as a silent member may stay silent.
      rebalanceTimeout: config.sessionTimeoutMs,
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.#joined = true;
      const generation = ++this.#generation;
      this.#assigned(consumer, generation, e.payload.memberAssignment).catch((err) =>
        logger.warn("cannot read the assigned partitions' offsets", { error: String(err) })
      );
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.#joined = false;
      const { error, restart } = e.payload;
      logger.error(`kafka consumer crashed; ${restart ? "kafkajs restarts it" : "starting a new one"}`, {
        error: String(error),
      });
      // kafkajs gives up on errors it deems fatal (an evicted member, say): the source must not.
      if (!restart && !this.#stopping) {
        setTimeout(() => {
          if (this.#stopping) return;
          consumer.disconnect().catch(() => {}).finally(() =>
            this.#startConsumer().catch((err) =>
              logger.error("cannot restart the kafka consumer", { error: String(err) })
            )
          );
        }, RESTART_DELAY_MS);
      }
    });
    await consumer.connect();
    await consumer.subscribe({ topics: config.topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: CONCURRENT_PARTITIONS,
      eachBatch: (payload) => this.#onBatch(consumer, payload),
    });
  }

  /**
   * After a rebalance: the partitions now this process's, with their stored offsets and lag. Where the
   * group's committed offset is past the stored one (Postgres restored from a backup, or a new database
   * with an old group), reading starts again from the stored offset.
   */
  async #assigned(consumer: Consumer, generation: number, assignment: Record<string, number[]>): Promise<void> {
    const next = new Map<string, PartitionState>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      const ends = await this.#admin.fetchTopicOffsets(topic);
      const [committed] = await this.#admin.fetchOffsets({ groupId: this.#opts.config.group, topics: [topic] });
      for (const partition of partitions) {
        const offset = await this.#opts.eventLog.sourceOffset(topic, partition);
        const high = Number(ends.find((e) => e.partition === partition)?.high ?? 0);
        next.set(`${topic}/${partition}`, { topic, partition, offset, lag: Math.max(0, high - offset - 1) });
        const resumeAt = Number(committed?.partitions.find((p) => p.partition === partition)?.offset ?? -1);
        if (resumeAt > offset + 1 && generation === this.#generation) {
          await this.#rewind(consumer, topic, partition, offset);
        }
      }
    }
    if (generation !== this.#generation) return; // a later rebalance won
    for (const [key, p] of next) {
      const known = this.#partitions.get(key);
      if (known && known.offset > p.offset) next.set(key, known); // a batch got there first
    }
    this.#partitions = next;
  }

  /** Reads partition ends, so that lag is current even while nothing is consumed. */
  async #refreshLag(): Promise<void> {
    const topics = new Set([...this.#partitions.values()].map((p) => p.topic));
    for (const topic of topics) {
      const ends = await this.#admin.fetchTopicOffsets(topic);
      for (const e of ends) {
        const p = this.#partitions.get(`${topic}/${e.partition}`);
        if (p) p.lag = Math.max(0, Number(e.high) - p.offset - 1);
      }
    }
  }

  async #onBatch(consumer: Consumer, payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    const key = `${topic}/${partition}`;
    if (batch.messages.length === 0) return;
    while (this.#opts.paused() && isRunning() && !isStale()) {
      await heartbeat();
      await new Promise((r) => setTimeout(r, 200));
    }
    if (!isRunning() || isStale()) return;
    const first = Number(batch.firstOffset());
    const last = Number(batch.lastOffset());
    let stored = -1;
    for (let attempt = 1;; attempt++) {
      stored = this.#partitions.get(key)?.offset ?? await this.#opts.eventLog.sourceOffset(topic, partition);
      if (first > stored + 1 && await this.#rewind(consumer, topic, partition, stored)) return;
      const fresh = batch.messages.filter((m) => Number(m.offset) > stored);
      if (fresh.length === 0) break;
      const decoded = await this.#decode(topic, partition, fresh, payload);
      if (decoded === null) return; // stopped, or the partition moved to another consumer
      const { events, letters, reasons, messages } = decoded;
      try {
        await this.#opts.eventLog.append(events, letters, { topic, partition, from: stored, to: last });
      } catch (e) {
        // Another consumer appended this partition meanwhile (a rebalance in flight): re-read and skip it.
        if (!(e instanceof SourceMoved) || attempt >= 3) throw e;
        this.#partitions.delete(key);
        continue;
      }
      this.#opts.metrics.inc("source_messages_total", "Kafka messages appended to the log", { topic }, messages);
      countRejected(this.#opts.metrics, reasons);
      stored = last;
      break;
    }
    const offset = Math.max(stored, last);
    const lag = Math.max(0, Number(batch.highWatermark) - offset - 1);
    this.#partitions.set(key, { topic, partition, offset, lag });
    resolveOffset(batch.lastOffset());
    // A hint for the group, at most once a second per partition (or when the partition is drained): the stored
    // offset in Postgres is what counts, and a restart from an older hint only re-reads what the log skips.
    const now = Date.now();
    if (lag > 0 && now - (this.#committedAt.get(key) ?? 0) < COMMIT_EVERY_MS) return await heartbeat();
    this.#committedAt.set(key, now);
    try {
      await consumer.commitOffsets([{ topic, partition, offset: String(last + 1) }]);
    } catch (e) {
      this.#opts.logger.warn("cannot commit the offset to Kafka (a rebalance?)", {
        topic,
        partition,
        error: String(e),
      });
    }
    await heartbeat();
  }

  /**
   * Decodes messages, through the topic's transform if it has one. While the transform's plugin cannot serve (reloading,
   * disabled), this partition waits and tries again, alive in the group; the other topics go on. Answers null when the
   * consumer stops or loses the partition meanwhile.
   */
  async #decode(topic: string, partition: number, messages: KafkaMessage[], payload: EachBatchPayload) {
    const { heartbeat, isRunning, isStale } = payload;
    for (let waited = 0;; waited++) {
      // A transform may take long (a slow item, items retried alone): the group hears from this member meanwhile.
      const beat = setInterval(() => heartbeat().catch(() => {}), 3000);
      try {
        return await decode(topic, partition, messages, this.#opts.money, this.#opts.transformFor?.(topic));
      } catch (e) {
        if (waited === 0) {
          this.#opts.logger.warn("cannot transform a batch; waiting for the plugin", { topic, error: String(e) });
        }
      } finally {
        clearInterval(beat);
      }
      if (!isRunning() || isStale()) return null;
      await heartbeat();
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /**
   * When Kafka hands out messages past the stored offset (Postgres restored from a backup, or a new
   * database with an old group), reads again from the stored offset, if Kafka still has it. Answers
   * whether it rewound.
   */
  async #rewind(consumer: Consumer, topic: string, partition: number, stored: number): Promise<boolean> {
    const ends = await this.#admin.fetchTopicOffsets(topic);
    const low = Number(ends.find((e) => e.partition === partition)?.low ?? 0);
    if (stored + 1 < low) {
      this.#opts.logger.warn("messages were deleted by retention before they reached the log", {
        topic,
        partition,
        from: stored + 1,
        to: low - 1,
      });
      return false;
    }
    this.#opts.logger.warn("rewinding to the stored offset", { topic, partition, offset: stored + 1 });
    consumer.seek({ topic, partition, offset: String(stored + 1) });
    return true;
  }
}

/**
 * Messages to events (amounts in the base currency, through the topic's transform if it has one) and dead letters, each
 * naming its topic, partition and offset.
 */
async function decode(topic: string, partition: number, messages: KafkaMessage[], money: Money, transform?: Transform) {
  const events: Event[] = [];
  const letters: DeadLetter[] = [];
  const reasons: RejectReason[] = [];
  const text = new TextDecoder("utf-8", { fatal: true });
  for (const m of messages) {
    const kafka = { topic, partition, offset: Number(m.offset) };
    const reject = (kind: RejectReason, reason: string, value: unknown) => {
      reasons.push(kind);
      letters.push({
        stage: "ingest",
        reason: `${topic}/${partition}@${m.offset}: ${reason}`,
        payload: { kafka, value },
      });
    };
    if (!m.value || m.value.length === 0) {
      reject("empty", "empty message", null);
      continue;
    }
    if (m.value.length > MAX_BODY_BYTES) {
      reject("too_large", `message is ${m.value.length} bytes, over the ${MAX_BODY_BYTES} byte limit`, null);
      continue;
    }
    let raw: string;
    try {
      raw = text.decode(m.value);
    } catch {
      reject("encoding", "message is not valid UTF-8", null);
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (e) {
      reject("not_json", `message is not JSON: ${(e as Error).message}`, raw.slice(0, 32 * 1024));
      continue;
    }
    const items = Array.isArray(parsed) ? parsed : [parsed];
    if (items.length > MAX_BATCH) {
      reject("too_large", `a message holds at most ${MAX_BATCH} events, got ${items.length}`, null);
      continue;
    }
    const where = (index: number) => ({ kafka: { ...kafka, index } });
    const v = transform ? await transformItems(transform, items, money, where) : validateItems(items, money, where);
    events.push(...v.valid);
    for (const l of v.letters) {
      reasons.push(l.stage === "ingest" ? rejectReason(l.reason) : "transform");
      letters.push({ ...l, reason: `${topic}/${partition}@${m.offset}: ${l.reason}` });
    }
  }
  return { events, letters, reasons, messages: messages.length };
}
