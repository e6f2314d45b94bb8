import assert from "node:assert/strict";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { expectedOverview } from "./oracles/stats.ts";
import { type KafkaConfig, loadConfig } from "../runtime/core/config.ts";
import { EventLog } from "../runtime/core/event_log.ts";
import { createLogger } from "../runtime/observability/logger.ts";
import { MetricsRegistry } from "../runtime/observability/metrics.ts";
import { KafkaSource } from "../runtime/sources/kafka/mod.ts";
import { migrateHost, openPglite } from "../runtime/store/mod.ts";
import type { Event } from "../runtime/core/event.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { rng, Simulator } from "../runtime/sources/simulator/mod.ts";
import {
  BACKENDS,
  getJson,
  pluginsFolder,
  postJson,
  REPO,
  startTestRuntime,
  waitFor,
  waitForCatchUp,
} from "./support/harness.ts";
import { mockClusterAvailable, startMockCluster } from "./support/kafka_mock_cluster.ts";

const TOPIC = "user-events";
// Under CI the mock cluster must be buildable: a missing librdkafka fails the tests rather than skipping them.
const ENABLED = Deno.env.get("CI") === "true" || await mockClusterAvailable();

/**
 * The mock cluster answers Metadata with controller id 0, a broker that does not exist, and kafkajs asks
 * the controller for an idempotent producer's id: so against the mock the producer runs non-idempotent.
 * Duplicates from retries would still count once: the log de-duplicates by event_id.
 */
function kafkaConfig(bootstrap: string): KafkaConfig {
  return {
    brokers: [bootstrap],
    topics: [TOPIC],
    group: `g-${crypto.randomUUID().slice(0, 8)}`,
    idempotent: false,
    sessionTimeoutMs: 6000,
    fetchMinBytes: 65_536,
    fetchMaxWaitMs: 100,
    transforms: new Map(),
  };
}

function client(bootstrap: string): Kafka {
  return new Kafka({ clientId: "test", brokers: [bootstrap], logLevel: logLevel.NOTHING });
}

/** What a Kafka test gets: a mock cluster with one topic, a client, and ways to produce to it. */
interface KafkaFixture {
  bootstrap: string;
  kafka: Kafka;
  produce: (messages: { key: string; value: string }[]) => Promise<unknown>;
  send: (events: Event[]) => Promise<unknown>;
}

/** Runs `fn` with a mock cluster whose topic has `partitions` partitions; stops it all afterwards. */
async function withKafka(partitions: number, fn: (k: KafkaFixture) => Promise<void>): Promise<void> {
  const cluster = await startMockCluster(1, { [TOPIC]: partitions });
  const kafka = client(cluster.bootstrap);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const produce = (messages: { key: string; value: string }[]) => producer.send({ topic: TOPIC, messages });
  try {
    await fn({
      bootstrap: cluster.bootstrap,
      kafka,
      produce,
      send: (events) => produce(events.map((e) => ({ key: e.user_id, value: JSON.stringify(e) }))),
    });
  } finally {
    await producer.disconnect();
    await cluster.stop();
  }
}

/** Waits until the source has consumed everything in the topic and every plugin has caught up. */
async function drained(rt: Runtime, kafka: Kafka, expectedInLog: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(TOPIC);
    await waitFor("the source to reach the end of every partition", () => {
      const consumed = rt.source!.partitions();
      return ends.every((e) =>
        Number(e.high) === 0 || consumed.find((p) => p.partition === e.partition)?.offset === Number(e.high) - 1
      );
    }, 60_000);
  } finally {
    await admin.disconnect();
  }
  await waitFor(`${expectedInLog} events in the log`, () => rt.eventLog.head === expectedInLog);
  await waitForCatchUp(rt);
}

/** An event as the pipelines this runtime replaces write it: flat, its type `event_type`, its time without a zone. */
function flat(e: Event) {
  const { type, timestamp, properties, ...rest } = e;
  return { ...rest, event_type: type, event_timestamp: timestamp.replace("T", " ").replace("Z", ""), ...properties };
}

