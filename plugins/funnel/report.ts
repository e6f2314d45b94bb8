/**
 * A custom funnel's report, evaluated over the stored events when asked for: per step the users who got
 * there, conversion, drop-off, median time to convert and who dropped, optionally counting only the events that meet
 * property conditions, and broken down by a property of the event that entered the funnel or of its user.
 */
import {
  compareValues,
  type Condition,
  conditionsSql,
  type Env,
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

/** Users evaluated per round trip to the database. */
const PAGE_USERS = 2000;

/** A rate `a / b` to 4 decimals; 0 when `b` is 0. */
export const ratio = (a: number, b: number) => b === 0 ? 0 : Math.round((a / b) * 1e4) / 1e4;

/**
 * The SQL for one page of users who entered the funnel: their events (sorted by time, then event_id) as times in ms and
 * step masks (0 for an event that does not meet the conditions), the breakdown's value of each, and whether the user's
 * id sorts after $6 (null: no). A user property is the user's latest scalar value of the trait from `identify` events,
 * looked up once per user of the page.
 */
function pageSql(d: Definition, q: Pick<ReportQuery, "breakdown" | "conditions">): { text: string; params: unknown[] } {
  // $1..$6 are the page's own (range, cursor, types, past): the rest follow them.
  const params: unknown[] = new Array(6);
  const at = (v: unknown) => `$${params.push(v)}`;
  const terms = d.steps.map((s, i) =>
    `((type = ${at(s.type)} and properties @> ${at(JSON.stringify(s.where))}::jsonb)::int << ${i})`
  ).join(" | ");
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
  const mask = `(case when ${onEvent} and ${onUser} then ${terms} else 0 end)`;
  const first = d.steps[0];
  const entry = d.order === "any"
    ? `(${onEvent}) and (${terms}) <> 0`
    : `(${onEvent}) and type = ${at(first.type)} and properties @> ${at(JSON.stringify(first.where))}::jsonb`;
  const text = `
    with entrants as (
      select distinct e.user_id from events e
      where type = any($4::text[]) and ${entry} and e.user_id > $3
        and ($1::timestamptz is null or ts >= $1) and ($2::timestamptz is null or ts < $2)
      order by e.user_id limit ${PAGE_USERS}
    ), people as (select u.user_id${columns} from entrants u ${lookups.join(" ")})
    select e.user_id, coalesce(e.user_id > $6::text, false) as past,
      array_agg((extract(epoch from e.ts) * 1000)::int8 order by e.ts, e.position, e.event_id) as ts,
      array_agg(${mask} order by e.ts, e.position, e.event_id) as masks,
      array_agg(${key} order by e.ts, e.position, e.event_id) as keys
    from events e join people p using (user_id)
    where ($5::text[] is null or type = any($5::text[])) and ($1::timestamptz is null or e.ts >= $1)
      and ($2::timestamptz is null or e.ts <= $2::timestamptz + ${d.window_seconds} * interval '1 second')
    group by e.user_id order by e.user_id`;
  return { text, params: params.slice(6) };
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
 * `past` (a cursor, compared in the database); read {@linkcode PAGE_USERS} users at a time.
 */
export async function* entrants(
  db: Db,
  d: Definition,
  q: Pick<ReportQuery, "from" | "to" | "breakdown" | "conditions">,
  past: string | null = null,
): AsyncGenerator<Entrant> {
  let after = "";
  const rules: Rules = { steps: d.steps.length, order: d.order, windowMs: d.window_seconds * 1000 };
  const until = q.to === null ? Infinity : Date.parse(q.to);
  const { text, params } = pageSql(d, q);
  const entryTypes = d.order === "any" ? d.steps.map((s) => s.type) : [d.steps[0].type];
  // In strict order every event counts ($5 null), since any event between two steps ends the attempt.
  const allTypes = d.order === "strict" ? null : [...new Set(d.steps.map((s) => s.type))];
  for (;;) {
    const page = await db.query<
      { user_id: string; past: boolean; ts: number[]; masks: number[]; keys: (string | null)[] }
    >(
      text,
      [q.from, q.to, after, entryTypes, allTypes, past, ...params],
    );
    for (const u of page) {
      const best = bestAttempt(u, rules, until);
      // Its entering events fall in the range but not its own order's entry.
      if (best !== null) yield { user_id: u.user_id, past: u.past, times: best.times, key: u.keys[best.start] };
    }
    if (page.length < PAGE_USERS) return;
    after = page[page.length - 1].user_id;
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
