import assert from "node:assert/strict";
import { mergeSessions, movedSessions, SESSION_GAP_MS } from "./sessions.ts";

const MIN = 60_000;
type Counted = { start: number; end: number; events: number; cart: boolean };
const points = (...ts: number[]): Counted[] =>
  ts.map((t) => ({ start: t * MIN, end: t * MIN, events: 1, cart: false }));
const merge = (xs: Counted[]) =>
  mergeSessions(xs, (into, from) => {
    into.events += from.events;
    into.cart ||= from.cart;
  });

Deno.test("mergeSessions() splits at a gap of 30 minutes or more", () => {
  assert.equal(SESSION_GAP_MS, 30 * MIN);
  assert.deepEqual(merge(points(0, 10, 39, 69, 98)), [
    { start: 0, end: 39 * MIN, events: 3, cart: false }, // 29 minutes apart: same session
    { start: 69 * MIN, end: 98 * MIN, events: 2, cart: false }, // 30 minutes after 39: a new one
  ]);
});

Deno.test("mergeSessions() gives the same sessions whatever order events arrive in", () => {
  const times = [0, 5, 29, 60, 61, 95, 130, 131, 200];
  let merged = merge([]);
  // Feed events one at a time in a scrambled order, merging into the sessions so far, as batches do.
  for (const t of [131, 0, 95, 60, 200, 5, 130, 61, 29]) merged = merge([...merged, ...points(t)]);
  assert.deepEqual(merged, merge(points(...times)));
  assert.deepEqual(merged.map((s) => s.events), [3, 2, 1, 2, 1]);
});

Deno.test("mergeSessions() joins two sessions when a late event closes the gap between them", () => {
  const before = merge(points(0, 40));
  assert.equal(before.length, 2);
  const late = { ...points(20)[0], cart: true };
  assert.deepEqual(merge([...before, late]), [{ start: 0, end: 40 * MIN, events: 3, cart: true }]);
});

Deno.test("movedSessions() keeps explicit sessions by key and gathers inferred ones per person", () => {
  const rows = [
    { into: "p", key: "s:x", explicit: true, start: 1, end: 2 },
    { into: "p", key: "a:5", explicit: false, start: 5, end: 6 },
    { into: "q", key: "a:7", explicit: false, start: 7, end: 9 },
    { into: "p", key: "a:8", explicit: false, start: 8, end: 8 },
  ];
  const moved = movedSessions(rows, (r) => ({ start: r.start, end: r.end }));
  assert.deepEqual(moved, {
    explicit: [{ start: 1, end: 2, user: "p", key: "s:x" }],
    inferred: [
      { user: "p", parts: [{ start: 5, end: 6 }, { start: 8, end: 8 }] },
      { user: "q", parts: [{ start: 7, end: 9 }] },
    ],
  });
});