for (const backend of BACKENDS) {
  Deno.test({
    name:
      `[${backend.name}] a history produced to Kafka, with duplicates, poison and flat messages, lands exactly once`,
    ignore: !ENABLED || !backend.enabled,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      await withKafka(4, async ({ bootstrap, kafka, produce }) => {
        const random = rng(17);
        const events = new Simulator({ seed: 21, users: 150, start: new Date("2026-06-01T00:00:00Z") }).take(3000);
        const poison: string[] = [];
        const messages: { key: string; value: string }[] = [];
        for (let i = 0; i < events.length; i += 3) {
          const group = events.slice(i, i + 3);
          // Most messages hold one event; some an array; some are re-sent (duplicates); some are poison.
          if (random() < 0.2) messages.push({ key: group[0].user_id, value: JSON.stringify(group) });
          else {for (const e of group) {
              messages.push({ key: e.user_id, value: JSON.stringify(random() < 0.05 ? flat(e) : e) });
            }}
          if (random() < 0.05) messages.push({ key: group[0].user_id, value: JSON.stringify(group[0]) });
          if (random() < 0.02) {
            const r = random();
            const bad = r < 0.4 ? "{not json" : r < 0.6
              ? "x\u0000" // not JSON, and the parser's message quotes the NUL back
              : JSON.stringify({ ...group[0], event_id: `bad-${i}`, user_id: "" });
            poison.push(bad);
            messages.push({ key: group[0].user_id, value: bad });
          }
        }
        for (let i = 0; i < messages.length; i += 500) {
          await produce(messages.slice(i, i + 500));
        }

        const pluginsDir = await pluginsFolder([{ name: "stats", from: new URL("plugins/", REPO) }]);
        const rt = await startTestRuntime(backend, { pluginsDir, kafka: kafkaConfig(bootstrap) });
        try {
          await drained(rt, kafka, events.length);
          const ids = (await rt.store.query<{ event_id: string }>("select event_id from host.events")).map((r) =>
            r.event_id
          );
          assert.deepEqual(ids.sort(), events.map((e) => e.event_id).sort());
          assert.deepEqual(
            (await getJson(rt, "/api/stats/overview")).body,
            await expectedOverview(rt.store, null, null),
          );

          const letters = (await getJson(rt, "/api/dead-letters?limit=1000")).body;
          assert.ok(poison.length > 0);
          assert.equal(letters.total, poison.length);
          for (const l of letters.items) {
            const { topic, partition, offset } = l.payload.kafka;
            assert.equal(topic, TOPIC);
            assert.ok(partition >= 0 && partition < 4 && offset >= 0);
            assert.match(l.reason, new RegExp(`^${TOPIC}/${partition}@${offset}: `));
          }
          const { source } = (await getJson(rt, "/api/plugins")).body;
          assert.equal(source.kind, "kafka");
          assert.deepEqual(source.partitions.map((p: { partition: number; lag: number }) => [p.partition, p.lag]), [
            [0, 0],
            [1, 0],
            [2, 0],
            [3, 0],
          ]);
          const metrics = await (await rt.app.request("/metrics")).text();
          assert.match(metrics, /^source_partition_lag\{topic="user-events",partition="0"\} 0$/m);
          const notJson = poison.filter((p) => !/^\{"/.test(p)).length;
          assert.match(metrics, new RegExp(`^events_rejected_total\\{reason="not_json"\\} ${notJson}$`, "m"));
          assert.match(
            metrics,
            new RegExp(`^events_rejected_total\\{reason="schema"\\} ${poison.length - notJson}$`, "m"),
          );
        } finally {
          await rt.stop();
        }
      });
    },
  });
}

Deno.test({
  name: "with Kafka as the source, POST /v1/events answers after the broker acknowledged, and each event counts once",
  ignore: !ENABLED,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startMockCluster(1, { [TOPIC]: 2 });
    const kafka = client(cluster.bootstrap);
    const pluginsDir = await pluginsFolder([{ name: "counter" }]);
    const rt = await startTestRuntime(BACKENDS[0], { pluginsDir, kafka: kafkaConfig(cluster.bootstrap) });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const batch: Event[] = new Simulator({ seed: 5 }).take(100);
      const bad = { event_id: "no-user", type: "login", timestamp: "2026-01-01T00:00:00Z" };
      const first = await postJson(rt, "/v1/events", [...batch, bad]);
      assert.deepEqual(first.body, { accepted: 100, rejected: [{ index: 100, error: "user_id: is required" }] });
      // Acknowledged means in Kafka already: the partitions' ends account for every accepted event.
      const ends = await admin.fetchTopicOffsets(TOPIC);
      assert.equal(ends.reduce((n, p) => n + Number(p.high), 0), 100);
      assert.deepEqual((await postJson(rt, "/v1/events", batch)).body, { accepted: 100, rejected: [] });

      await drained(rt, kafka, 100);
      const counts = (await getJson(rt, "/api/counter/counts")).body.counts;
      assert.equal(Object.values(counts as Record<string, number>).reduce((a, b) => a + b, 0), 100);
      assert.equal((await getJson(rt, "/api/dead-letters")).body.total, 1);
    } finally {
      await admin.disconnect();
      await rt.stop();
      await cluster.stop();
    }
  },
});

