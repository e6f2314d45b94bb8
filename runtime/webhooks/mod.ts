/**
 * Webhooks: operators subscribe a URL to one plugin's notices of one channel (`PUT /api/webhooks/:name`); every
 * committed notice that matches gets a delivery, which the host's deliverer POSTs signed as Standard Webhooks do,
 * retries with backoff and jitter, logs, and dead-letters when it keeps failing. Plugins have no say in where their
 * notices go, and no network.
 * @module
 */
export {
  DEFAULT_WEBHOOK_POLICY,
  MAX_RETRY_DELAY_MS,
  retryAfterMs,
  retryDelayMs,
  type WebhookPolicy,
} from "./backoff.ts";
export { type DeliveryStatus, requeueDead } from "./deliveries.ts";
export { type DelivererOptions, WebhookDeliverer } from "./deliverer.ts";
export {
  SECRET_PREFIX,
  SECRET_RULE,
  secretBytes,
  signature,
  signedHeaders,
  signingKey,
  webhookBody,
} from "./signing.ts";
