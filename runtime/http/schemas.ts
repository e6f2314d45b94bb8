/**
 * The schemas of the host's own routes, as `/api/openapi.json` publishes them. Each route's handler describes
 * itself with these (see {@linkcode describeRoute}); the host's OpenAPI test checks live answers against them.
 * @module
 */
import { z } from "zod";
import { EventSchema } from "../core/event.ts";
import { LETTER_STATES } from "../dead_letters/mod.ts";
import { MAX_BATCH } from "../core/ingest.ts";
import { queryTime } from "./openapi.ts";
import { NOTICE_CHANNEL } from "../notices/mod.ts";
import { PLUGIN_NAME } from "../plugin/names.ts";
import { SECRET_RULE, secretBytes } from "../webhooks/mod.ts";

/** The version of the host's API, as the OpenAPI document states it. */
export const API_VERSION = "1.0.0";

/** `POST /v1/events`: one event, an array, or `{ "events": [...] }`. Each item is checked on its own. */
export const IngestBody = z.union([
  EventSchema,
  z.array(EventSchema).max(MAX_BATCH),
  z.object({ events: z.array(EventSchema).max(MAX_BATCH) }),
]).describe(`at most ${MAX_BATCH} events and 1 MiB; an invalid item is rejected alone, into the dead letters`);

/** What an ingest answers. */
export const IngestAnswer = z.strictObject({
  accepted: z.number().int().describe("valid items durably stored (or acknowledged by Kafka), duplicates included"),
  rejected: z.array(z.strictObject({ index: z.number().int(), error: z.string() })),
});

/** What a plugin's transform takes on `/v1/sources/<plugin>`: items of any shape, an array of them or one. */
export const SourceBody = z.union([z.array(z.unknown()).max(MAX_BATCH), z.record(z.string(), z.unknown())]).describe(
  `at most ${MAX_BATCH} items and 1 MiB, each mapped to events by the plugin's transform`,
);

/** What `/v1/sources/<plugin>` answers. */
export const SourceAnswer = IngestAnswer.extend({
  accepted: z.number().int().describe("events the transform made that are valid and durably stored"),
  rejected: z.array(z.strictObject({ index: z.number().int().describe("the item's"), error: z.string() })),
  dropped: z.number().int().describe("items the transform made no event of"),
});

/** A message of Segment's tracking API (analytics.js and friends); see docs/api.md, "Segment-compatible ingestion", for the mapping. */
const SegmentMessage = z.looseObject({
  messageId: z.string().describe("becomes event_id"),
  type: z.enum(["track", "page", "screen", "identify", "group", "alias"]).optional().describe("in a batch"),
  userId: z.string().optional(),
  anonymousId: z.string().optional().describe("the user when there is no userId"),
  event: z.string().optional().describe("track: the event name, mapped to a type"),
  name: z.string().optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
  traits: z.record(z.string(), z.unknown()).optional(),
  context: z.record(z.string(), z.unknown()).optional().describe("country and device are read from here"),
  timestamp: z.string().optional(),
});

/** `POST /v1/batch`. */
export const SegmentBatch = z.looseObject({
  batch: z.array(SegmentMessage).max(MAX_BATCH),
  context: z.record(z.string(), z.unknown()).optional().describe("merged under each message's context"),
  sentAt: z.string().optional(),
});

/** `POST /v1/<call>`: one message; its type is the route's. */
export const SegmentSingle = SegmentMessage;

/** What Segment's endpoints answer: an ingest's answer, with Segment's `success`. */
export const SegmentAnswer = IngestAnswer.extend({ success: z.literal(true) });

/** What `/v1/m` answers: analytics.js' client metrics are dropped. */
export const SegmentDropped = z.strictObject({ success: z.literal(true) });

/** The settings document analytics.js loads (the part of Segment's it reads). */
export const SegmentSettings = z.looseObject({
  integrations: z.strictObject({
    "Segment.io": z.looseObject({
      apiKey: z.string().describe("the write key"),
      apiHost: z.string().describe("where its events go: this host's /v1, without the scheme"),
      protocol: z.enum(["http", "https"]),
    }),
  }).describe("Segment.io only: no other destination is loaded"),
  metrics: z.looseObject({ sampleRate: z.literal(0) }).describe("analytics.js' own metrics off"),
  remotePlugins: z.array(z.never()),
});

export const Health = z.strictObject({ status: z.literal("ok") });
export const Ready = z.strictObject({ status: z.literal("ready") });

/** A panel as the dashboard reads it. */
const Panel = z.strictObject({
  title: z.string(),
  route: z.string(),
  kind: z.enum(["tiles", "timeseries", "bar", "table"]),
});

/** `GET /api/plugins`. */
export const PluginList = z.strictObject({
  plugins: z.array(z.strictObject({
    name: z.string(),
    version: z.string().nullable(),
    status: z.enum(["starting", "running", "degraded", "disabled", "failed"]),
    processed: z.number().int(),
    failed: z.number().int(),
    lag: z.number().int().describe("events accepted but not yet committed by the plugin"),
    checkpoint: z.number().int().describe(
      "the last log position up to which the plugin committed every log partition's events",
    ),
    partitions: z.array(z.number().int()).describe(
      "the log partitions (0..15, by user) this process runs of the plugin; the other processes on its database " +
        "run the rest",
    ),
    subscribes: z.union([z.array(z.string()), z.literal("*")]),
    panels: z.array(Panel),
    error: z.string().nullable(),
    storage_bytes: z.number().int().describe(
      "the size of the plugin's tables and indexes and its stored notices, last measured",
    ),
    storage_limit_bytes: z.number().int().describe("its storage quota: past it, its writes are refused"),
  })),
  log: z.strictObject({
    head: z.number().int().describe("the last position written to the log"),
    watermark: z.string().nullable().describe("the latest event time in the log"),
  }),
  source: z.union([
    z.strictObject({ kind: z.literal("http") }),
    z.strictObject({
      kind: z.literal("kafka"),
      partitions: z.array(z.strictObject({
        topic: z.string(),
        partition: z.number().int(),
        offset: z.number().int(),
        lag: z.number().int(),
      })),
    }),
  ]),
});

