/**
 * Kafka under a live producer: events produced at a steady rate while one runtime (the host alone, no plugin) consumes
 * them, once with the consumer's fetches as kafkajs sizes them by default (answered after 1 byte, or after 5 s when
 * there is none) and once as the runtime sizes them (`KAFKA_FETCH_MIN_BYTES`, `KAFKA_FETCH_MAX_WAIT_MS`). It measures
 * the time from each send until the log holds it, the log's appends (group commits) per 100,000 events, and the
 * runtime's CPU time.
 *
 * librdkafka's mock cluster answers a fetch at once whenever it holds any data for it, whatever its MinBytes; when it
 * holds none, it waits the whole MaxWait, even when data arrives meanwhile (`rd_kafka_mock_handle_Fetch`). So against
 * the mock only the wait shows; a real broker also waits for MinBytes, which makes fewer and larger batches.
 * @module
 */
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { startMockCluster } from "../../tests/support/kafka_mock_cluster.ts";
import { type Backend, tempDir } from "../../tests/support/harness.ts";
import { batches } from "./load.ts";
import { BenchRuntime, cpuOf, round, seriesValue, TICKS, treePids } from "./process.ts";
import { freshEnv, type Row } from "./scenarios.ts";

const TICK_MS = 50;

/** Produces `rate` events per second for `seconds` to a runtime consuming Kafka, with each fetch sizing in turn. */
export async function kafkaLive(backend: Backend, rate: number, seconds: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (
    const [name, fetch] of [
      // With kafkajs' default session timeout too: the runtime requires a fetch's wait under a third of it.
      ["kafkajs defaults (min 1 byte, max wait 5000 ms, session 30 s)", {
        KAFKA_FETCH_MIN_BYTES: "1",
        KAFKA_FETCH_MAX_WAIT_MS: "5000",
        KAFKA_SESSION_TIMEOUT_MS: "30000",
      }],
      ["runtime defaults (min 64 KiB, max wait 100 ms)", {}],
    ] as const
  ) {
    rows.push(await liveRun(backend, rate, seconds, name, fetch));
  }
  return rows;
}

async function liveRun(
  backend: Backend,
  rate: number,
  seconds: number,
  name: string,
  fetch: Record<string, string>,
): Promise<Row> {
  const topic = "user-events";
  const cluster = await startMockCluster(1, { [topic]: 4 });
  const kafka = new Kafka({ clientId: "bench", brokers: [cluster.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const rt = await BenchRuntime.start({
    ...await freshEnv(backend),
    ...fetch,
    PLUGINS_DIR: await tempDir("bench-none-"),
    KAFKA_BROKERS: cluster.bootstrap,
    KAFKA_TOPICS: topic,
    KAFKA_GROUP: `bench-${crypto.randomUUID().slice(0, 8)}`,
    KAFKA_IDEMPOTENT: "false", // the mock cluster cannot give an idempotent producer its id
  });
  try {
    await producer.connect();
    const perTick = Math.max(1, Math.round(rate * TICK_MS / 1000));
    const ticks = Math.round(seconds * 1000 / TICK_MS);
    // The first second joins the group and warms up; it is produced, but not measured.
    const warm = Math.ceil(1000 / TICK_MS);
    const pending: { upTo: number; sentAt: number; measured: boolean }[] = [];
    const latencies: number[] = [];
    let producing = true;
    // Events logged (not merge entries, which the log's head counts too), against events sent by each tick. With several
    // partitions a later tick's events can be logged before an earlier one's, so this errs on the fast side by up to
    // the spread between partitions.
    const logged = async () => seriesValue(await rt.metrics(), "events_accepted_total");
    const poller = (async () => {
      while (producing || pending.length > 0) {
        const count = await logged();
        const now = performance.now();
        while (pending.length > 0 && pending[0].upTo <= count) {
          const p = pending.shift()!;
          if (p.measured) latencies.push(now - p.sentAt);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    let sent = 0;
    let before = { cpu: 0, appends: 0 };
    const started = performance.now();
    const source = batches(perTick * ticks, perTick);
    try {
      for (let tick = 0, next = source.next(); !next.done; tick++, next = source.next()) {
        const wait = started + tick * TICK_MS - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (tick === warm) before = await usage(rt);
        const sentAt = performance.now();
        await producer.send({ topic, messages: next.value.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })) });
        sent += next.value.length;
        pending.push({ upTo: sent, sentAt, measured: tick >= warm });
      }
    } catch (e) {
      pending.length = 0; // nothing more to wait for: the poller stops
      throw e;
    } finally {
      producing = false;
      await poller;
    }
    const after = await usage(rt);
    const events = perTick * (ticks - warm);
    const per100k = (x: number) => round(x * 100_000 / events);
    latencies.sort((a, b) => a - b);
    const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]);
    const appends = Math.round((after.appends - before.appends) * 100_000 / events);
    const cpu = per100k(after.cpu - before.cpu);
    return {
      scenario: `kafka live @ ${rate}/s, ${name}`,
      events,
      seconds,
      eventsPerSecond: rate,
      summary: `produced → logged p50 ${at(0.5)} ms, p99 ${at(0.99)} ms; ${appends} appends and ${cpu} CPU s ` +
        `(runtime) per 100k events`,
      details: { p50Ms: at(0.5), p99Ms: at(0.99), appendsPer100k: appends, cpuPer100k: cpu },
    };
  } finally {
    await producer.disconnect();
    await rt.stop();
    await cluster.stop();
  }
}

/** The runtime's CPU seconds so far, and its appends to the log (from `/metrics`). */
async function usage(rt: BenchRuntime): Promise<{ cpu: number; appends: number }> {
  const metrics = await rt.metrics();
  const appends = seriesValue(metrics, 'db_commit_seconds_count{op="append"}');
  return { cpu: treePids(rt.pid).reduce((s, pid) => s + cpuOf(pid, false), 0) / TICKS, appends };
}
