import assert from "node:assert/strict";
import { Partitioners } from "kafkajs";
import { LOG_PARTITIONS, partitionOf } from "./partitions.ts";

/** kafkajs' default partitioner, unchanged: where it puts a message keyed `key` among `count` live partitions. */
function kafkajsPartition(key: string, count: number): number {
  const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
  }));
  const partitioner = Partitioners.DefaultPartitioner();
  return partitioner({ topic: "user-events", partitionMetadata, message: { key, value: "" } });
}

Deno.test("partitionOf() places user ids where kafkajs' default partitioner places the same keys", () => {
  const keys = [
    "",
    "a",
    "ab",
    "abc",
    "abcd",
    "user-1",
    "anon-7f3c9e",
    "émilie@example.com",
    "用户",
    "🙂x",
    "x".repeat(129),
  ];
  for (let i = 0; i < 500; i++) keys.push(`u${i * 7919}-${(i * 104729).toString(36)}`);
  for (const count of [LOG_PARTITIONS, 3, 7]) {
    for (const key of keys) assert.equal(partitionOf(key, count), kafkajsPartition(key, count), `key ${key}, ${count}`);
  }
});

Deno.test("partitionOf() spreads users over every partition", () => {
  const spread = new Set(Array.from({ length: 200 }, (_, i) => partitionOf(`user-${i}`)));
  assert.equal(spread.size, LOG_PARTITIONS);
});
