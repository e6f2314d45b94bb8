/**
 * Per-key rate limiting: a token bucket per key, refilled at `perSecond` and holding at most one second's worth,
 * so a key may burst to its rate and then keeps to it. HTTP routes limit requests per key with it, the logger lines
 * per message.
 * @module
 */

/** Buckets kept before idle full ones are forgotten. */
const MAX_KEYS = 10_000;

/** Token buckets by key. */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(readonly perSecond: number) {}

  /** Takes one request for `key`: 0 when allowed, else the seconds to wait before the next one is. */
  take(key: string, now = Date.now()): number {
    const capacity = Math.max(1, this.perSecond);
    const b = this.#buckets.get(key) ?? { tokens: capacity, at: now };
    b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    this.#buckets.set(key, b);
    if (this.#buckets.size > MAX_KEYS) this.#forgetIdle(now);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / this.perSecond);
  }

  /** Drops buckets that have refilled: forgetting them changes nothing. */
  #forgetIdle(now: number): void {
    const capacity = Math.max(1, this.perSecond);
    for (const [key, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= capacity) this.#buckets.delete(key);
    }
  }
}
