/**
 * Ingest over HTTP: `POST /v1/events` (our events) and Segment's (and RudderStack's) tracking API, as their SDKs
 * call it unchanged: `/v1/batch` and `/v1/<call>` (Node SDKs, the HTTP API), analytics.js' short paths (`/v1/t`,
 * `/v1/p`, … and `/v1/b` for a batch), its settings document (`/v1/projects/<key>/settings`) and its client metrics
 * (`/v1/m`, accepted and dropped). Bodies may be gzip- or deflate-encoded and are JSON whatever their content type
 * says (analytics.js sends `text/plain` to skip a preflight; RudderStack's SDK labels gzipped JSON as a form). See
 * core/segment.ts for the mapping.
 * @module
 */
import type { Hono } from "hono";
import { batchItems, countRejected, ingest, MAX_BODY_BYTES, rejectReason } from "../core/ingest.ts";
import { sourceItems, transformItems } from "../core/transform.ts";
import { ingestSegment, SEGMENT_CALLS, type SegmentCall, segmentMessages } from "../core/segment.ts";
import { readJsonBody } from "./body.ts";
import type { RuntimeParts } from "./context.ts";
import { HttpError } from "./errors.ts";
import { requireRequestKey } from "./middleware/auth.ts";
import { describeRoute } from "./openapi.ts";
import { publicOrigin } from "./analytics_js.ts";
import * as api from "./schemas.ts";

/**
 * Segment's paths under `/v1` and what each takes: `batch` and each call by name (the Node SDKs, the HTTP API), and
 * analytics.js' short paths, the call's initial (`t` for track) and `b` for a batch.
 */
export const SEGMENT_PATHS: Record<string, SegmentCall | "batch"> = {
  batch: "batch",
  ...Object.fromEntries(SEGMENT_CALLS.map((call) => [call, call])),
  b: "batch",
  t: "track",
  p: "page",
  s: "screen",
  i: "identify",
  g: "group",
  a: "alias",
};

/**
 * Whether a request to `/v1` may carry its write key in its body or path rather than its headers: analytics.js'
 * calls (the key in the JSON, beside a basic-auth header it drops when it has no key), its settings request (a plain
 * GET naming the key), and its client metrics (no key at all; nothing is stored).
 */
export function segmentKeyInRequest(request: Request): boolean {
  const path = new URL(request.url).pathname;
  if (request.method === "GET") return /^\/v1\/projects\/[^/]+\/settings$/.test(path);
  const name = path.slice("/v1/".length);
  return request.method === "POST" && (Object.hasOwn(SEGMENT_PATHS, name) || name === "m");
}

/** Adds the `/v1` routes to `app`. */
export function mountIngest(app: Hono, ctx: Pick<RuntimeParts, "sink" | "metrics" | "money" | "plugins">): void {
  app.post(
    "/v1/events",
    describeRoute({ summary: "Ingest events", body: api.IngestBody, response: api.IngestAnswer, errors: [400, 413] }),
    async (c) => {
      const items = batchItems(await readJsonBody(c.req.raw, MAX_BODY_BYTES));
      return c.json(await ingest(ctx.sink, items, ctx.metrics, ctx.money));
    },
  );
  app.post(
    "/v1/sources/:plugin",
    describeRoute({
      summary: "Ingest items of another shape, mapped to events by the plugin's transform",
      body: api.SourceBody,
      response: api.SourceAnswer,
      errors: [400, 404, 413, 503],
    }),
    async (c) => {
      const name = c.req.param("plugin");
      const transform = ctx.plugins.transform(name);
      if (!transform) throw new HttpError(404, `no plugin named '${name.slice(0, 64)}' with a transform is loaded`);
      const items = sourceItems(await readJsonBody(c.req.raw, MAX_BODY_BYTES));
      const out = await transformItems(transform, items, ctx.money, (index) => ({ source: name, index }));
      await ctx.sink(out.valid, out.letters);
      ctx.metrics.inc("events_received_total", "Items received for ingest", {}, items.length);
      countRejected(ctx.metrics, out.rejected.map((r) => rejectReason(r.error)));
      return c.json({ accepted: out.valid.length, rejected: out.rejected, dropped: out.dropped });
    },
  );
  for (const [path, call] of Object.entries(SEGMENT_PATHS)) {
    const short = path.length === 1 ? ` (analytics.js: /v1/${path})` : "";
    const segment = describeRoute({
      summary: call === "batch"
        ? `Ingest a batch of Segment messages${short}`
        : `Ingest one Segment '${call}' call${short}`,
      body: call === "batch" ? api.SegmentBatch : api.SegmentSingle,
      response: api.SegmentAnswer,
      errors: [400, 413, 415],
    });
    app.post(`/v1/${path}`, segment, async (c) => {
      const body = await readJsonBody(c.req.raw, MAX_BODY_BYTES);
      await requireRequestKey(c.req.raw, (body as { writeKey?: unknown } | null)?.writeKey);
      return c.json(await ingestSegment(ctx.sink, segmentMessages(body, call), ctx.metrics, ctx.money));
    });
  }
  const metrics = describeRoute({
    summary: "analytics.js' own client metrics: accepted and dropped (the settings document turns them off)",
    response: api.SegmentDropped,
    errors: [400, 413, 415],
  });
  app.post("/v1/m", metrics, async (c) => {
    await readJsonBody(c.req.raw, MAX_BODY_BYTES); // read within the limits, then dropped: nothing of it is stored
    return c.json({ success: true });
  });
  const settings = describeRoute({
    summary: "The settings document analytics.js loads: its events come here, and it loads nothing from elsewhere",
    response: api.SegmentSettings,
    errors: [401, 403],
  });
  app.get("/v1/projects/:writeKey/settings", settings, async (c) => {
    const writeKey = c.req.param("writeKey");
    await requireRequestKey(c.req.raw, writeKey);
    if (writeKey.length > 256) {
      throw new HttpError(400, `writeKey must be at most 256 characters, got ${writeKey.length}`);
    }
    const [protocol, host] = publicOrigin(c.req.raw).split("://");
    return c.json(segmentSettings(writeKey, `${host}/v1`, protocol));
  });
}

/**
 * The settings document of `writeKey`: Segment.io (the only destination) delivering to `apiHost` over `protocol`,
 * no other destination, plugin or middleware to load, and analytics.js' own metrics off (they would go to Segment).
 */
export function segmentSettings(writeKey: string, apiHost: string, protocol: string) {
  return {
    integrations: {
      "Segment.io": {
        apiKey: writeKey,
        apiHost,
        protocol,
        unbundledIntegrations: [],
        addBundledMetadata: true,
        maybeBundledConfigIds: {},
      },
    },
    plan: { track: { __default: { enabled: true, integrations: {} } }, identify: { __default: { enabled: true } } },
    edgeFunction: {},
    analyticsNextEnabled: true,
    middlewareSettings: {},
    enabledMiddleware: {},
    metrics: { sampleRate: 0 },
    legacyVideoPluginsEnabled: false,
    remotePlugins: [],
  };
}
