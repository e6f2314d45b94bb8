/** Time buckets of stats' tables (as epoch seconds), and ranges cut to the buckets that serve them. */

/** The UTC minute holding an instant (ms), as epoch seconds. */
export const minuteOf = (ms: number) => Math.floor(ms / 60_000) * 60;

/** The UTC hour holding an instant (ms), as epoch seconds. */
export const hourOf = (ms: number) => Math.floor(ms / 3_600_000) * 3600;

const MINUTE = 60_000;
const DAY = 86_400_000;

/** A range of event time (ms), either end open (null). */
export interface Span {
  from: number | null;
  to: number | null;
}

/** A query's range in whole UTC minutes: `from` down to its minute, `to` up to its minute's end (ms). */
export function wholeMinutes(from: string | null, to: string | null): Span {
  return {
    from: from === null ? null : Math.floor(Date.parse(from) / MINUTE) * MINUTE,
    to: to === null ? null : Math.ceil(Date.parse(to) / MINUTE) * MINUTE,
  };
}

/**
 * `span` cut where daily rollups can serve it: its whole UTC days (`days`, null when it holds none) and the parts
 * before the first and after the last (`edges`, read per minute or per event).
 */
export function splitDays(span: Span): { days: Span | null; edges: { from: number; to: number }[] } {
  const first = span.from === null ? null : Math.ceil(span.from / DAY) * DAY;
  const last = span.to === null ? null : Math.floor(span.to / DAY) * DAY;
  if (first !== null && last !== null && first >= last) {
    return { days: null, edges: span.from! < span.to! ? [{ from: span.from!, to: span.to! }] : [] };
  }
  const edges = [];
  if (span.from !== null && span.from < first!) edges.push({ from: span.from, to: first! });
  if (span.to !== null && last! < span.to) edges.push({ from: last!, to: span.to });
  return { days: { from: first, to: last }, edges };
}

/**
 * SQL: `column` within `span`, each end in the SQL only when given (a generic plan of "$1 is null or …" would not
 * use the index); pushes the ends (seconds) to `params`.
 */
export function inRangeSql(column: string, span: Span, params: unknown[]): string {
  return [
    span.from !== null && `${column} >= to_timestamp($${params.push(span.from / 1000)})`,
    span.to !== null && `${column} < to_timestamp($${params.push(span.to / 1000)})`,
  ].filter(Boolean).join(" and ") || "true";
}
