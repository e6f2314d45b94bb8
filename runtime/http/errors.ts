/**
 * HTTP helpers shared by the host's routes (and, through the SDK, plugins' routes): one error type, query
 * parameter parsing, bounded body reading, token checks.
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodType } from "zod";

/** An error answered with `status` and `{ "error": message }`. */
export class HttpError extends Error {
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

/** Parses an optional integer query parameter within `min..max`; `fallback` when absent; 400 otherwise. */
export function intParam(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new HttpError(400, `${name} must be an integer ${min}..${max}, got '${raw}'`);
  }
  return n;
}

/**
 * The years event times and time parameters may fall in. Postgres and JavaScript write the same ISO-8601 only for
 * the years 1 to 9999, and plugins compute windows around these times (a day later, 30 days earlier), so the
 * accepted range keeps a wide margin inside that.
 */
export const MIN_YEAR = 1000;
export const MAX_YEAR = 8999;

/** Parses an optional ISO-8601 timestamp query parameter to UTC ISO; null when absent; 400 otherwise. */
export function timeParam(raw: string | undefined, name: string): string | null {
  if (raw === undefined || raw === "") return null;
  const t = Date.parse(raw);
  const year = new Date(t).getUTCFullYear();
  if (Number.isNaN(t) || year < MIN_YEAR || year > MAX_YEAR) {
    throw new HttpError(
      400,
      `${name} must be an ISO-8601 timestamp within the years ${MIN_YEAR} to ${MAX_YEAR}, got '${raw}'`,
    );
  }
  return new Date(t).toISOString();
}

/** Reads a request body as UTF-8 text, refusing more than `maxBytes` (413) and invalid UTF-8 (400). */
export async function readTextBody(request: Request, maxBytes: number): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw new HttpError(413, `body is ${declared} bytes, over the ${maxBytes} byte limit`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body) {
      size += chunk.byteLength;
      if (size > maxBytes) throw new HttpError(413, `body is over the ${maxBytes} byte limit`);
      chunks.push(chunk);
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, "body is not valid UTF-8");
  }
}

/** Reads a request body as JSON, refusing more than `maxBytes` before parsing (413) and non-JSON (400). */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const text = await readTextBody(request, maxBytes);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `body is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Parses a request body as JSON checked by a zod `schema`: 413 over `maxBytes` (1 MiB by default, refused before
 * parsing), 400 when it is not JSON, or naming each problem.
 */
export async function parseBody<T>(request: Request, schema: ZodType<T>, maxBytes = 1024 * 1024): Promise<T> {
  const text = await readTextBody(request, maxBytes);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new HttpError(400, "body must be JSON");
  }
  // JSON escapes can spell what PostgreSQL text cannot hold; refused here, not by the database as a server error.
  if (!storableStrings(raw)) {
    throw new HttpError(400, "body: strings must be well-formed Unicode without NUL characters");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new HttpError(400, parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
  }
  return parsed.data;
}

/** Whether every string (keys too) in a parsed JSON value is well-formed Unicode without NUL (checked without recursion). */
function storableStrings(value: unknown): boolean {
  const ok = (s: string) => s.isWellFormed() && !s.includes("\0");
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string" && !ok(v)) return false;
    if (v === null || typeof v !== "object") continue;
    for (const [k, x] of Object.entries(v)) {
      if (!ok(k)) return false;
      stack.push(x);
    }
  }
  return true;
}

/** Whether `presented` equals one of `secrets`, comparing digests in constant time. */
export async function matchesSecret(presented: string, secrets: string[]): Promise<boolean> {
  const digest = async (s: string) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
  const p = await digest(presented);
  let found = false;
  for (const secret of secrets) {
    const d = await digest(secret);
    let diff = 0;
    for (let i = 0; i < d.length; i++) diff |= d[i] ^ p[i];
    found = found || diff === 0;
  }
  return found;
}

/** The bearer token of a request, if any. */
export function bearerToken(request: Request): string | null {
  const header = request.headers.get("authorization") ?? "";
  const m = /^Bearer\s+(.+)$/i.exec(header);
  return m ? m[1].trim() : null;
}
