/**
 * Signing as the Standard Webhooks specification says (standardwebhooks.com, version 1.0.0): the body is JSON
 * `{ "type", "timestamp", "data" }`; the headers are `webhook-id` (the notice's id, the same on every retry),
 * `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature`, `v1,` and the base64 HMAC-SHA256 of
 * `${id}.${timestamp}.${body}` under the webhook's secret. A receiver verifies it with any Standard Webhooks library.
 */
import type { StoredNotice } from "../notices/notice.ts";

/** The prefix of a secret serialized as the specification does: base64 after it. */
export const SECRET_PREFIX = "whsec_";

/** A secret given as text: printable ASCII (its bytes are its characters, in every library's "raw" format). */
const RAW_SECRET = /^[\x21-\x7e]{24,256}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** What a webhook's secret must be, said once for the API's answers and documentation. */
export const SECRET_RULE = `must be ${SECRET_PREFIX} followed by the base64 of 24 to 64 random bytes (a Standard ` +
  "Webhooks secret), or 24 to 256 printable ASCII characters without spaces";

/** The key bytes of `secret`, or null when it is neither form (see {@linkcode SECRET_RULE}). */
export function secretBytes(secret: string): Uint8Array<ArrayBuffer> | null {
  if (secret.startsWith(SECRET_PREFIX)) {
    const encoded = secret.slice(SECRET_PREFIX.length);
    if (!BASE64.test(encoded)) return null;
    const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
    return bytes.length >= 24 && bytes.length <= 64 ? bytes : null;
  }
  return RAW_SECRET.test(secret) ? new TextEncoder().encode(secret) : null;
}

/** The HMAC-SHA256 key of a webhook's secret; throws when the secret is neither form. */
export function signingKey(secret: string): Promise<CryptoKey> {
  const bytes = secretBytes(secret);
  if (bytes === null) throw new Error(`the webhook's secret ${SECRET_RULE}`);
  return crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** The body a notice is delivered with: its type is `<plugin>.<channel>`, its time the notice's. */
export function webhookBody(notice: Pick<StoredNotice, "plugin" | "channel" | "payload" | "created_at">): string {
  return JSON.stringify({
    type: `${notice.plugin}.${notice.channel}`,
    timestamp: notice.created_at,
    data: notice.payload,
  });
}

/** The `webhook-signature` of `body`, sent as message `id` at `timestamp` (Unix seconds). */
export async function signature(key: CryptoKey, id: string, timestamp: number, body: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
  return `v1,${btoa(String.fromCharCode(...new Uint8Array(mac)))}`;
}

/** The headers of one attempt to deliver `body` as message `id`, signed at `now`. */
export async function signedHeaders(key: CryptoKey, id: string, body: string, now: Date): Promise<Headers> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return new Headers({
    "content-type": "application/json",
    "user-agent": "analytics-runtime-webhooks/1",
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await signature(key, id, timestamp, body),
  });
}
