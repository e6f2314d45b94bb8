/**
 * When a failed delivery is tried again: exponential backoff with jitter, as the Standard Webhooks specification
 * recommends, so that receivers coming back from an outage are not hit by every retry at once.
 */

/** The longest wait between two attempts (ms): a day. */
export const MAX_RETRY_DELAY_MS = 24 * 60 * 60 * 1000;

/** How deliveries are retried (`WEBHOOK_RETRY_BASE_MS`, `WEBHOOK_MAX_ATTEMPTS`). */
export interface WebhookPolicy {
  /** The wait after the first failed attempt (ms), doubling after each further one. */
  retryBaseMs: number;
  /** Attempts of one delivery, the first included; after the last failed one it is dead. */
  maxAttempts: number;
  /** The longest an attempt may take, answer included (ms). */
  timeoutMs: number;
  /** Hosts delivered to although not public (`WEBHOOK_ALLOW_HOSTS`): by name, or by address as the URL writes it. */
  allowHosts: string[];
}

/** The default {@linkcode WebhookPolicy}. */
export const DEFAULT_WEBHOOK_POLICY: WebhookPolicy = {
  retryBaseMs: 5000,
  maxAttempts: 15,
  timeoutMs: 10_000,
  allowHosts: [],
};

/**
 * The wait after the `attempts`-th failed attempt (ms): `retryBaseMs × 2^(attempts − 1)`, capped at a day, of which a
 * random part ("equal jitter": between half and all of it). `random` answers in [0, 1).
 */
export function retryDelayMs(attempts: number, retryBaseMs: number, random: () => number = Math.random): number {
  const full = Math.min(MAX_RETRY_DELAY_MS, retryBaseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(full / 2 + random() * (full / 2));
}

/**
 * A receiver's `Retry-After` (seconds, or an HTTP date) as a wait from `now` (ms), capped at a day; null when absent or
 * not understood.
 */
export function retryAfterMs(header: string | null, now: Date): number | null {
  if (header === null || header.trim() === "") return null;
  const text = header.trim();
  // An HTTP date names its day and month in words ("Wed, 21 Oct 2026 07:28:00 GMT"); bare numbers are seconds.
  const ms = /^\d+$/.test(text)
    ? Number(text) * 1000
    : /^[A-Za-z]{3}, /.test(text)
    ? Date.parse(text) - now.getTime()
    : Number.NaN;
  return Number.isFinite(ms) ? Math.min(MAX_RETRY_DELAY_MS, Math.max(0, ms)) : null;
}
