/**
 * A custom funnel's report, evaluated over the stored events when asked for: per step the users who got
 * there, conversion, drop-off, median time to convert and who dropped, optionally counting only the events that meet
 * property conditions, and broken down by a property of the event that entered the funnel or of its user.
 */
import { z } from "zod";
import {
  compareValues,
  type Condition,
  conditionsSql,
  type Env,
  HttpError,
  MAX_VALUE_LENGTH,
  type Property,
  propertyText,
  valueText,
} from "@runtime/sdk";
import type { Definition } from "./definitions.ts";
import { bestAttempt, median, type Rules } from "./match.ts";

type Db = Env["db"];

/** What a report is asked for. */
export interface ReportQuery {
  /** Entries (the event starting an attempt) from this time on; later steps may follow within the window. */
  from: string | null;
  /** Entries before this time. */
  to: string | null;
  /** A property of the entering event, or of its user, to break the counts down by. */
  breakdown: Property | null;
  /** How many of the breakdown's values to list, those with the most users; the rest count as other. */
  breakdownLimit: number;
  /** What an event must meet to count as any step. */
  conditions: Condition[];
  /** How many of the users who dropped before each step to list. */
  droppedLimit: number;
}

/** funnel's settings (`PLUGIN_FUNNEL`), parsed by the host with this schema. */
export const Config = z.strictObject({
  /**
   * The most events of its steps a custom funnel's report may read in its range (see {@linkcode assertScannable}): it
   * evaluates every user who entered, which took 6 to 9 s over the last 7 days at 10 million events on PostgreSQL,
   * against the plugin's 10 s limit per request (docs/performance.md, "Funnel reports").
   */
  maxScanEvents: z.int().min(1).max(100_000_000).default(200_000),
});

/**
 * Refuses, with a 400 saying why, a report (or its users) of funnel `d` over a range where more than `maxScanEvents`
 * events may be read: those of its steps' types (of every type in strict order) from `from` to `to` plus the conversion
 * window, every user's, whatever the conditions. Counts no further than that.
 */
export async function assertScannable(env: Env, d: Definition, q: Pick<ReportQuery, "from" | "to">): Promise<void> {
  const { maxScanEvents } = env.config as z.infer<typeof Config>; // validated by the host with Config
  const types = readTypes(d);
  const [{ events }] = await env.db.query<{ events: number }>(
    `select count(*)::int8 as events from (
       select from events where ($1::text[] is null or type = any($1::text[]))
         and ($2::timestamptz is null or ts >= $2)
         and ($3::timestamptz is null or ts <= $3::timestamptz + $4::int * interval '1 second')
       limit $5::int8
     ) e`,
    [types, q.from, q.to, d.window_seconds, maxScanEvents + 1],
  );
  if (events > maxScanEvents) {
    const what = types === null ? "events" : `${types.join(", ")} events`;
    throw new HttpError(
      400,
      `a funnel report reads the events of its steps from \`from\` to \`to\` plus the conversion window, and more ` +
        `than ${maxScanEvents} ${what} fall there (PLUGIN_FUNNEL maxScanEvents); choose a shorter range`,
    );
  }
}

/** The event types that may start an attempt at funnel `d`. */
const entryTypes = (d: Definition) => d.order === "any" ? [...new Set(d.steps.map((s) => s.type))] : [d.steps[0].type];

/** The event types a report of funnel `d` reads; null for all, in strict order (any event between steps ends one). */
const readTypes = (d: Definition) => d.order === "strict" ? null : [...new Set(d.steps.map((s) => s.type))];

/** Users evaluated per round trip to the database. */
const PAGE_USERS = 2000;
/** Entrants listed per round trip: at most 50,000 ids of up to 128 characters, about 7 MiB of JSON. */
const LIST_USERS = 50_000;

/** A rate `a / b` to 4 decimals; 0 when `b` is 0. */
export const ratio = (a: number, b: number) => b === 0 ? 0 : Math.round((a / b) * 1e4) / 1e4;

/** SQL: the step mask of an event (bit `i` for step `i + 1`), its parameters placed by `at`. */
function stepMask(d: Definition, at: (v: unknown) => string): string {
  return d.steps.map((s, i) =>
    `((type = ${at(s.type)} and properties @> ${at(JSON.stringify(s.where))}::jsonb)::int << ${i})`
  ).join(" | ");
}

