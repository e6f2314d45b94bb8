/**
 * Sessions in event time: a session is its `session_id`, or else one user's events with no gap of
 * {@linkcode SESSION_GAP_MS} or more between them. Plugins import these through the SDK, so every plugin
 * counts sessions the same way.
 * @module
 */

/** Thirty minutes: a gap this long or longer between a user's events starts a new inferred session. */
export const SESSION_GAP_MS = 30 * 60 * 1000;

/** A stretch of one user's activity in event time (ms), with whatever a plugin counts in it. */
export interface Interval {
  /** The first event's time, epoch ms. */
  start: number;
  /** The last event's time, epoch ms. */
  end: number;
}

/**
 * Merges intervals (stored sessions and single new events alike) into sessions: any two closer than
 * {@linkcode SESSION_GAP_MS} become one, their counts combined by `combine(into, from)`. The result does not
 * depend on the order intervals come in, so late events land exactly.
 */
export function mergeSessions<T extends Interval>(intervals: T[], combine: (into: T, from: T) => void): T[] {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  const out: T[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.start - last.end < SESSION_GAP_MS) {
      combine(last, i);
      last.end = Math.max(last.end, i.end);
    } else out.push({ ...i });
  }
  return out;
}

/** A stored session row of an id merged away (see the SDK's `Merge`), as a plugin's `delete ... returning` gives it. */
export interface MovedSession {
  /** The person it now belongs to. */
  into: string;
  /** Its stored key (`s:<session_id>` for an explicit session). */
  key: string;
  /** Whether it is a session_id's rather than inferred from gaps. */
  explicit: boolean;
}

/**
 * Sessions of merged ids, ready to join their persons': explicit ones keyed as they were (to add to the person's of
 * the same key), inferred ones gathered per person as parts for {@linkcode mergeSessions} with the person's nearby.
 */
export function movedSessions<R extends MovedSession, S extends Interval>(
  rows: R[],
  part: (row: R) => S,
): { explicit: (S & { user: string; key: string })[]; inferred: { user: string; parts: S[] }[] } {
  const inferred = new Map<string, S[]>();
  const explicit: (S & { user: string; key: string })[] = [];
  for (const row of rows) {
    if (row.explicit) explicit.push({ ...part(row), user: row.into, key: row.key });
    else inferred.set(row.into, [...inferred.get(row.into) ?? [], part(row)]);
  }
  return { explicit, inferred: [...inferred].map(([user, parts]) => ({ user, parts })) };
}
