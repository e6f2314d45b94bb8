/**
 * Funnel matching over one unit's events (a user's, or a session's), sorted by time. Pure functions, so the
 * semantics are tested case by case without a database.
 *
 * Each event carries a bit mask of the steps it matches (bit `i` for step `i + 1`). Every eligible event
 * starts an attempt; the unit's result is its best attempt: the furthest step reached, the earliest start
 * on ties.
 */

/** The ways the steps of a funnel may follow each other. */
export const ORDERS = ["sequential", "strict", "any"] as const;

/** How the steps of a funnel must follow each other: see {@linkcode attemptFrom}. */
export type Order = typeof ORDERS[number];

/** One unit's events, sorted by (time, event_id): their times (ms) and step masks. */
export interface Timeline {
  ts: number[];
  masks: number[];
}

/** An attempt through the funnel: the event it started at, and when each reached step was done. */
export interface Attempt {
  start: number;
  /** Time (ms) each reached step was done; its length is the number of steps reached. */
  times: number[];
}

/** How a funnel is matched: its number of steps, its order and its conversion window (ms). */
export interface Rules {
  steps: number;
  order: Order;
  windowMs: number;
}

/**
 * The attempt starting at event `start`, which must match step 1 (or, in `any` order, some step). Steps are
 * done by distinct events, each within `windowMs` of the start.
 * - `sequential`: each step by a later event than the step before; other events may come between.
 * - `strict`: each step by the very next event of the unit; any other event ends the attempt.
 * - `any`: steps in any order; an event may do any one step it matches, assigned so that as many steps
 *   as possible are done (a maximum matching), and step `k` is done when `k` of them are.
 */
export function attemptFrom(t: Timeline, start: number, rules: Rules): Attempt {
  const { steps, order, windowMs } = rules;
  const deadline = t.ts[start] + windowMs;
  const times: number[] = [];
  if (order === "any") {
    const owner = new Array<number>(steps).fill(-1); // step → the event doing it
    for (let j = start; j < t.ts.length && t.ts[j] <= deadline && times.length < steps; j++) {
      if (t.masks[j] !== 0 && augment(t.masks, owner, j, new Set())) times.push(t.ts[j]);
    }
    return { start, times };
  }
  times.push(t.ts[start]);
  for (let j = start + 1; j < t.ts.length && t.ts[j] <= deadline && times.length < steps; j++) {
    if (t.masks[j] & (1 << times.length)) times.push(t.ts[j]);
    else if (order === "strict") break;
  }
  return { start, times };
}

/** Kuhn's augmenting path: gives event `j` a step, moving earlier events to other steps they match. */
function augment(masks: number[], owner: number[], j: number, seen: Set<number>): boolean {
  for (let s = 0; s < owner.length; s++) {
    if (!(masks[j] & (1 << s)) || seen.has(s)) continue;
    seen.add(s);
    if (owner[s] === -1 || augment(masks, owner, owner[s], seen)) {
      owner[s] = j;
      return true;
    }
  }
  return false;
}

/**
 * The unit's best attempt among those starting at an event before `until` (ms): the furthest step, the
 * earliest start on ties; null when no event may start one.
 */
export function bestAttempt(t: Timeline, rules: Rules, until = Infinity): Attempt | null {
  let best: Attempt | null = null;
  for (let i = 0; i < t.ts.length && t.ts[i] < until; i++) {
    const enters = rules.order === "any" ? t.masks[i] !== 0 : (t.masks[i] & 1) !== 0;
    if (!enters) continue;
    const a = attemptFrom(t, i, rules);
    if (best === null || a.times.length > best.times.length) best = a;
    if (best.times.length === rules.steps) break;
  }
  return best;
}

/** The median of `xs` (the mean of the middle two for an even count); null when empty. */
export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