/** A dead letter's state (`runtime/dead_letters/lifecycle.ts`). */
const LetterState = z.enum(LETTER_STATES);

/** `GET /api/dead-letters`. */
export const DeadLetterQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe("how many letters, 1..1000 (default 100)"),
  stage: z.string().min(1).max(80).optional().describe(
    "'ingest', 'transform:<plugin>', 'plugin:<plugin>' or 'webhook:<webhook>'",
  ),
  state: z.enum([...LETTER_STATES, "unresolved", "replayed"]).optional().describe(
    "pending (not retried yet), retrying (failed, due again at next_retry_at), dead (waits for an operator's replay), " +
      "resolved ('replayed' is the same), or unresolved (any but resolved)",
  ),
  from: queryTime("letters stored at or after this time"),
  to: queryTime("letters stored before this time"),
  before: z.coerce.number().int().min(1).optional().describe(
    "letters with a lower id: the last id of a page, for the next",
  ),
});

export const DeadLetterList = z.strictObject({
  total: z.number().int().describe("letters that match the filters"),
  by_state: z.strictObject({
    pending: z.number().int(),
    retrying: z.number().int(),
    dead: z.number().int(),
    resolved: z.number().int(),
  }).describe("letters in each state, of the stage and time filters"),
  items: z.array(z.strictObject({
    id: z.number().int(),
    stage: z.string(),
    state: LetterState,
    retries: z.number().int().describe("replays of it so far, automatic or not"),
    reason: z.string().describe("why it was refused in the first place"),
    last_error: z.string().nullable().describe("why its last retry failed"),
    payload: z.unknown().describe("the item as received, or the event as logged"),
    created_at: z.string(),
    last_retry_at: z.string().nullable(),
    next_retry_at: z.string().nullable().describe("when the retrier takes it next, while pending or retrying"),
    replayed_at: z.string().nullable().describe("when it was resolved"),
  })),
  next_before: z.number().int().nullable().describe("pass as `before` for the next page; null on the last"),
});

/** `POST /api/dead-letters/replay`. */
export const ReplayAnswer = z.strictObject({
  replayed: z.number().int(),
  events: z.number().int(),
  skipped: z.array(z.strictObject({ id: z.number().int(), reason: z.string() })),
  failed: z.array(z.strictObject({ id: z.number().int(), error: z.string() })),
  last_id: z.number().int().nullable().describe("pass as `after` for the next page of a stage"),
});

/** A webhook's name, in `/api/webhooks/:name`. */
export const WEBHOOK_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

/** `PUT /api/webhooks/:name`: where one plugin's notices of one channel go, and the secret that signs them. */
export const WebhookBody = z.strictObject({
  url: z.string().max(2048).refine(isWebhookUrl, "must be an http:// or https:// URL without user or password")
    .describe("where each notice is POSTed; redirects are not followed"),
  secret: z.string().refine((s) => secretBytes(s) !== null, SECRET_RULE).describe(
    "signs each delivery (Standard Webhooks, HMAC-SHA256); never answered back",
  ),
  plugin: z.string().regex(PLUGIN_NAME, `must match ${PLUGIN_NAME.source}`).describe(
    "the plugin whose notices it takes (it need not be loaded yet)",
  ),
  channel: z.string().regex(NOTICE_CHANNEL, `must match ${NOTICE_CHANNEL.source}`).describe("the notices' channel"),
  enabled: z.boolean().default(true).describe("false: its notices get no deliveries, and pending ones wait"),
});

/** Whether `text` is an absolute http(s) URL that `fetch` takes (no credentials in it). */
function isWebhookUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return (url.protocol === "http:" || url.protocol === "https:") && url.username === "" && url.password === "";
}

/** A webhook as answered: never with its secret. */
export const Webhook = z.strictObject({
  name: z.string(),
  url: z.string(),
  plugin: z.string(),
  channel: z.string(),
  enabled: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
});

/** `GET /api/webhooks`. */
export const WebhookList = z.strictObject({ webhooks: z.array(Webhook) });

/** The path of one webhook. */
export const WebhookPath = z.object({
  name: z.string().regex(WEBHOOK_NAME).describe(`the webhook's name, ${WEBHOOK_NAME.source}`),
});

/** `GET /api/webhooks/:name/deliveries`. */
export const DeliveryQuery = z.object({
  status: z.enum(["pending", "retrying", "delivered", "dead"]).optional().describe("only deliveries in this state"),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe("how many, 1..1000 (default 100)"),
});

/** The delivery log of one webhook, newest first. */
export const DeliveryList = z.strictObject({
  deliveries: z.array(z.strictObject({
    notice_id: z.number().int().describe("the notice's id: its webhook-id header"),
    status: z.enum(["pending", "retrying", "delivered", "dead"]),
    attempts: z.number().int(),
    next_attempt_at: z.string().nullable().describe("when it is tried next; null once delivered or dead"),
    last_status: z.number().int().nullable().describe("the receiver's HTTP status at the last attempt, if any"),
    last_error: z.string().nullable(),
    delivered_at: z.string().nullable(),
    created_at: z.string(),
  })),
});
