/**
 * The log's partitions: every event belongs to one of {@linkcode LOG_PARTITIONS}, by the user it is logged under (its
 * person, see `identity.ts`), with the hash Kafka's Java client and kafkajs use for message keys (murmur2). So a
 * plugin's runners can split the log between them and each still sees all of a user's events, in log order, and a
 * user is in log partition `p` exactly when a 16-partition topic keyed by user id has them in partition `p`.
 * @module
 */

/** How many partitions the log is split into: fixed, since checkpoints are kept per partition. */
export const LOG_PARTITIONS = 16;

/** Every partition, in order. */
export const ALL_PARTITIONS: readonly number[] = Array.from({ length: LOG_PARTITIONS }, (_, p) => p);

const M = 0x5bd1e995;
const SEED = 0x9747b28c;
const utf8 = new TextEncoder();

/** Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`) of `key`'s UTF-8 bytes, a signed 32-bit int. */
export function murmur2(key: string): number {
  const data = utf8.encode(key);
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  switch (length & 3) {
    case 3:
      h ^= data[whole + 2] << 16;
    // falls through
    case 2:
      h ^= data[whole + 1] << 8;
    // falls through
    case 1:
      h ^= data[whole];
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The log partition of a user id, as Kafka's default partitioner places that key among `count` partitions. */
export function partitionOf(userId: string, count = LOG_PARTITIONS): number {
  return (murmur2(userId) & 0x7fffffff) % count;
}
