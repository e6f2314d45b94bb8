import assert from "node:assert/strict";
import { MAX_RETRY_DELAY_MS, retryAfterMs, retryDelayMs } from "./backoff.ts";

Deno.test("retryDelayMs() doubles from the base after each failed attempt, jittered between half and all of it", () => {
  const low = () => 0;
  const high = () => 1;
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(n, 1000, high)), [
    1000,
    2000,
    4000,
    8000,
    16000,
    32000,
    64000,
  ]);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(n, 1000, low)), [
    500,
    1000,
    2000,
    4000,
    8000,
    16000,
    32000,
  ]);
  assert.equal(retryDelayMs(3, 20, () => 0.5), 60); // the tests' base: 20 ms
  for (let i = 0; i < 100; i++) {
    const d = retryDelayMs(4, 1000);
    assert.ok(d >= 4000 && d <= 8000, `${d}`);
  }
});

Deno.test("retryDelayMs() never waits more than a day, however many attempts", () => {
  assert.equal(retryDelayMs(60, 1000, () => 1), MAX_RETRY_DELAY_MS);
  assert.equal(retryDelayMs(60, 1000, () => 0), MAX_RETRY_DELAY_MS / 2);
  assert.equal(retryDelayMs(2000, 3_600_000, () => 1), MAX_RETRY_DELAY_MS); // 2^1999 is Infinity: still capped
});

Deno.test("retryAfterMs() reads a receiver's Retry-After in seconds or as an HTTP date, capped at a day", () => {
  const now = new Date("2026-04-01T10:00:00Z");
  assert.equal(retryAfterMs("120", now), 120_000);
  assert.equal(retryAfterMs("Wed, 01 Apr 2026 10:00:30 GMT", now), 30_000);
  assert.equal(retryAfterMs("Wed, 01 Apr 2026 09:00:00 GMT", now), 0); // past
  assert.equal(retryAfterMs("9999999", now), MAX_RETRY_DELAY_MS);
  for (const none of [null, "", "soon", "-5"]) assert.equal(retryAfterMs(none, now), null, String(none));
});
