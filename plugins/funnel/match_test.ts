import assert from "node:assert/strict";
import { bestAttempt, median, type Order } from "./match.ts";

const MIN = 60_000;
const A = 1, B = 2, C = 4, X = 0; // step masks: A is step 1, B step 2, C step 3; X matches none

/** A timeline from [minute, mask] pairs. */
const timeline = (...events: [number, number][]) => ({
  ts: events.map(([m]) => m * MIN),
  masks: events.map(([, mask]) => mask),
});

/** Minutes at which each step was done in the best attempt, or null. */
function reached(order: Order, events: [number, number][], windowMin = Infinity, steps = 3, until = Infinity) {
  const best = bestAttempt(timeline(...events), { steps, order, windowMs: windowMin * MIN }, until * MIN);
  return best && best.times.map((t) => t / MIN);
}

Deno.test("sequential: steps in order, other events between them allowed", () => {
  assert.deepEqual(reached("sequential", [[0, A], [1, X], [2, B], [3, X], [4, C]]), [0, 2, 4]);
  assert.deepEqual(reached("sequential", [[0, A], [1, C], [2, B]]), [0, 2]); // C before B does not count
  assert.deepEqual(reached("sequential", [[0, B], [1, C]]), null); // never entered
});

Deno.test("strict: each step must be the very next event", () => {
  assert.deepEqual(reached("strict", [[0, A], [1, B], [2, C]]), [0, 1, 2]);
  assert.deepEqual(reached("strict", [[0, A], [1, X], [2, B], [3, C]]), [0]); // an event between ends it
  // A later attempt that is strict wins over an earlier broken one.
  assert.deepEqual(reached("strict", [[0, A], [1, X], [5, A], [6, B], [7, C]]), [5, 6, 7]);
});

Deno.test("any: steps in any order, each by a distinct event", () => {
  assert.deepEqual(reached("any", [[0, C], [1, A], [2, B]]), [0, 1, 2]);
  assert.deepEqual(reached("any", [[0, B], [1, B], [2, B]]), [0]); // one event per step: B thrice is one step
  // An event matching two steps takes whichever leaves the most done: A|B then A makes two steps, not one.
  assert.deepEqual(reached("any", [[0, A | B], [1, A]]), [0, 1]);
});

Deno.test("the conversion window bounds every step from the attempt's start, inclusively", () => {
  assert.deepEqual(reached("sequential", [[0, A], [10, B], [20, C]], 20), [0, 10, 20]);
  assert.deepEqual(reached("sequential", [[0, A], [10, B], [21, C]], 20), [0, 10]);
  // The first attempt runs out of time; a later start converts fully.
  assert.deepEqual(reached("sequential", [[0, A], [30, A], [40, B], [45, C]], 20), [30, 40, 45]);
  assert.deepEqual(reached("any", [[0, C], [30, A], [31, B]], 20), [30, 31]);
});

Deno.test("repeated steps need distinct events, in order", () => {
  const views = [[0, A | B], [5, A | B], [9, C]] as [number, number][]; // steps: view, view, purchase
  assert.deepEqual(reached("sequential", views), [0, 5, 9]);
  assert.deepEqual(reached("sequential", [[0, A | B], [9, C]]), [0]); // one view cannot be two steps
  assert.deepEqual(reached("strict", [[0, A | B], [1, A | B], [2, C]]), [0, 1, 2]);
});

Deno.test("the best attempt is the furthest, the earliest on ties, and starts before `until`", () => {
  assert.deepEqual(reached("sequential", [[0, A], [1, B], [5, A], [6, B]]), [0, 1]);
  assert.deepEqual(reached("sequential", [[0, A], [10, A], [11, B]], Infinity, 3, 10), [0, 11]); // 10 not before 10
  assert.deepEqual(reached("sequential", [[10, A], [11, B]], Infinity, 3, 10), null);
});

Deno.test("events at the same instant keep their (time, event_id) order", () => {
  assert.deepEqual(reached("sequential", [[0, A], [0, B], [0, C]]), [0, 0, 0]);
  assert.deepEqual(reached("sequential", [[0, B], [0, A]]), [0]); // B sorted before A: not after it
});

Deno.test("median() takes the middle, or the mean of the middle two", () => {
  assert.equal(median([]), null);
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 10]), 3.5);
});
