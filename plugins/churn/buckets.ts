/** The UTC day holding an instant (ms), as days since 1970-01-01: the unit of churn's activity. */
export const dayOf = (ms: number) => Math.floor(ms / 86_400_000);
