/**
 * The benchmark scenarios. Each starts the runtime as its own process on a fresh database with the four
 * shipped plugins, drives it over HTTP (or Kafka), and reads its progress from `/api/plugins`.
 * @module
 */
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { startMockCluster } from "../../tests/support/kafka_mock_cluster.ts";
import { openPglite, openPostgres } from "../../runtime/store/mod.ts";
import { type Backend, tempDir, waitFor } from "../../tests/support/harness.ts";
import { batches, paced, postAll } from "./load.ts";
import { consumeNaively, prepareNaive } from "./naive.ts";
import { batchCosts, BenchRuntime, round } from "./process.ts";
import { describeWrites, rowWrites } from "./writes.ts";

/** One line of the report. */
export interface Row {
  scenario: string;
  events: number;
  seconds: number;
  eventsPerSecond: number | null;
  /** The line's details in words, for the table. */
  summary: string;
  details: Record<string, unknown>;
}

const MB = 1024 * 1024;

/** A fresh database for a runtime process, as environment variables. */
export async function freshEnv(backend: Backend): Promise<Record<string, string>> {
  const { databaseUrl, dataDir } = await backend.fresh();
  return databaseUrl ? { DATABASE_URL: databaseUrl, DATA_DIR: dataDir } : { DATA_DIR: dataDir };
}

function row(scenario: string, events: number, seconds: number, summary: string, details = {}): Row {
  return { scenario, events, seconds: round(seconds), eventsPerSecond: Math.round(events / seconds), summary, details };
}

function describeCosts(costs: ReturnType<typeof batchCosts>): string {
  return Object.entries(costs).map(([p, c]) => `${p} ${c.msPerBatch.toFixed(0)} ms/batch`).join(", ");
}

/** Posts `events` as fast as the runtime takes them; the clock stops when every plugin has committed them all. */
export async function throughput(name: string, backend: Backend, events: number): Promise<Row> {
  const env = await freshEnv(backend);
  const rt = await BenchRuntime.start(env);
  let measured;
  try {
    rt.sampleRss();
    const started = performance.now();
    await postAll(rt.url, events);
    const ingestSeconds = (performance.now() - started) / 1000;
    const seconds = (await rt.committed(events) - started) / 1000;
    measured = { ingestSeconds, seconds, plugins: batchCosts(await rt.metrics()) };
  } finally {
    await rt.stop();
  }
  const { ingestSeconds, seconds, plugins } = measured;
  // On a server, the row writes per event, by schema: read once the runtime's sessions ended and reported them.
  const writes = env.DATABASE_URL ? await rowWrites(env.DATABASE_URL, events) : null;
  return row(
    `throughput ${name}`,
    events,
    seconds,
    `ingest ${Math.round(events / ingestSeconds)}/s; peak RSS ${Math.round(rt.peakRss / MB)} MB; ${
      describeCosts(plugins)
    }${writes ? `; ${describeWrites(writes)}` : ""}`,
    { ingestSeconds: round(ingestSeconds), peakRssBytes: rt.peakRss, plugins, writes },
  );
}

/**
 * Produces `events` to a mock Kafka cluster's topic, then times runtimes consuming them into fresh databases:
 * the host alone (no plugins: Kafka → validated → durable log), then with the four plugins. The mock keeps at
 * most 5 MB per partition (older messages are deleted, as retention would), so the topic gets a partition per
 * 8,000 events.
 */
