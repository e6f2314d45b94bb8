/** Time buckets of stats' tables, as epoch seconds. */

/** The UTC minute holding an instant (ms), as epoch seconds. */
export const minuteOf = (ms: number) => Math.floor(ms / 60_000) * 60;

/** The UTC hour holding an instant (ms), as epoch seconds. */
export const hourOf = (ms: number) => Math.floor(ms / 3_600_000) * 3600;
