import assert from "node:assert/strict";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { secretBytes, signature, signedHeaders, signingKey, webhookBody } from "./signing.ts";

const notice = {
  id: 42,
  plugin: "fraud",
  channel: "alert",
  payload: { alert_id: "alert-e1", score: 60, reasons: ["velocity: 5 purchases within 120 s (more than 3)"] },
  created_at: "2026-04-01T10:00:20.123Z",
};

Deno.test("webhookBody() is the Standard Webhooks payload: type <plugin>.<channel>, the notice's time, its data", () => {
  assert.equal(
    webhookBody(notice),
    '{"type":"fraud.alert","timestamp":"2026-04-01T10:00:20.123Z","data":{"alert_id":"alert-e1","score":60,' +
      '"reasons":["velocity: 5 purchases within 120 s (more than 3)"]}}',
  );
});

Deno.test("signature() signs `${id}.${timestamp}.${body}` exactly as the reference library does", async () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const body = webhookBody(notice);
  const at = new Date("2026-04-01T10:00:21.900Z");
  const ours = await signature(await signingKey(secret), "42", Math.floor(at.getTime() / 1000), body);
  assert.equal(ours, new Webhook(secret).sign("42", at, body));
  assert.match(ours, /^v1,[A-Za-z0-9+/]{43}=$/);
});

Deno.test("signedHeaders() verify with the reference library, for both forms of secret; a changed body does not", async () => {
  const whsec = `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
  const raw = "correct-horse-battery-staple-42";
  const body = webhookBody(notice);
  for (const [secret, verifier] of [[whsec, new Webhook(whsec)], [raw, new Webhook(raw, { format: "raw" })]] as const) {
    const headers = Object.fromEntries(await signedHeaders(await signingKey(secret), "42", body, new Date()));
    assert.equal(headers["webhook-id"], "42");
    assert.match(headers["webhook-timestamp"], /^\d{10}$/);
    assert.equal(headers["content-type"], "application/json");
    assert.deepEqual(verifier.verify(body, headers), JSON.parse(body));
    assert.throws(() => verifier.verify(body.replace("60", "61"), headers), WebhookVerificationError);
    assert.throws(() => verifier.verify(body, { ...headers, "webhook-id": "43" }), WebhookVerificationError);
  }
  // Signed at a time long past: a receiver refuses it as a replay.
  const old = Object.fromEntries(
    await signedHeaders(await signingKey(whsec), "42", body, new Date(Date.now() - 3600_000)),
  );
  assert.throws(() => new Webhook(whsec).verify(body, old), /too old/);
});

Deno.test("secretBytes() takes whsec_ and 24 to 64 bytes of base64, or 24 to 256 printable ASCII characters", () => {
  assert.equal(secretBytes(`whsec_${btoa("x".repeat(24))}`)?.length, 24);
  assert.equal(secretBytes(`whsec_${btoa("x".repeat(64))}`)?.length, 64);
  assert.deepEqual(secretBytes("a".repeat(24)), new TextEncoder().encode("a".repeat(24)));
  for (
    const bad of [
      `whsec_${btoa("x".repeat(23))}`, // too short a key
      `whsec_${btoa("x".repeat(65))}`, // too long a key
      "whsec_not base64 at all!!",
      "whsec_",
      "a".repeat(23),
      "a".repeat(257),
      "twenty four chars with spaces",
      "tw€nty-four-characters-non-ascii",
      "",
    ]
  ) {
    assert.equal(secretBytes(bad), null, bad);
  }
  assert.throws(() => signingKey("short"), /the webhook's secret must be whsec_/);
});
