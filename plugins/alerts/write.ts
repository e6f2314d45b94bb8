/**
 * The batch's reads and writes: the stored hours judging needs, and then, in the batch's transaction, its counts, the
 * watermark, each rule's next window and what fired.
 * @module
 */
import { decimalSum, type Env } from "@runtime/sdk";
import { earliestHour, type Fired, firstClose, type Hours, type Judged, type Tick, windowOf } from "./judge.ts";
import { type StoredRule, WINDOWS } from "./rules.ts";

type Db = Env["db"];

/**
 * The stored counts of the hours judging `ticks` may read: none when no window of `rules` can close within the batch,
 * which is most batches.
 */
export async function hoursToJudge(
  db: Db,
  rules: readonly StoredRule[],
  watermark: number | null,
  ticks: readonly Tick[],
): Promise<Hours> {
  const hours: Hours = new Map();
  if (rules.length === 0 || ticks.length === 0) return hours;
  const from = watermark ?? ticks[0].ms;
  const latest = ticks.reduce((m, t) => Math.max(m, t.ms), from);
  if (firstClose(rules, from) > latest) return hours;
  const rows = await db.query<{ hour: string; type: string; events: number; revenue: number }>(
    "select hour, type, events, revenue from hours where hour >= $1 and hour <= $2",
    [new Date(earliestHour(rules, from)).toISOString(), new Date(latest).toISOString()],
  );
  for (const r of rows) {
    const hour = new Date(r.hour).getTime();
    const c = hours.get(hour) ?? { byType: {}, revenue: 0 };
    c.byType[r.type] = Number(r.events);
    c.revenue += Number(r.revenue);
    hours.set(hour, c);
  }
  return hours;
}

/** Writes the batch's counts, the watermark and the rules' next windows; answers the alerts it stored (new ones). */
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
       select to_timestamp(h / 1000.0), t, n, r from unnest($1::float8[], $2::text[], $3::int8[], $4::numeric[]) as u(h, t, n, r)
       on conflict (hour, type) do update set events = hours.events + excluded.events,
         revenue = hours.revenue + excluded.revenue
     )
     update state set watermark = greatest(watermark, to_timestamp($5 / 1000.0))`,
    [
      rows.map((r) => r.hour),
      rows.map((r) => r.type),
      rows.map((r) => r.events),
      rows.map((r) => decimalSum(r.amounts)),
      judged.watermark,
    ],
  );
  const moved = rules.filter((r) => judged.next.get(r.name) !== r.next_window);
  if (moved.length === 0 && judged.fired.length === 0) return [];
  const f = judged.fired;
  const stored = await db.query<{ id: number; rule: string; window_start: string }>(
    `with moved as (
       -- Only a rule not saved again meanwhile: a save resets its next window.
       update rules set next_window = to_timestamp(m.next / 1000.0)
       from unnest($1::text[], $2::float8[], $3::int8[]) as m(name, next, version)
       where rules.name = m.name and rules.version = m.version
     )
     insert into fired (rule, kpi, "window", condition, threshold, window_start, value, previous, events, judged_at)
     select * from unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::timestamptz[],
       $10::float8[], $11::float8[], $12::int8[], $13::timestamptz[])
     on conflict (rule, window_start) do nothing
     returning id, rule, window_start`,
    [
      moved.map((r) => r.name),
      moved.map((r) => judged.next.get(r.name)),
      moved.map((r) => r.version),
      f.map((x) => x.rule),
      f.map((x) => x.kpi),
      f.map((x) => x.window),
      f.map((x) => x.condition),
      f.map((x) => x.threshold),
      f.map((x) => new Date(x.window_start).toISOString()),
      f.map((x) => x.value),
      f.map((x) => x.previous),
      f.map((x) => x.events),
      f.map((x) => new Date(x.judged_at).toISOString()),
    ],
  );
  const ids = new Map(stored.map((s) => [`${s.rule} ${new Date(s.window_start).getTime()}`, Number(s.id)]));
  return f.filter((x) => ids.has(`${x.rule} ${x.window_start}`))
    .map((x) => ({ ...x, id: ids.get(`${x.rule} ${x.window_start}`)! }));
}