/** SQL: whether an event may start an attempt, given the conditions on the event (`onEvent`). */
function entrySql(d: Definition, onEvent: string, at: (v: unknown) => string): string {
  const first = d.steps[0];
  return d.order === "any"
    ? `(${onEvent}) and (${stepMask(d, at)}) <> 0`
    : `(${onEvent}) and type = ${at(first.type)} and properties @> ${at(JSON.stringify(first.where))}::jsonb`;
}

/**
 * The SQL listing the users who entered the funnel in the range, by user_id, from the first after $4 (in the database's
 * order), at most $5: a pass over the range's events of the types that may start an attempt. $1..$3: the range and
 * those types; the rest follow.
 */
function entrantsSql(d: Definition, q: Pick<ReportQuery, "conditions">): { text: string; params: unknown[] } {
  const params: unknown[] = new Array(5);
  const at = (v: unknown) => `$${params.push(v)}`;
  const onEvent = conditionsSql(q.conditions.filter((c) => !c.property.user), params, (p) => {
    return `properties -> ${at(p.name)}::text`;
  });
  const text = `
    select distinct user_id from events
    where type = any($3::text[]) and ${entrySql(d, onEvent, at)} and user_id > $4::text
      and ($1::timestamptz is null or ts >= $1) and ($2::timestamptz is null or ts < $2)
    order by user_id limit $5::int`;
  return { text, params: params.slice(5) };
}

/**
 * The SQL for one page of the users who entered the funnel ($3, their ids): their events (sorted by time, then
 * event_id) as times in ms and step masks (0 for an event that does not meet the conditions), the breakdown's value of
 * each, and whether the user's id sorts after $5 (null: no). $1..$2 the range, $4 the types read (null: all). A user
 * property is the user's latest scalar value of the trait from `identify` events, looked up once per user of the page.
 */
function pageSql(d: Definition, q: Pick<ReportQuery, "breakdown" | "conditions">): { text: string; params: unknown[] } {
  // $1..$5 are the page's own (range, ids, types, past): the rest follow them.
  const params: unknown[] = new Array(5);
  const at = (v: unknown) => `$${params.push(v)}`;
  const traits = new Map<string, string>(); // a trait's name → its column in `people`
  const read = (p: Property): string => {
    if (!p.user) return `e.properties -> ${at(p.name)}::text`;
    if (!traits.has(p.name)) traits.set(p.name, `t${traits.size}`);
    return `p.${traits.get(p.name)}`;
  };
  // Conditions on the event narrow the users who enter; those on the user are tested with their traits, per event.
  const onEvent = conditionsSql(q.conditions.filter((c) => !c.property.user), params, read);
  const onUser = conditionsSql(q.conditions.filter((c) => c.property.user), params, read);
  const key = q.breakdown === null ? "null::text" : valueText(read(q.breakdown));
  const lookups = [...traits].map(([name, column]) => {
    const v = `i.properties -> 'traits' -> ${at(name)}::text`;
    return `left join lateral (
        select ${v} as ${column} from events i
        where i.user_id = u.user_id and i.type = 'identify' and (jsonb_typeof(${v}) in ('number', 'boolean')
          or jsonb_typeof(${v}) = 'string' and length(${v} #>> '{}') <= ${MAX_VALUE_LENGTH})
        order by i.ts desc, i.position desc nulls last, i.event_id desc limit 1
      ) ${column} on true`;
  });
  const columns = [...traits.values()].map((c) => `, ${c}.${c}`).join("");
  const mask = `(case when ${onEvent} and ${onUser} then ${stepMask(d, at)} else 0 end)`;
  const text = `
    with people as (select u.user_id${columns} from unnest($3::text[]) as u(user_id) ${lookups.join(" ")})
    select e.user_id, coalesce(e.user_id > $5::text, false) as past,
      array_agg((extract(epoch from e.ts) * 1000)::int8 order by e.ts, e.position, e.event_id) as ts,
      array_agg(${mask} order by e.ts, e.position, e.event_id) as masks,
      array_agg(${key} order by e.ts, e.position, e.event_id) as keys
    from events e join people p using (user_id)
    where ($4::text[] is null or type = any($4::text[])) and ($1::timestamptz is null or e.ts >= $1)
      and ($2::timestamptz is null or e.ts <= $2::timestamptz + ${d.window_seconds} * interval '1 second')
    group by e.user_id order by e.user_id`;
  return { text, params: params.slice(5) };
}

/** A user who entered a funnel, with their best attempt. */
export interface Entrant {
  user_id: string;
  /** Whether the id sorts after the `past` cursor, in the database's order. */
  past: boolean;
  /** When each step of the best attempt was done (ms), in order: its length is the furthest step. */
  times: number[];
  /** The breakdown property on the event that started the best attempt, or null. */
  key: string | null;
}

