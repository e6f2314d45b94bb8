/**
 * Rate limits on `/v1` and `/api`: a {@linkcode RateLimiter} bucket per key, the key being the request's credential
 * (the middleware runs after the token checks, so a made-up token cannot buy itself a fresh bucket), else its remote
 * address.
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { HttpError } from "../errors.ts";
import { credential } from "./auth.ts";
import { RateLimiter } from "../../core/rate_limiter.ts";

/**
 * The middleware: 429 with `retry-after` once a key is past `perSecond` requests per second. Requests in `counted`
 * are the host's own, made for one this middleware counted already (the first page of a CSV export).
 */
export function rateLimit(
  perSecond: number,
  limiter = new RateLimiter(perSecond),
  counted: WeakSet<Request> = new WeakSet(),
): MiddlewareHandler {
  return async (c, next) => {
    if (counted.has(c.req.raw)) return await next();
    const wait = limiter.take(rateKey(c));
    if (wait > 0) {
      c.header("retry-after", String(wait));
      throw new HttpError(429, `rate limit: ${perSecond} requests per second per key; retry in ${wait} s`);
    }
    await next();
  };
}

/** The bucket a request draws from: its credential, else its remote address. */
function rateKey(c: Context): string {
  const address = (c.env as Deno.ServeHandlerInfo<Deno.NetAddr> | undefined)?.remoteAddr?.hostname;
  return credential(c.req.raw) ?? `address:${address ?? "local"}`;
}
