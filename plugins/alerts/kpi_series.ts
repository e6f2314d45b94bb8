/**
 * `GET /kpis`: a KPI per hour or day over a range of windows, from the stored hours, every event counted so far (a
 * window judged before a late event came shows it here, not in its alert).
 * @module
 */
import { type Env, HttpError } from "@runtime/sdk";
import type { z } from "zod";
import type { KpisQuery } from "./api.ts";
import { type CountRow, COUNTS_SQL, countsByStart, emptyCounts, eventsOf, kpiValue, typesRead } from "./kpis.ts";
import { WINDOWS } from "./rules.ts";
import { windowOf } from "./judge.ts";

/** The most windows one answer holds. */
export const MAX_POINTS = 1000;
/** The windows answered without `from`: this many up to the last. */
const DEFAULT_POINTS = 48;

/** The KPI of `q` per window. */
export async function kpiSeries(db: Env["db"], q: z.output<typeof KpisQuery>) {
  const size = WINDOWS[q.window];
  const [{ watermark }] = await db.query<{ watermark: string | null }>("select watermark from state");
  const w = watermark === null ? null : new Date(watermark).getTime();
  const last = q.to ? windowOf(Date.parse(q.to) - 1, size) : w === null ? null : windowOf(w, size);
  const base = { kpi: q.kpi, window: q.window, watermark: w === null ? null : new Date(w).toISOString() };
  if (last === null) return { ...base, points: [] };
  const first = q.from ? windowOf(Date.parse(q.from), size) : last - (DEFAULT_POINTS - 1) * size;
  if (first > last) return { ...base, points: [] };
  if ((last - first) / size + 1 > MAX_POINTS) {
    throw new HttpError(400, `at most ${MAX_POINTS} windows: from and to span ${(last - first) / size + 1}`);
  }
  const rows = await db.query<CountRow>(COUNTS_SQL, [
    new Date(first).toISOString(),
    new Date(last + size - WINDOWS.hour).toISOString(), // the last window's last hour
    size,
    typesRead([q.kpi]),
  ]);
  const windows = countsByStart(rows);
  const points = [];
  for (let start = first; start <= last; start += size) {
    const c = windows.get(start) ?? emptyCounts();
    points.push({ start: new Date(start).toISOString(), value: kpiValue(q.kpi, c), events: eventsOf(c) });
  }
  return { ...base, points };
}
