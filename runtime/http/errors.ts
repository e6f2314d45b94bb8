/**
 * One error type for every route, the host's and (through the SDK) plugins': an {@linkcode HttpError} is answered
 * with its status and `{ "error": message }`, as is Hono's own `HTTPException`.
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";

/** An error answered with `status` and `{ "error": message }`. */
export class HttpError extends Error {
  /** An error to answer with `status`, and `message` for a person to read (what was expected, what was got). */
  constructor(readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 429 | 503, message: string) {
    super(message);
  }
}

/**
 * The answer to an error that carries its status: an {@linkcode HttpError}, or Hono's `HTTPException` (thrown by
 * Hono's own middleware; its response when it has one, else its status and `{ "error" }`). Null for other errors.
 */
export function statusAnswer(err: Error, c: Context): Response | null {
  if (err instanceof HttpError) return c.json({ error: err.message }, err.status);
  if (err instanceof HTTPException) {
    return err.res ?? c.json({ error: err.message || `HTTP ${err.status}` }, err.status);
  }
  return null;
}

/**
 * A Hono `onError` handler for plugins' apps: an {@linkcode HttpError} (or Hono's `HTTPException`) becomes its status
 * and `{ "error" }`; any other error is thrown on, to the host, which answers it as the plugin's failure.
 */
export function answerHttpError(err: Error, c: Context): Response {
  const answer = statusAnswer(err, c);
  if (answer) return answer;
  throw err;
}
