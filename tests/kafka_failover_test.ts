import assert from "node:assert/strict";
import { Kafka, logLevel, Partitioners, type Producer } from "kafkajs";
import { expectedOverview } from "./oracles/stats.ts";
import { rng, Simulator } from "../runtime/sources/simulator/mod.ts";
import { openPglite, openPostgres } from "../runtime/store/mod.ts";
import {
  type Backend,
  BACKENDS,
  type Json,
  pluginsFolder,
  REPO,
  type RuntimeProcess,
  spawnRuntime,
  waitFor,
} from "./support/harness.ts";
import { type MockCluster, mockClusterAvailable, startMockCluster } from "./support/kafka_mock_cluster.ts";

const TOPIC = "user-events";
const ENABLED = Deno.env.get("CI") === "true" || await mockClusterAvailable();
const [PGLITE, POSTGRES] = BACKENDS;

/**
 * Produces simulated events (and some re-sent duplicates, ~250 events/s) until stopped; remembers every
 * acknowledged one. Kept modest: the mock cluster drops a partition's oldest messages past ~5 MB.
 */
function produceInBackground(producer: Producer, seed: number) {
  const sim = new Simulator({ seed, users: 120, start: new Date("2026-07-01T00:00:00Z") });
  const random = rng(seed);
  const acked = new Set<string>();
  let running = true;
  const done = (async () => {
    while (running) {
      const batch = sim.take(50);
      const dups = batch.filter(() => random() < 0.05);
      await producer.send({
        topic: TOPIC,
        messages: [...batch, ...dups].map((e) => ({ key: e.user_id, value: JSON.stringify(e) })),
      });
      for (const e of batch) acked.add(e.event_id);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    acked,
    async stop() {
      running = false;
      await done;
    },
  };
}

interface Setup {
  cluster: MockCluster;
  kafka: Kafka;
  producer: Producer;
  env: Record<string, string>;
  db: { databaseUrl?: string; dataDir: string };
}

async function setup(backend: Backend): Promise<Setup> {
  const cluster = await startMockCluster(1, { [TOPIC]: 4 });
  const kafka = new Kafka({ clientId: "test", brokers: [cluster.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const db = await backend.fresh();
  const env = {
    KAFKA_BROKERS: cluster.bootstrap,
    KAFKA_TOPICS: TOPIC,
    KAFKA_GROUP: `g-${crypto.randomUUID().slice(0, 8)}`,
    KAFKA_IDEMPOTENT: "false", // the mock's metadata names no controller (see kafka_test.ts)
    KAFKA_SESSION_TIMEOUT_MS: "3000",
    PLUGINS_DIR: await pluginsFolder([{ name: "stats", from: new URL("plugins/", REPO) }]),
    DATA_DIR: db.dataDir,
    ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
  };
  return { cluster, kafka, producer, env, db };
}

/** Waits until `rt` has consumed every partition to its end and its plugins have caught up. */
async function drained(rt: RuntimeProcess, kafka: Kafka): Promise<Json> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(TOPIC);
  await admin.disconnect();
  let last: Json = null;
  return await waitFor("the runtime to drain the topic", async () => {
    const body = last = await (await fetch(`${rt.url}/api/plugins`)).json();
    const stored = new Map(
      body.source.partitions.map((p: { partition: number; offset: number }) => [p.partition, p.offset]),
    );
    const consumed = ends.every((e) => Number(e.high) === 0 || stored.get(e.partition) === Number(e.high) - 1);
    return consumed && body.plugins.every((p: { lag: number; status: string }) => p.lag === 0 && p.status === "running")
      ? body
      : null;
  }, 90_000).catch((e) => {
    throw new Error(`${e.message}; ends ${JSON.stringify(ends)}; last /api/plugins ${JSON.stringify(last)}`);
  });
}

/** Every acknowledged event is in the log, once, and stats equal a recomputation from the log. */
async function assertExact(s: Setup, acked: Set<string>, overview: Json): Promise<void> {
  const store = s.db.databaseUrl ? await openPostgres(s.db.databaseUrl) : await openPglite(s.db.dataDir);
  try {
    const logged = (await store.query<{ event_id: string }>("select event_id from host.events")).map((r) => r.event_id);
    assert.equal(logged.length, acked.size);
    assert.deepEqual(new Set(logged), acked);
    assert.deepEqual(overview, await expectedOverview(store, null, null));
  } finally {
    await store.close();
  }
}

async function finish(s: Setup, rt: RuntimeProcess, acked: Set<string>): Promise<void> {
  await drained(rt, s.kafka);
  const overview = await (await fetch(`${rt.url}/api/stats/overview`)).json();
  rt.child.kill("SIGTERM");
  assert.equal((await rt.child.status).code, 0, "graceful shutdown");
  await s.producer.disconnect();
  await s.cluster.stop();
  await assertExact(s, acked, overview);
}

for (const backend of [PGLITE, POSTGRES]) {
  Deno.test({
    name:
      `[${backend.name}] Kafka source: SIGKILL at random points mid-stream, 10 rounds, loses and double-counts nothing`,
    ignore: !ENABLED || !backend.enabled,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const s = await setup(backend);
      const random = rng(3);
      const producing = produceInBackground(s.producer, 31);
      for (let round = 0; round < 10; round++) {
        const rt = spawnRuntime(s.env);
        await rt.ready();
        await new Promise((r) => setTimeout(r, 200 + random() * 1300));
        rt.child.kill("SIGKILL");
        await rt.child.status;
      }
      await producing.stop();
      assert.ok(producing.acked.size > 500, `${producing.acked.size} events produced`);
      const rt = spawnRuntime(s.env);
      await rt.ready();
      await finish(s, rt, producing.acked);
    },
  });
}

Deno.test({
  name:
    "[postgres] two runtimes in one group split the partitions; killing one hands its partitions over, totals exact",
  ignore: !ENABLED || !POSTGRES.enabled,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const s = await setup(POSTGRES);
    const producing = produceInBackground(s.producer, 41);
    const a = spawnRuntime(s.env);
    const b = spawnRuntime(s.env);
    await Promise.all([a.ready(), b.ready()]);
    const partitionsOf = async (rt: RuntimeProcess) =>
      (await (await fetch(`${rt.url}/api/plugins`)).json()).source.partitions.map((p: { partition: number }) =>
        p.partition
      );
    // Both take part: each consumes some of the four partitions.
    await waitFor(
      "both runtimes to consume",
      async () => (await partitionsOf(a)).length > 0 && (await partitionsOf(b)).length > 0,
    );
    a.child.kill("SIGKILL");
    await a.child.status;
    await new Promise((r) => setTimeout(r, 1000));
    await producing.stop();
    const body = await drained(b, s.kafka);
    assert.deepEqual(body.source.partitions.map((p: { partition: number }) => p.partition), [0, 1, 2, 3]);
    await finish(s, b, producing.acked);
  },
});

Deno.test({
  name: "[pglite] Kafka source: the broker down for a while, then up: consumption resumes, totals exact",
  ignore: !ENABLED,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const s = await setup(PGLITE);
    const sim = new Simulator({ seed: 8, users: 50 });
    const acked = new Set<string>();
    const send = async (n: number) => {
      const events = sim.take(n);
      await s.producer.send({
        topic: TOPIC,
        messages: events.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })),
      });
      for (const e of events) acked.add(e.event_id);
    };
    await send(400);
    const rt = spawnRuntime(s.env);
    await rt.ready();
    await drained(rt, s.kafka);
    await s.cluster.command("down 1");
    await new Promise((r) => setTimeout(r, 3000));
    const down = await fetch(`${rt.url}/healthz`);
    assert.equal(down.status, 200); // the runtime itself stays up
    await down.body?.cancel();
    await s.cluster.command("up 1");
    await send(400);
    await finish(s, rt, acked);
  },
});