export async function kafkaThroughput(backend: Backend, events: number): Promise<Row[]> {
  const topic = "user-events";
  const partitions = Math.max(4, Math.ceil(events / 8_000));
  const cluster = await startMockCluster(1, { [topic]: partitions });
  try {
    const kafka = new Kafka({ clientId: "bench", brokers: [cluster.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    for (const batch of batches(events)) {
      await producer.send({ topic, messages: batch.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })) });
    }
    await producer.disconnect();
    const consume = async (scenario: string, env: Record<string, string>): Promise<Row> => {
      const rt = await BenchRuntime.start({
        ...await freshEnv(backend),
        ...env,
        KAFKA_BROKERS: cluster.bootstrap,
        KAFKA_TOPICS: topic,
        KAFKA_GROUP: `bench-${crypto.randomUUID().slice(0, 8)}`,
        KAFKA_IDEMPOTENT: "false", // the mock cluster cannot give an idempotent producer its id
      });
      try {
        rt.sampleRss();
        // Timed from when the consumer has joined its group and logged its first events (joining takes seconds).
        const first = await waitFor("the first events from Kafka", async () => {
          const { head } = await rt.progress();
          return head > 0 ? { started: performance.now(), logged: head } : null;
        }, 60_000);
        const { started, logged } = first!;
        const seconds = (await rt.committed(events) - started) / 1000;
        const plugins = batchCosts(await rt.metrics());
        const costs = Object.keys(plugins).length ? `; ${describeCosts(plugins)}` : "";
        return row(
          scenario,
          events - logged,
          seconds,
          `a topic of ${events} events in ${partitions} partitions, timed from its first ${logged} logged; peak RSS ${
            Math.round(rt.peakRss / MB)
          } MB${costs}`,
          { peakRssBytes: rt.peakRss, plugins },
        );
      } finally {
        await rt.stop();
      }
    };
    const none = await tempDir("bench-none-");
    return [
      await consume("kafka → postgres, host only (no plugins)", { PLUGINS_DIR: none }),
      await consume("throughput kafka → postgres", {}),
    ];
  } finally {
    await cluster.stop();
  }
}

/** Latency from ingest to committed by every plugin, at each fixed rate in turn, on one runtime. */
export async function latency(name: string, backend: Backend, rates: number[], seconds: number): Promise<Row[]> {
  const rt = await BenchRuntime.start(await freshEnv(backend));
  try {
    const rows: Row[] = [];
    for (const rate of rates) {
      const r = await paced(rt, rate, seconds);
      rows.push({
        scenario: `latency ${name} @ ${rate}/s`,
        events: r.achievedRate * seconds,
        seconds,
        eventsPerSecond: r.achievedRate,
        summary: r.keptUp
          ? `ingest → committed by all plugins: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms`
          : `did not keep up: still behind 60 s after the last request (p50 so far ${r.p50Ms} ms)`,
        details: { ...r },
      });
    }
    return rows;
  } finally {
    await rt.stop();
  }
}

/**
 * Logs `events` with no plugin loaded (the host alone), then restarts with the four plugins and times them
 * catching up on that backlog while sampling the resident memory of the runtime and its sandboxes.
 */
export async function backlog(backend: Backend, events: number): Promise<Row[]> {
  const env = await freshEnv(backend);
  const loader = await BenchRuntime.start({ ...env, PLUGINS_DIR: await tempDir("bench-none-") });
  const loading = performance.now();
  try {
    await postAll(loader.url, events);
  } finally {
    await loader.stop();
  }
  const loadSeconds = (performance.now() - loading) / 1000;
  const started = performance.now(); // from the start of the process: plugins catch up while others load
  const rt = await BenchRuntime.start(env);
  try {
    rt.sampleRss();
    const seconds = (await rt.committed(events) - started) / 1000;
    return [
      row("ingest only (host, no plugins) embedded", events, loadSeconds, "HTTP → validated → durable log"),
      row(
        "backlog catch-up embedded",
        events,
        seconds,
        `${events} logged events, four plugins from zero (start-up included); peak RSS ${
          Math.round(rt.peakRss / MB)
        } MB (runtime + sandboxes)`,
        { peakRssBytes: rt.peakRss },
      ),
    ];
  } finally {
    await rt.stop();
  }
}

/** The naive consumer over `events` simulated events on a fresh database of `backend`. */
export async function naive(name: string, backend: Backend, events: number): Promise<Row> {
  const { databaseUrl, dataDir } = await backend.fresh();
  const store = databaseUrl ? await openPostgres(databaseUrl, 1) : await openPglite(dataDir);
  try {
    await prepareNaive(store);
    const all = [...batches(events)].flat();
    const started = performance.now();
    await consumeNaively(store, all);
    const seconds = (performance.now() - started) / 1000;
    return row(`naive ${name}`, events, seconds, "one transaction per event, one statement per aggregate");
  } finally {
    await store.close();
  }
}
