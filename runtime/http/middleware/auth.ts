/**
 * Tokens on `/v1` (ingest keys) and `/api` (read tokens). A request presents its credential as a bearer token, as
 * `?access_token=` on `GET /api/stream` (a browser's EventSource cannot send a header), as `?write_key=` on
 * `POST /v1/sources/<plugin>` (a webhook can be given a URL, rarely a header), or, on `/v1`, as the user name of HTTP
 * basic auth (Segment's SDKs send their write key so).
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { timingSafeEqual } from "hono/utils/buffer";
import { HttpError } from "../errors.ts";

/** The bearer token of a request, if any. */
export function bearerToken(request: Request): string | null {
  const header = request.headers.get("authorization") ?? "";
  const m = /^Bearer\s+(.+)$/i.exec(header);
  return m ? m[1].trim() : null;
}

/** The token of `GET /api/stream?access_token=`. */
function streamToken(request: Request): string | null {
  const url = new URL(request.url);
  return request.method === "GET" && url.pathname === "/api/stream" ? url.searchParams.get("access_token") : null;
}

/** The key of `POST /v1/sources/<plugin>?write_key=`. */
function sourceKey(request: Request): string | null {
  const url = new URL(request.url);
  const key = request.method === "POST" && url.pathname.startsWith("/v1/sources/")
    ? url.searchParams.get("write_key")
    : null;
  return key || null; // an empty one is none: Basic auth, if any, then counts
}

/** The write key of Segment's SDKs on `/v1`: the username of HTTP basic auth, whose password is empty. */
function writeKey(request: Request): string | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(request.headers.get("authorization") ?? "");
  if (!m || !new URL(request.url).pathname.startsWith("/v1/")) return null;
  try {
    const user = new TextDecoder().decode(Uint8Array.from(atob(m[1]), (ch) => ch.charCodeAt(0))).split(":")[0];
    return user === "" ? null : user;
  } catch {
    return null; // not base64: no credential
  }
}

/** The credential a request presents, in any of the forms above; null when it presents none. */
export function credential(request: Request): string | null {
  return bearerToken(request) ?? streamToken(request) ?? sourceKey(request) ?? writeKey(request);
}

/** Whether `presented` equals one of `secrets`, each compared in constant time (every secret is compared). */
export async function matchesSecret(presented: string, secrets: string[]): Promise<boolean> {
  const matches = await Promise.all(secrets.map((secret) => timingSafeEqual(presented, secret)));
  return matches.includes(true);
}

/** Requests whose credential is in their body or path (Segment's `writeKey`), with the rule it must pass once read. */
const inBody = new WeakMap<Request, SecretRule>();

/**
 * Checks the write key a request carries in its body or path (analytics.js sends `writeKey` in its JSON, and asks
 * for its settings by key) when it presented no other credential, by the rule {@linkcode requireSecret} deferred to
 * it: 401 without one or with an unknown one, 403 with a secret of the other kind. A request that presented a
 * credential in its headers, or needs none, passes.
 */
export async function requireRequestKey(request: Request, writeKey: unknown): Promise<void> {
  const rule = inBody.get(request);
  if (rule) await check(rule, typeof writeKey === "string" && writeKey !== "" ? writeKey : null);
}

/** 401 or 403 unless `token` is one of `rule.secrets`. */
async function check(rule: SecretRule, token: string | null): Promise<void> {
  if (token === null) {
    const basic = rule.what === "/v1" ? " (or Segment's 'Basic', the key as user name, or its writeKey)" : "";
    throw new HttpError(401, `${rule.what} requires 'Authorization: Bearer <token>'${basic}`);
  }
  if (!await matchesSecret(token, rule.secrets)) {
    if (await matchesSecret(token, rule.others)) {
      throw new HttpError(403, `${rule.what} needs ${rule.kind}, not the other kind`);
    }
    throw new HttpError(401, `${rule.what}: unknown token`);
  }
}

/** What {@linkcode requireSecret} checks. */
export interface SecretRule {
  /** The secrets accepted; none means the routes are open. */
  secrets: string[];
  /** The secrets of the other kind, refused with a 403 that says so rather than a 401. */
  others: string[];
  /** The routes, as messages name them (`/v1`, `/api`). */
  what: string;
  /** The kind of secret needed, as messages name it (`an ingest key`). */
  kind: string;
  /**
   * Whether a request without a credential in its headers may carry it in its body or path, for its route to check
   * with {@linkcode requireRequestKey} once it has read it (Segment's routes, for analytics.js).
   */
  keyInRequest?: (request: Request) => boolean;
}

/**
 * Requires one of `rule.secrets` when any are set: 401 without a credential or with an unknown one, 403 with a secret
 * of the other kind (an ingest key on /api, a read token on /v1). A request that may carry its key in its body or path
 * and presents none in its headers goes on to its route, which must check that key ({@linkcode requireRequestKey}).
 */
export function requireSecret(rule: SecretRule): MiddlewareHandler {
  return async (c, next) => {
    if (rule.secrets.length > 0) {
      const token = credential(c.req.raw);
      if (token === null && rule.keyInRequest?.(c.req.raw)) inBody.set(c.req.raw, rule);
      else await check(rule, token);
    }
    await next();
  };
}
