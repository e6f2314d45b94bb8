/**
 * The offline truth of breakdowns and property filters: the raw log's events under their final person, filtered and
 * grouped here in plain code, with each person's latest traits replayed from the log's identify events (a group's
 * traits are the group's). Shares no code with stats.
 */
import type { Sql } from "../../runtime/store/mod.ts";
import { logByPerson } from "./persons.ts";

/** One event of the log, as the oracle reads it. */
interface LoggedEvent {
  user_id: string;
  type: string;
  ms: number;
  p: Record<string, unknown>;
}

/** What is asked: a range (ISO, open when null), conditions as the query writes them, a property to break down by. */
export interface BreakdownAsk {
  from: string | null;
  to: string | null;
  where: string[];
  by: string | null;
  limit: number;
}

/** The log's events and each person's traits (the latest of each by event time, then log position). */
async function load(sql: Sql) {
  const log = await logByPerson(sql);
  const rows = await sql.query<{ user_id: string; type: string; ts: string; p: Record<string, unknown> }>(
    `select user_id, type, ts, body->'properties' as p from ${log} order by position`,
  );
  const events: LoggedEvent[] = rows.map((r) => ({ ...r, ms: Date.parse(r.ts) }));
  const traits = new Map<string, Map<string, unknown>>();
  const stamped = rows.map((r, position) => ({ ...r, position, ms: Date.parse(r.ts) }))
    .filter((r) => r.type === "identify" && typeof r.p.traits === "object" && r.p.traits !== null)
    .sort((a, b) => a.ms - b.ms || a.position - b.position);
  for (const r of stamped) {
    const mine = traits.get(r.user_id) ?? new Map<string, unknown>();
    for (const [name, value] of Object.entries(r.p.traits as Record<string, unknown>)) mine.set(name, value);
    traits.set(r.user_id, mine);
  }
  return { events, traits };
}

/** A value written as text the way JSON scalars read as text; null when absent or null. */
function text(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  return typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** Bytewise order of UTF-8 text. */
function bytewise(a: string, b: string): number {
  const [x, y] = [new TextEncoder().encode(a), new TextEncoder().encode(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** The figures of a group of events. */
function figuresOf(events: LoggedEvent[]) {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
  const byType = Object.fromEntries(counts);
  const purchases = events.filter((e) => e.type === "purchase");
  // Amounts in millionths, summed as integers.
  const micros = purchases.reduce((s, e) => s + Math.round(Number(e.p.amount ?? 0) * 1e6), 0);
  const revenue = micros / 1e6;
  const users = new Set(events.map((e) => e.user_id)).size;
  const views = (byType.page_view ?? 0) + (byType.product_view ?? 0);
  const carts = byType.add_to_cart ?? 0;
  const r4 = (a: number, b: number) => b === 0 ? 0 : Math.round((a / b) * 1e4) / 1e4;
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    events: events.length,
    users,
    purchases: purchases.length,
    revenue: r2(revenue),
    by_type: byType,
    conversion_rate: r4(purchases.length, views),
    cart_rate: r4(carts, views),
    checkout_rate: r4(purchases.length, carts),
    aov: r2(purchases.length ? revenue / purchases.length : 0),
    revenue_per_user: r2(users ? revenue / users : 0),
  };
}

/** The events `ask` keeps, each with its breakdown value, and the rows in order (top values, then other). */
async function kept(sql: Sql, ask: BreakdownAsk) {
  const { events, traits } = await load(sql);
  const lo = ask.from === null ? -Infinity : Math.floor(Date.parse(ask.from) / 60_000) * 60_000;
  const hi = ask.to === null ? Infinity : Math.ceil(Date.parse(ask.to) / 60_000) * 60_000;
  const valueOf = (e: LoggedEvent, name: string): unknown =>
    name.startsWith("user.") ? traits.get(e.user_id)?.get(name.slice(5)) : e.p[name];
  const meets = (e: LoggedEvent, condition: string) => {
    const [name, op, ...rest] = condition.split(":");
    const given = rest.join(":");
    const v = valueOf(e, name);
    const t = text(v);
    if (op === "eq") return t === given;
    if (op === "ne") return t !== given;
    if (op === "contains") return t !== null && t.toLowerCase().includes(given.toLowerCase());
    if (op === "set") return t !== null;
    if (op === "unset") return t === null;
    if (typeof v !== "number") return false;
    return { gt: v > Number(given), gte: v >= Number(given), lt: v < Number(given), lte: v <= Number(given) }[op]!;
  };
  const chosen = events.filter((e) => e.ms >= lo && e.ms < hi && ask.where.every((c) => meets(e, c)))
    .map((e) => ({ ...e, key: ask.by === null ? null : text(valueOf(e, ask.by)) }));
  const counts = new Map<string | null, number>();
  for (const e of chosen) counts.set(e.key, (counts.get(e.key) ?? 0) + 1);
  const ranked = [...counts].sort(([a, m], [b, n]) =>
    n - m || (a === null ? 1 : 0) - (b === null ? 1 : 0) || bytewise(a ?? "", b ?? "")
  );
  const top = new Set(ranked.slice(0, ask.limit).map(([k]) => k));
  const rows = [
    ...ranked.slice(0, ask.limit).map(([key]) => ({ key, other: false })),
    ...(ranked.length > ask.limit ? [{ key: null, other: true }] : []),
  ];
  const rowOf = (e: { key: string | null }) =>
    top.has(e.key) ? rows.find((r) => !r.other && r.key === e.key)! : rows.at(-1)!;
  return { chosen, rows, rowOf };
}

/** `/overview` with `where` and `breakdown`: its figures (sessions aside) and its rows. */
export async function expectedOverviewBreakdown(sql: Sql, ask: BreakdownAsk) {
  const { chosen, rows, rowOf } = await kept(sql, ask);
  return {
    ...figuresOf(chosen),
    rows: ask.by === null ? [] : rows.map((r) => ({ ...r, ...figuresOf(chosen.filter((e) => rowOf(e) === r)) })),
  };
}

/** `/timeseries` with `where` and `breakdown`: per bucket from `first` (ms) of `width` ms, each row's numbers. */
export async function expectedSeriesBreakdown(
  sql: Sql,
  ask: BreakdownAsk,
  first: number,
  width: number,
  count: number,
) {
  const { chosen, rows, rowOf } = await kept(sql, ask);
  return Array.from({ length: count }, (_, i) => {
    const start = first + i * width;
    const inBucket = chosen.filter((e) => e.ms >= start && e.ms < start + width);
    return rows.map((r) => {
      const mine = inBucket.filter((e) => rowOf(e) === r);
      const f = figuresOf(mine);
      return { start: new Date(start).toISOString(), ...r, events: f.events, revenue: f.revenue, users: f.users };
    });
  }).flat();
}