Deno.test({
  name: "the Kafka source waits while a plugin lags too far behind, then resumes: nothing piles up, nothing is lost",
  ignore: !ENABLED,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withKafka(4, async ({ bootstrap, send }) => {
      const events = new Simulator({ seed: 13 }).take(1200);
      // In small sends, as producers do: each partition then holds many batches, and the source can stop between them.
      for (let i = 0; i < events.length; i += 40) await send(events.slice(i, i + 40));
      const pluginsDir = await pluginsFolder([{ name: "slow" }]);
      const rt = await startTestRuntime(BACKENDS[0], { pluginsDir, kafka: kafkaConfig(bootstrap), maxLag: 50 });
      try {
        // Sample while the slow plugin works through the backlog: the log must stop growing while it lags.
        let heldBack = 0;
        await waitFor("the slow plugin to finish", async () => {
          const [slow] = rt.plugins.list();
          if (slow.lag > 50 && rt.eventLog.head < events.length) heldBack++;
          await new Promise((r) => setTimeout(r, 50));
          return rt.eventLog.head === events.length && slow.lag === 0;
        }, 120_000);
        assert.ok(heldBack > 10, `the source was seen waiting ${heldBack} times`);
        assert.equal((await rt.store.query("select count(*)::int8 as n from slow.seen"))[0].n, events.length);
      } finally {
        await rt.stop();
      }
    });
  },
});

Deno.test({
  name: "a new database joining an old consumer group reads the topic again from its own stored offsets",
  ignore: !ENABLED,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withKafka(2, async ({ bootstrap, kafka, send }) => {
      const sim = new Simulator({ seed: 77 });
      await send(sim.take(300));
      const config = kafkaConfig(bootstrap);
      const pluginsDir = await pluginsFolder([{ name: "counter" }]);
      const first = await startTestRuntime(BACKENDS[0], { pluginsDir, kafka: config });
      await drained(first, kafka, 300);
      await first.stop(); // the group's committed offsets are now at the end of the topic
      const second = await startTestRuntime(BACKENDS[0], { pluginsDir, kafka: config }); // a fresh database
      try {
        await drained(second, kafka, 300);
        await send(sim.take(100));
        await drained(second, kafka, 400);
      } finally {
        await second.stop();
      }
    });
  },
});

