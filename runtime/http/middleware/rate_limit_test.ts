import assert from "node:assert/strict";
import { Hono } from "hono";
import { answerHttpError } from "../errors.ts";
import { RateLimiter } from "../../core/rate_limiter.ts";
import { rateLimit } from "./rate_limit.ts";

Deno.test("rateLimit() answers 429 with retry-after past the rate, per credential", async () => {
  let now = 0;
  const limiter = new RateLimiter(1);
  const take = limiter.take.bind(limiter);
  limiter.take = (key: string) => take(key, now); // an injected clock: the bucket refills only when the test says so
  const app = new Hono().use(rateLimit(1, limiter)).get("/", (c) => c.text("through")).onError(answerHttpError);
  const call = async (token: string) => {
    const res = await app.request("/", { headers: { authorization: `Bearer ${token}` } });
    return [res.status, res.headers.get("retry-after"), await res.text()];
  };
  assert.deepEqual(await call("a"), [200, null, "through"]);
  assert.deepEqual(await call("a"), [
    429,
    "1",
    '{"error":"rate limit: 1 requests per second per key; retry in 1 s"}',
  ]);
  assert.deepEqual(await call("b"), [200, null, "through"]); // another key, another bucket
  now = 1000;
  assert.deepEqual(await call("a"), [200, null, "through"]);
});
