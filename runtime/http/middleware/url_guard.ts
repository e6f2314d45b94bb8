/**
 * Refuses a URL the routes could misread: one that is not valid percent-encoded UTF-8, or that decodes to a NUL
 * (which PostgreSQL text cannot hold). Both are a 400 before any route runs.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { HttpError } from "../errors.ts";

/** The middleware: 400 for a URL that does not decode, or decodes to a NUL. */
export function urlGuard(): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    let decoded: string;
    try {
      decoded = decodeURIComponent(url.pathname + url.search);
    } catch {
      throw new HttpError(400, "the URL is not valid percent-encoded UTF-8");
    }
    if (decoded.includes("\0")) throw new HttpError(400, "the URL contains a NUL character");
    await next();
  };
}