Deno.test({
  name: "a topic in KAFKA_TRANSFORMS goes through its plugin's transform: Shopify orders from an outside producer",
  ignore: !ENABLED,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const ORDERS = "shop-orders";
    const cluster = await startMockCluster(1, { [TOPIC]: 1, [ORDERS]: 1 });
    const kafka = client(cluster.bootstrap);
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const pluginsDir = await pluginsFolder([{ name: "shop_orders", from: new URL("examples/", REPO) }]);
    const config = {
      ...kafkaConfig(cluster.bootstrap),
      topics: [TOPIC, ORDERS],
      transforms: new Map([[ORDERS, "shop_orders"]]),
    };
    const rt = await startTestRuntime(BACKENDS[0], { pluginsDir, kafka: config });
    try {
      const order = (id: number, customer: { id: number } | null) => ({
        id,
        created_at: "2026-03-01T10:00:00Z",
        currency: "EUR",
        total_price: "20.00",
        customer,
        line_items: [{ sku: "MUG-1", price: "10.00", quantity: 2 }],
      });
      await producer.send({
        topic: ORDERS,
        messages: [order(1, { id: 7 }), order(2, null), order(3, { id: 8 })].map((o) => ({ value: JSON.stringify(o) })),
      });
      // The other topic's messages are events as they are, not orders.
      await producer.send({
        topic: TOPIC,
        messages: [{ value: JSON.stringify(new Simulator({ seed: 3 }).take(1)[0]) }],
      });
      await waitFor("two orders and an event in the log", () => rt.eventLog.head === 3, 60_000);
      const logged = await rt.store.query<{ id: string; user: string }>(
        "select event_id as id, user_id as user from host.events where type = 'purchase' order by event_id",
      );
      assert.deepEqual(logged, [{ id: "shopify-order-1", user: "shopify-7" }, {
        id: "shopify-order-3",
        user: "shopify-8",
      }]);
      const letters = (await getJson(rt, "/api/dead-letters?stage=transform:shop_orders")).body.items;
      assert.equal(letters.length, 1);
      assert.equal(letters[0].reason, `${ORDERS}/0@1: a guest order has no customer id to count it under`);
      assert.deepEqual(letters[0].payload.kafka, { topic: ORDERS, partition: 0, offset: 1, index: 0 });
    } finally {
      await producer.disconnect();
      await rt.stop();
      await cluster.stop();
    }
  },
});

Deno.test({
  name: "start-up stops with one clear line when KAFKA_TRANSFORMS names a plugin without a transform",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "counter" }]);
    const config = { ...kafkaConfig("127.0.0.1:1"), transforms: new Map([[TOPIC, "counter"]]) };
    await assert.rejects(
      startTestRuntime(BACKENDS[0], { pluginsDir, kafka: config }),
      new Error(
        "Cannot start: KAFKA_TRANSFORMS sends topic user-events through plugin counter, which is not loaded with a transform",
      ),
    );
  },
});

Deno.test({
  name:
    "the consumer's fetches wait KAFKA_FETCH_MAX_WAIT_MS on an idle topic, as the broker is asked (not kafkajs' 5 s)",
  ignore: !ENABLED,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startMockCluster(1, { [TOPIC]: 2 });
    const store = await openPglite("memory://");
    // librdkafka's mock holds a fetch that finds no data for its whole MaxWait: kafkajs' own timing of each fetch
    // tells the wait the consumer asked for.
    const kafka = client(cluster.bootstrap);
    const consumer = kafka.consumer.bind(kafka);
    const fetches: number[] = [];
    kafka.consumer = (options) => {
      const c = consumer(options);
      c.on(c.events.FETCH, (e) => fetches.push(e.payload.duration));
      return c;
    };
    const metrics = new MetricsRegistry();
    let source: KafkaSource | undefined;
    try {
      await migrateHost(store);
      const eventLog = new EventLog(store, metrics);
      await eventLog.open();
      source = new KafkaSource({
        kafka,
        config: { ...kafkaConfig(cluster.bootstrap), fetchMaxWaitMs: 300 },
        eventLog,
        metrics,
        logger: createLogger("error"),
        money: loadConfig({}).money,
        paused: () => false,
      });
      await source.start();
      await waitFor("five fetches of the idle topic", () => fetches.length >= 5, 20_000);
      const sorted = [...fetches].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)];
      assert.ok(median >= 250 && median < 2_500, `fetches took ${fetches.join(", ")} ms`);
    } finally {
      await source?.stop();
      await store.close();
      await cluster.stop();
    }
  },
});
