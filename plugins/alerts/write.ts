/**
 * The batch's reads and writes: the clock and the stored hours judging needs, and then, in the batch's transaction,
 * its counts, the clock, each rule's next window and what fired.
 * @module
 */
import { decimalSum, type Env } from "@runtime/sdk";
import {
  type Clock,
  earliestHour,
  type Fired,
  firstClose,
  type Hours,
  type Judged,
  type Tick,
  windowOf,
} from "./judge.ts";
import { type CountRow, COUNTS_SQL, countsByStart, typesRead } from "./kpis.ts";
import { type StoredRule, WINDOWS } from "./rules.ts";

type Db = Env["db"];
const iso = (ms: number) => new Date(ms).toISOString();

/** The plugin's clock, as the last batch left it. */
export async function loadClock(db: Db): Promise<Clock> {
  const [s] = await db.query<{ watermark: string | null; recent: number[] }>("select watermark, recent from state");
  return { watermark: s.watermark === null ? null : new Date(s.watermark).getTime(), recent: s.recent.map(Number) };
}

/**
 * The stored counts of the hours judging `ticks` may read, each type a rule reads on its own row and the others summed:
 * none when no window of `rules` can close within the batch, which is most batches.
 */
export async function hoursToJudge(
  db: Db,
  rules: readonly StoredRule[],
  watermark: number | null,
  ticks: readonly Tick[],
): Promise<Hours> {
  if (rules.length === 0 || ticks.length === 0) return new Map();
  const from = watermark ?? ticks[0].ms;
  const latest = ticks.reduce((m, t) => Math.max(m, t.ms), from); // the watermark cannot pass the latest event
  if (firstClose(rules, from) > latest) return new Map();
  const rows = await db.query<CountRow>(COUNTS_SQL, [
    iso(earliestHour(rules, from)),
    iso(latest),
    WINDOWS.hour,
    typesRead(rules.map((r) => r.kpi)),
  ]);
  return countsByStart(rows);
}

/** Writes the batch's counts, the clock and the rules' next windows; answers the alerts it stored. */
export async function writeBatch(
  db: Db,
  ticks: readonly Tick[],
  rules: readonly StoredRule[],
  judged: Judged,
): Promise<(Fired & { id: number })[]> {
  const counts = new Map<string, { hour: number; type: string; events: number; amounts: number[] }>();
  for (const t of ticks) {
    const hour = windowOf(t.ms, WINDOWS.hour);
    const key = `${hour} ${t.type}`;
    const c = counts.get(key) ?? counts.set(key, { hour, type: t.type, events: 0, amounts: [] }).get(key)!;
    c.events++;
    if (t.amount !== 0) c.amounts.push(t.amount);
  }
  // Sorted by key: upserts take their row locks in one order.
  const rows = [...counts.values()].sort((a, b) => a.hour - b.hour || (a.type < b.type ? -1 : 1));
  await db.query(
    `with counted as (
       insert into hours (hour, type, events, revenue)
       select * from unnest($1::timestamptz[], $2::text[], $3::int8[], $4::numeric[])
       on conflict (hour, type) do update set events = hours.events + excluded.events,
         revenue = hours.revenue + excluded.revenue
     )
     update state set watermark = $5::timestamptz, recent = $6::float8[]`,
    [
      rows.map((r) => iso(r.hour)),
      rows.map((r) => r.type),
      rows.map((r) => r.events),
      rows.map((r) => decimalSum(r.amounts)),
      judged.watermark === null ? null : iso(judged.watermark),
      judged.recent,
    ],
  );
  const moved = rules.filter((r) => judged.next.get(r.name) !== r.next_window);
  if (moved.length === 0 && judged.fired.length === 0) return [];
  const f = judged.fired;
  const stored = await db.query<{ id: number; rule: string; window: string; window_start: string }>(
    `with moved as (
       -- Only a rule not saved again meanwhile: a save gives it a new version and resets its next window.
       update rules set next_window = m.next
       from unnest($1::text[], $2::timestamptz[], $3::int8[]) as m(name, next, version)
       where rules.name = m.name and rules.version = m.version
     )
     insert into fired (rule, kpi, "window", condition, threshold, window_start, value, previous, events, judged_at)
     select * from unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::timestamptz[],
       $10::float8[], $11::float8[], $12::int8[], $13::timestamptz[])
     on conflict (rule, "window", window_start) do nothing
     returning id, rule, "window", window_start`,
    [
      moved.map((r) => r.name),
      moved.map((r) => iso(judged.next.get(r.name)!)),
      moved.map((r) => r.version),
      f.map((x) => x.rule),
      f.map((x) => x.kpi),
      f.map((x) => x.window),
      f.map((x) => x.condition),
      f.map((x) => x.threshold),
      f.map((x) => iso(x.window_start)),
      f.map((x) => x.value),
      f.map((x) => x.previous),
      f.map((x) => x.events),
      f.map((x) => iso(x.judged_at)),
    ],
  );
  const key = (rule: string, window: string, start: number) => `${rule} ${window} ${start}`;
  const ids = new Map(stored.map((s) => [key(s.rule, s.window, new Date(s.window_start).getTime()), Number(s.id)]));
  return f.filter((x) => ids.has(key(x.rule, x.window, x.window_start)))
    .map((x) => ({ ...x, id: ids.get(key(x.rule, x.window, x.window_start))! }));
}
