/**
 * Judging windows as the log goes by. The plugin's watermark advances event by event, in log order: it is the latest
 * median time of the last {@linkcode RECENT} events, so a device with a clock far ahead (fewer than half of them) does
 * not close windows nobody has reached. Each time the watermark passes a window's end by a rule's grace, that rule
 * judges that window with the counts of every event logged up to then. So a rule's verdicts depend on the log alone,
 * not on how it was cut into batches: a replay, a retried batch or another batch size judges alike.
 * @module
 */
import { decimalSum } from "@runtime/sdk";
import { type Counts, emptyCounts, eventsOf, kpiValue } from "./kpis.ts";
import { type StoredRule, WINDOWS } from "./rules.ts";

const HOUR = WINDOWS.hour;
/**
 * Windows that ended this long or longer before the watermark are passed over, news nobody would act on; so a jump of
 * the watermark past a long silence costs no more than a week of windows.
 */
export const STALE_MS = 7 * 86_400_000;
/** The events whose median time the watermark follows. */
export const RECENT = 25;

/** An event as judging needs it. */
export interface Tick {
  /** Event time (ms). */
  ms: number;
  type: string;
  /** Its revenue: a purchase's amount; 0 for any other event. */
  amount: number;
}

/** A rule firing on a window. */
export interface Fired {
  rule: string;
  kpi: string;
  window: StoredRule["window"];
  condition: StoredRule["condition"];
  threshold: number;
  window_start: number;
  value: number;
  /** The window before's value, for rises_by and falls_by. */
  previous: number | null;
  events: number;
  /** The watermark that closed the window (ms). */
  judged_at: number;
}

/** The counts per hour start (ms), as far as they are known. */
export type Hours = Map<number, Counts>;

/** Where the log stands for judging: the watermark (ms; null before any event), and the recent event times. */
export interface Clock {
  watermark: number | null;
  /** The times of the last {@linkcode RECENT} events, in log order. */
  recent: number[];
}

/** What judging a batch gives: what fired, each rule's next window, and the clock after it. */
export interface Judged extends Clock {
  fired: Fired[];
  next: Map<string, number | null>;
}

/** The window of width `size` holding `ms`. */
export const windowOf = (ms: number, size: number) => Math.floor(ms / size) * size;

/** `(value − previous) / previous` to 4 decimals: as an alert shows it, and as rules compare it. */
export const changeOf = (value: number, previous: number) => Math.round((value - previous) / previous * 1e4) / 1e4;

/** The median (the lower one of an even count) of `times`. */
function median(times: readonly number[]): number {
  const sorted = times.toSorted((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** The event time by which some rule could judge a window, from a watermark (or first event) at `from`. */
export function firstClose(rules: readonly StoredRule[], from: number): number {
  let first = Infinity;
  for (const r of rules) {
    const size = WINDOWS[r.window];
    const next = r.next_window ?? windowOf(from, size);
    first = Math.min(first, next + size + r.grace_minutes * 60_000);
  }
  return first;
}

/**
 * The earliest hour whose counts judging may read, for a batch whose watermark starts at `from` (the watermark before
 * it, or its first event's time before any): each rule's next window and the one before it, and none that is stale
 * by then, since the watermark only grows.
 */
export function earliestHour(rules: readonly StoredRule[], from: number): number {
  const floor = windowOf(from - STALE_MS, WINDOWS.day) - 2 * WINDOWS.day;
  let earliest = Infinity;
  for (const r of rules) {
    const size = WINDOWS[r.window];
    earliest = Math.min(earliest, (r.next_window ?? windowOf(from, size)) - size);
  }
  return Math.max(earliest, floor);
}

/**
 * Judges `batch` (in log order) against `rules`, from `clock`: `hours` holds the counts of every event before the batch
 * for the hours judging may read (from {@linkcode earliestHour}), and takes the batch's as they come.
 */
export function judgeBatch(
  rules: readonly StoredRule[],
  clock: Clock,
  hours: Hours,
  batch: readonly Tick[],
): Judged {
  const next = new Map(rules.map((r) => [r.name, r.next_window]));
  const fired: Fired[] = [];
  const recent = [...clock.recent];
  let w = clock.watermark;
  for (const e of batch) {
    const hour = hours.get(windowOf(e.ms, HOUR)) ??
      hours.set(windowOf(e.ms, HOUR), emptyCounts()).get(windowOf(e.ms, HOUR))!;
    hour.byType[e.type] = (hour.byType[e.type] ?? 0) + 1;
    if (e.amount !== 0) hour.revenue = decimalSum([hour.revenue, e.amount]);
    recent.push(e.ms);
    if (recent.length > RECENT) recent.shift();
    const m = median(recent);
    if (w !== null && m <= w) continue; // the watermark stays: nothing closes
    w = m;
    for (const r of rules) {
      const size = WINDOWS[r.window];
      let start = next.get(r.name) ?? windowOf(w, size); // a rule saved before any event starts at the first
      const grace = r.grace_minutes * 60_000;
      start = Math.max(start, windowOf(w - STALE_MS, size)); // the windows before are stale: passed over
      for (; start + size + grace <= w; start += size) {
        const verdict = judgeWindow(r, start, hours);
        if (verdict) fired.push({ ...verdict, judged_at: w });
      }
      next.set(r.name, start);
    }
  }
  return { fired, next, watermark: w, recent };
}

/** The counts of the window of `size` from `start`. */
function countsOf(hours: Hours, start: number, size: number): Counts {
  const out = emptyCounts();
  const revenue: string[] = [];
  for (let h = start; h < start + size; h += HOUR) {
    const c = hours.get(h);
    if (!c) continue;
    for (const [type, n] of Object.entries(c.byType)) out.byType[type] = (out.byType[type] ?? 0) + n;
    revenue.push(c.revenue);
  }
  out.revenue = decimalSum(revenue);
  return out;
}

/** Whether rule `r` fires on the window from `start`, and on what. */
function judgeWindow(r: StoredRule, start: number, hours: Hours): Omit<Fired, "judged_at"> | null {
  const size = WINDOWS[r.window];
  const now = countsOf(hours, start, size);
  const events = eventsOf(now);
  const value = kpiValue(r.kpi, now);
  if (events < r.min_events || value === null) return null;
  let previous: number | null = null;
  let fires: boolean;
  if (r.condition === "above") fires = value > r.threshold;
  else if (r.condition === "below") fires = value < r.threshold;
  else {
    const before = countsOf(hours, start - size, size);
    previous = kpiValue(r.kpi, before);
    if (eventsOf(before) < r.min_events || previous === null || previous <= 0) return null;
    const change = changeOf(value, previous);
    fires = r.condition === "rises_by" ? change >= r.threshold : change <= -r.threshold;
  }
  if (!fires) return null;
  const { name: rule, kpi, window, condition, threshold } = r;
  return { rule, kpi, window, condition, threshold, window_start: start, value, previous, events };
}
