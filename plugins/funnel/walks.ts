/**
 * The walk counts paths read for whole days (`path_walks`): what each session counts, and what a batch changes when it
 * replaces sessions.
 */
import { partitionOf } from "@runtime/sdk";
import type { SessionPath } from "./sessions.ts";

/** The deepest paths go: each session's walks are counted this far. */
export const MAX_DEPTH = 6;

/** The walk counts to add to `path_walks`, per key: what `added` sessions count, less what `removed` ones did. */
export interface WalkDeltas {
  event: string[];
  forward: boolean[];
  day: string[];
  /** The walk's steps, nearest first, joined by spaces (no event type has one). */
  walk: string[];
  more: boolean[];
  shard: number[];
  sessions: number[];
}

/**
 * The change in walk counts when the `removed` sessions are replaced by the `added` ones. A session has two walks per
 * event type it does, from the first time it does it: forward and back, up to {@linkcode MAX_DEPTH} steps, counted on
 * the UTC day it started, in the shard of its user's log partition. Keys that net to nothing are left out; the rest are
 * sorted, so that a statement takes its row locks in one order.
 */
export function walkDeltas(added: SessionPath[], removed: SessionPath[]): WalkDeltas {
  const net = new Map<string, number>();
  const count = (sessions: SessionPath[], by: number) => {
    for (const { user_id, started_at, path } of sessions) {
      const day = new Date(started_at).toISOString().slice(0, 10);
      const shard = partitionOf(user_id);
      const seen = new Set<string>();
      path.forEach((event, i) => {
        if (seen.has(event)) return;
        seen.add(event);
        const after = path.slice(i + 1, i + 1 + MAX_DEPTH);
        const before = path.slice(Math.max(0, i - MAX_DEPTH), i).reverse();
        for (
          const [forward, walk, more] of [
            [true, after, path.length - 1 - i > MAX_DEPTH],
            [false, before, i > MAX_DEPTH],
          ] as const
        ) {
          const key = JSON.stringify([event, forward, day, walk.join(" "), more, shard]);
          net.set(key, (net.get(key) ?? 0) + by);
        }
      });
    }
  };
  count(added, 1);
  count(removed, -1);
  const out: WalkDeltas = { event: [], forward: [], day: [], walk: [], more: [], shard: [], sessions: [] };
  for (const key of [...net.keys()].sort()) {
    if (net.get(key) === 0) continue;
    const [event, forward, day, walk, more, shard] = JSON.parse(key) as [
      string,
      boolean,
      string,
      string,
      boolean,
      number,
    ];
    out.event.push(event);
    out.forward.push(forward);
    out.day.push(day);
    out.walk.push(walk);
    out.more.push(more);
    out.shard.push(shard);
    out.sessions.push(net.get(key)!);
  }
  return out;
}
