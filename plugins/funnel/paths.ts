/**
 * Paths: from (or to) an event, the steps sessions took next (or before), several levels deep. Each session counts
 * once, from its first time doing the event; a step is an event type, a run of one type counted once. Whole days are
 * read from walk counts that each batch moves as it replaces sessions (`path_walks`), parts of days from the sessions'
 * paths, so every answer is exact under late events, duplicates and merges.
 */
import type { Env } from "@runtime/sdk";
import { ratio } from "./report.ts";

type Db = Env["db"];

/** Which way from the event paths go. */
export const DIRECTIONS = ["next", "previous"] as const;

/** The step that stands for the steps outside a level's most frequent ones; no event type can be written so. */
export const OTHER = "(other)";

/** What paths are asked for. */
export interface PathsQuery {
  /** The event type paths start from (or end at). */
  event: string;
  /** `next`: the steps after the event; `previous`: the steps before it, nearest first. */
  direction: typeof DIRECTIONS[number];
  /** How many steps from the event. */
  depth: number;
  /** The most frequent steps kept at each level; the rest are {@linkcode OTHER}. */
  width: number;
  /** How many of the most frequent whole paths to list. */
  top: number;
  /** Sessions starting at or after this time. */
  from: string | null;
  /** Sessions starting before this time. */
  to: string | null;
}

/** A step at a level: level 0 is the event itself. */
export interface PathNode {
  level: number;
  step: string;
  sessions: number;
  /** Of the sessions with the event. */
  share: number;
  /** Sessions with no step after this one (`next`: the session ended) or before it (`previous`: it began). */
  drop_off: number;
}

/** Sessions going from a step at `level - 1` to one at `level`. */
export interface PathLink {
  level: number;
  from: string;
  to: string;
  sessions: number;
}

/** Paths' answer. */
export interface Paths {
  event: string;
  direction: PathsQuery["direction"];
  depth: number;
  from: string | null;
  to: string | null;
  sessions: number;
  nodes: PathNode[];
  links: PathLink[];
  top_paths: { steps: string[]; sessions: number }[];
}

/**
 * Each distinct walk of up to `depth` steps from the event, whether the session goes on past it, and its sessions: one
 * row per walk, not per session. Over whole UTC days ($4, $5: dates, either null when open), from the walks counted per
 * day as batches store sessions (`path_walks`, nearest step first both ways)...
 */
const DAILY_SQL = `
  select array_to_string(walk[1 : $3], ' ') as steps, cardinality(walk) > $3 or more as more,
    sum(sessions)::int8 as sessions
  from path_walks
  where event = $1 and forward = ($2 = 'next') and ($4::date is null or day >= $4) and ($5::date is null or day < $5)
  group by 1, 2
  having sum(sessions) > 0`;

/** ...and over parts of days, from the sessions themselves (the steps before the event in time order). */
const SESSIONS_SQL = `
  select array_to_string(case when $2 = 'next' then path[i + 1 : i + $3] else path[greatest(i - $3, 1) : i - 1] end,
      ' ') as steps,
    case when $2 = 'next' then cardinality(path) - i > $3 else i - 1 > $3 end as more,
    count(*)::int8 as sessions
  from (
    select path, array_position(path, $1) as i from sessions
    where ($4::timestamptz is null or started_at >= $4) and ($5::timestamptz is null or started_at < $5)
  ) s
  where i is not null
  group by 1, 2`;

const DAY_MS = 86_400_000;

/**
 * A range of session starts split into the whole UTC days it holds (null when none; an end null when open) and the
 * parts of days at its edges.
 */
function split(from: string | null, to: string | null) {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const lo = from === null ? null : Math.ceil(Date.parse(from) / DAY_MS) * DAY_MS;
  const hi = to === null ? null : Math.floor(Date.parse(to) / DAY_MS) * DAY_MS;
  if (lo !== null && hi !== null && lo >= hi) return { days: null, edges: [[from, to]] };
  const edges: [string | null, string | null][] = [];
  if (from !== null && lo !== Date.parse(from)) edges.push([from, new Date(lo!).toISOString()]);
  if (to !== null && hi !== Date.parse(to)) edges.push([new Date(hi!).toISOString(), to]);
  return { days: [lo === null ? null : day(lo), hi === null ? null : day(hi)], edges };
}

