/**
 * Where the history is dense, and what training it supports. A few events dated years before the history (an import
 * with a wrong clock) or after it (a device with a wrong clock) must not become "now", nor push the snapshots into
 * empty years: the dense part is the runs of days without a long gap that hold a real share of the events.
 */
import type { Env } from "@runtime/sdk";

type Db = Env["db"];

const DAY = 86_400_000;
/** A gap of more than this many days without an event separates two runs of days. */
export const RUN_GAP_DAYS = 14;
/** A run belongs to the dense part when it holds at least this share of all events. */
export const DENSE_SHARE = 0.05;

/** The dense part of the history: from the midnight of its first day to its latest event (ms). */
export interface Span {
  from: number;
  to: number;
}

/** The dense part of the history, from the plugin's `days`; null before any event. */
export async function denseSpan(db: Db): Promise<Span | null> {
  const [span] = await db.query<{ from: number | null; to: number | null }>(
    `with d as (
       select day, events, last_ts, coalesce(day - lag(day) over (order by day) > ${RUN_GAP_DAYS}, false) as breaks
       from days
     ), r as (
       select *, count(*) filter (where breaks) over (order by day) as run from d
     ), runs as (
       select min(day) as first, max(last_ts) as last, sum(events) as events from r group by run
     )
     select (extract(epoch from min(first)::timestamp) * 1000)::int8 as from,
       (extract(epoch from max(last)) * 1000)::int8 as to
     from runs where events >= ${DENSE_SHARE} * (select sum(events) from runs)`,
  );
  return span?.from == null || span.to == null ? null : { from: Number(span.from), to: Number(span.to) };
}

/** How a training is laid out on the history. */
export interface Plan {
  /** The label: no event in this many days after a snapshot. */
  horizonDays: number;
  /** Days between two snapshot moments. */
  stepDays: number;
  /** Snapshot moments (ms, midnights), oldest first. */
  moments: number[];
  /** The first holdout moment; training uses moments whose labels were known by then. */
  holdoutFrom: number;
  /** The training moments. */
  trainMoments: number[];
}

/** Snapshots start once users can have this much history. */
export const WARMUP_DAYS = 7;
/** The shortest horizon training falls back to on a short history. */
export const MIN_HORIZON_DAYS = 7;
/** An honest split needs at least this many moments on each side. */
const MIN_TRAIN_MOMENTS = 3;
const MIN_HOLDOUT_MOMENTS = 2;
/** Snapshot moments a training looks at, the latest ones. */
const MAX_MOMENTS = 180;

/**
 * The training plan for the dense `span`: the configured horizon and step when the history allows them, else daily
 * snapshots, then shorter horizons down to {@linkcode MIN_HORIZON_DAYS}. A string says what is missing.
 */
export function planTraining(span: Span | null, cfg: { horizonDays: number; stepDays: number }): Plan | string {
  const needed = WARMUP_DAYS + 2 * MIN_HORIZON_DAYS + MIN_TRAIN_MOMENTS + MIN_HOLDOUT_MOMENTS;
  if (span === null) return `no events yet; training needs about ${needed} days of history`;
  for (let horizon = cfg.horizonDays; horizon >= Math.min(MIN_HORIZON_DAYS, cfg.horizonDays); horizon--) {
    for (const step of new Set([cfg.stepDays, 1])) {
      const plan = layout(span, horizon, step);
      if (plan) return plan;
    }
  }
  const have = Math.floor((span.to - span.from) / DAY);
  return `${have} days of dense history; training needs about ${needed} (a ${MIN_HORIZON_DAYS}-day horizon on each ` +
    `side of a time split, after ${WARMUP_DAYS} days of warm-up)`;
}

/** Moments every `step` days from the warm-up to the last midnight whose horizon has passed, split by time. */
function layout(span: Span, horizon: number, step: number): Plan | null {
  const last = Math.floor(span.to / DAY) * DAY - horizon * DAY;
  const first = Math.max(span.from + WARMUP_DAYS * DAY, last - (MAX_MOMENTS - 1) * step * DAY);
  const moments: number[] = [];
  for (let t = last; t >= first; t -= step * DAY) moments.unshift(t); // aligned on the latest moment
  if (moments.length === 0) return null;
  // The latest quarter of moments is the holdout; training only on moments whose labels were known by its start.
  const holdoutFrom = moments[moments.length - Math.max(MIN_HOLDOUT_MOMENTS, Math.round(moments.length / 4))];
  const trainMoments = moments.filter((t) => t + horizon * DAY <= holdoutFrom);
  if (holdoutFrom === undefined || trainMoments.length < MIN_TRAIN_MOMENTS) return null;
  return { horizonDays: horizon, stepDays: step, moments, holdoutFrom, trainMoments };
}