/**
 * Every user who entered funnel `d` in the range, by user_id, with their best attempt and whether their id sorts after
 * `past` (a cursor, compared in the database). The entrants are listed `listUsers` at a time (a pass over the range's
 * entering events each, and a list well under the sandbox's 16 MiB per message whatever the ids' length), and their
 * events read `pageUsers` users at a time.
 */
export async function* entrants(
  db: Db,
  d: Definition,
  q: Pick<ReportQuery, "from" | "to" | "breakdown" | "conditions">,
  past: string | null = null,
  { pageUsers = PAGE_USERS, listUsers = LIST_USERS } = {},
): AsyncGenerator<Entrant> {
  const rules: Rules = { steps: d.steps.length, order: d.order, windowMs: d.window_seconds * 1000 };
  const until = q.to === null ? Infinity : Date.parse(q.to);
  const listed = entrantsSql(d, q);
  const { text, params } = pageSql(d, q);
  const entering = entryTypes(d);
  const types = readTypes(d);
  for (let after = "";;) {
    const ids = (await db.query<{ user_id: string }>(
      listed.text,
      [q.from, q.to, entering, after, listUsers, ...listed.params],
    )).map((r) => r.user_id);
    for (let i = 0; i < ids.length; i += pageUsers) {
      const page = await db.query<
        { user_id: string; past: boolean; ts: number[]; masks: number[]; keys: (string | null)[] }
      >(
        text,
        [q.from, q.to, ids.slice(i, i + pageUsers), types, past, ...params],
      );
      for (const u of page) {
        const best = bestAttempt(u, rules, until);
        // Its entering events fall in the range but not its own order's entry.
        if (best !== null) yield { user_id: u.user_id, past: u.past, times: best.times, key: u.keys[best.start] };
      }
    }
    if (ids.length < listUsers) return;
    after = ids[ids.length - 1];
  }
}

/** Evaluates funnel `d` over every user who entered it in the range. */
export async function report(db: Db, d: Definition, q: ReportQuery) {
  const last = d.steps.length - 1;
  const reached = new Array<number>(last + 1).fill(0);
  const waits = d.steps.map((): number[] => []);
  const dropped = d.steps.map((): string[] => []);
  const breakdown = new Map<string | null, number[]>();
  for await (const u of entrants(db, d, q)) {
    const n = u.times.length;
    for (let i = 0; i < n; i++) reached[i]++;
    for (let i = 1; i < n; i++) waits[i].push((u.times[i] - u.times[i - 1]) / 1000);
    if (n <= last && dropped[n].length < q.droppedLimit) dropped[n].push(u.user_id);
    if (q.breakdown !== null) {
      const key = u.key;
      const row = breakdown.get(key) ?? new Array<number>(last + 1).fill(0);
      for (let i = 0; i < n; i++) row[i]++;
      breakdown.set(key, row);
    }
  }
  const steps = d.steps.map((s, k) => {
    const wait = median(waits[k]);
    return {
      step: k + 1,
      type: s.type,
      where: s.where,
      users: reached[k],
      conversion_from_start: ratio(reached[k], reached[0]),
      conversion_from_previous: k === 0 ? ratio(reached[0], reached[0]) : ratio(reached[k], reached[k - 1]),
      drop_off: k === 0 ? 0 : reached[k - 1] - reached[k],
      median_seconds_to_convert: wait === null ? null : Math.round(wait * 1000) / 1000,
      dropped_users: dropped[k],
    };
  });
  // The values with the most entrants (ties by value), then every other one together.
  const ranked = [...breakdown].sort(([a, m], [b, n]) => n[0] - m[0] || compareValues(a, b));
  const rest = ranked.slice(q.breakdownLimit);
  const row = (key: string | null, other: boolean, users: number[]) => ({
    key,
    other,
    users,
    conversion_rate: ratio(users[last], users[0]),
  });
  const rows = ranked.slice(0, q.breakdownLimit).map(([key, users]) => row(key, false, users));
  if (rest.length > 0) {
    const sum = rest.reduce((acc, [, users]) => acc.map((x, i) => x + users[i]), new Array<number>(last + 1).fill(0));
    rows.push(row(null, true, sum));
  }
  return {
    name: d.name,
    order: d.order,
    window_seconds: d.window_seconds,
    from: q.from,
    to: q.to,
    users: reached[0],
    conversion_rate: ratio(reached[last], reached[0]),
    steps,
    ...(q.breakdown === null ? {} : { breakdown: { by: propertyText(q.breakdown), rows } }),
  };
}