/**
 * Each distinct walk from the event over the range, nearest step first, with whether its sessions go on past it and
 * how many they are: whole days from the counts per day, the parts of days at the edges from the sessions.
 */
async function walksIn(db: Db, q: PathsQuery) {
  const { days, edges } = split(q.from, q.to);
  const sessions = new Map<string, { steps: string[]; more: boolean; sessions: number }>();
  const add = (rows: { steps: string; more: boolean; sessions: number }[], reverse: boolean) => {
    for (const r of rows) {
      const steps = r.steps === "" ? [] : r.steps.split(" ");
      if (reverse) steps.reverse();
      const key = `${steps.join(" ")} ${r.more}`;
      const walk = sessions.get(key) ?? { steps, more: r.more, sessions: 0 };
      walk.sessions += Number(r.sessions);
      sessions.set(key, walk);
    }
  };
  if (days) add(await db.query(DAILY_SQL, [q.event, q.direction, q.depth, ...days]), false);
  for (const [from, to] of edges) {
    add(await db.query(SESSIONS_SQL, [q.event, q.direction, q.depth, from, to]), q.direction === "previous");
  }
  return [...sessions.values()];
}

/** Paths from or to `q.event`, over the sessions starting in the range. */
export async function paths(db: Db, q: PathsQuery): Promise<Paths> {
  const walks = await walksIn(db, q);
  const total = walks.reduce((n, w) => n + w.sessions, 0);
  const name = kept(walks, q.depth, q.width);
  const nodes = new Map<string, PathNode>();
  const links = new Map<string, PathLink>();
  for (const w of walks) {
    const named = [q.event, ...w.steps.map((s, k) => name(k + 1, s))];
    named.forEach((step, level) => {
      const key = JSON.stringify([level, step]);
      const node = nodes.get(key) ?? { level, step, sessions: 0, share: 0, drop_off: 0 };
      node.sessions += w.sessions;
      if (level === w.steps.length && !w.more) node.drop_off += w.sessions;
      nodes.set(key, node);
      if (level === 0) return;
      const linkKey = JSON.stringify([level, named[level - 1], step]);
      const link = links.get(linkKey) ?? { level, from: named[level - 1], to: step, sessions: 0 };
      link.sessions += w.sessions;
      links.set(linkKey, link);
    });
  }
  for (const node of nodes.values()) node.share = ratio(node.sessions, total);
  // By level, then most sessions first, '(other)' last; ties by name.
  const order = (a: [number, string, number, string], b: [number, string, number, string]) =>
    a[0] - b[0] || Number(a[1] === OTHER) - Number(b[1] === OTHER) || b[2] - a[2] || (a[3] < b[3] ? -1 : 1);
  return {
    event: q.event,
    direction: q.direction,
    depth: q.depth,
    from: q.from,
    to: q.to,
    sessions: total,
    nodes: [...nodes.values()].sort((a, b) =>
      order([a.level, a.step, a.sessions, a.step], [b.level, b.step, b.sessions, b.step])
    ),
    links: [...links.values()].sort((a, b) =>
      order([a.level, a.to, a.sessions, `${a.from} ${a.to}`], [b.level, b.to, b.sessions, `${b.from} ${b.to}`])
    ),
    top_paths: topPaths(walks, q.top),
  };
}

/** The `top` most frequent walks, whether or not their sessions went on past them. */
function topPaths(walks: { steps: string[]; sessions: number }[], top: number) {
  const byText = new Map<string, { steps: string[]; sessions: number }>();
  for (const w of walks) {
    const text = w.steps.join(" ");
    const path = byText.get(text) ?? { steps: w.steps, sessions: 0 };
    path.sessions += w.sessions;
    byText.set(text, path);
  }
  return [...byText].sort(([a, x], [b, y]) => y.sessions - x.sessions || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, top).map(([, path]) => path);
}

/** Names a step at a level: itself when among the level's `width` most frequent, else {@linkcode OTHER}. */
function kept(walks: { steps: string[]; sessions: number }[], depth: number, width: number) {
  const levels = Array.from({ length: depth + 1 }, () => new Map<string, number>());
  for (const w of walks) w.steps.forEach((s, k) => levels[k + 1].set(s, (levels[k + 1].get(s) ?? 0) + w.sessions));
  const top = levels.map((counts) =>
    new Set(
      [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1)).slice(0, width).map(([step]) => step),
    )
  );
  return (level: number, step: string) => top[level].has(step) ? step : OTHER;
}
