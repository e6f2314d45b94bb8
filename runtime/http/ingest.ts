/**
 * Ingest over HTTP: `POST /v1/events` (our events) and Segment's (and RudderStack's) tracking API on `/v1/batch`,
 * `/v1/track`, … (see core/segment.ts for the mapping). Both validate item by item and answer once the valid items
 * are durably stored (or acknowledged by Kafka).
 * @module
 */
import type { Hono } from "hono";
import { batchItems, ingest, MAX_BODY_BYTES } from "../core/ingest.ts";
import { ingestSegment, SEGMENT_CALLS, segmentMessages } from "../core/segment.ts";
import { readJsonBody } from "./body.ts";
import type { RuntimeParts } from "./context.ts";
import { describeRoute } from "./openapi.ts";
import * as api from "./schemas.ts";

/** Adds the `/v1` routes to `app`. */
export function mountIngest(app: Hono, ctx: Pick<RuntimeParts, "sink" | "metrics">): void {
  app.post(
    "/v1/events",
    describeRoute({ summary: "Ingest events", body: api.IngestBody, response: api.IngestAnswer, errors: [400, 413] }),
    async (c) => {
      const items = batchItems(await readJsonBody(c.req.raw, MAX_BODY_BYTES));
      return c.json(await ingest(ctx.sink, items, ctx.metrics));
    },
  );
  for (const call of ["batch", ...SEGMENT_CALLS] as const) {
    const segment = describeRoute({
      summary: call === "batch" ? "Ingest a batch of Segment messages" : `Ingest one Segment '${call}' call`,
      body: call === "batch" ? api.SegmentBatch : api.SegmentSingle,
      response: api.SegmentAnswer,
      errors: [400, 413],
    });
    app.post(`/v1/${call}`, segment, async (c) => {
      const messages = segmentMessages(await readJsonBody(c.req.raw, MAX_BODY_BYTES), call);
      return c.json(await ingestSegment(ctx.sink, messages, ctx.metrics));
    });
  }
}
