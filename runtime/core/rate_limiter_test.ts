import assert from "node:assert/strict";
import { RateLimiter } from "./rate_limiter.ts";

Deno.test("RateLimiter lets a key burst to its rate, then keeps it to it, and keys apart", () => {
  const limiter = new RateLimiter(2);
  assert.deepEqual([limiter.take("a", 0), limiter.take("a", 0), limiter.take("a", 0)], [0, 0, 1]);
  assert.equal(limiter.take("b", 0), 0); // another key has its own bucket
  assert.equal(limiter.take("a", 499), 1); // half a token back: not yet
  assert.equal(limiter.take("a", 500), 0); // one token back after 0.5 s at 2/s
  const slow = new RateLimiter(0.1);
  assert.equal(slow.take("c", 0), 0);
  assert.equal(slow.take("c", 0), 10); // one request every 10 s: wait 10 s
});
