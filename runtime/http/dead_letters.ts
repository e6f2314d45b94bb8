/**
 * The dead letters over HTTP: `GET /api/dead-letters` lists them; `POST /api/dead-letters/replay` replays them once
 * whatever put them there is fixed. An ingest letter's item (or a corrected one) is validated and ingested again;
 * a plugin letter's event, already in the log, is run through that plugin again. Either way delivery stays exact:
 * ingest de-duplicates by event_id, and a plugin replay commits the plugin's writes in the same transaction that
 * marks the letter replayed, after checking that the plugin's checkpoint is past the event (else its own loop will
 * deliver it). A webhook letter's delivery is put back to pending, with fresh attempts, in the transaction that
 * marks the letter.
 * @module
 */
import type { Hono } from "hono";
import { z } from "zod";
import { type Event, MAX_DEPTH } from "../core/event.ts";
import { partitionOf } from "../core/partitions.ts";
import type { LoggedEvent } from "../core/event_log.ts";
import { parseBody } from "./body.ts";
import { MAX_BATCH, validateItems } from "../core/ingest.ts";
import { resolveLogged } from "../core/identity.ts";
import { transformItems } from "../core/transform.ts";
import { DeadLetterList, DeadLetterQuery, ReplayAnswer } from "./schemas.ts";
import { describeRoute } from "./openapi.ts";
import type { RuntimeParts } from "./context.ts";
import type { Sql } from "../store/mod.ts";
import { requeueDead } from "../webhooks/mod.ts";

/** A dead letter as stored. */
export type Letter = {
  id: number;
  stage: string;
  reason: string;
  payload: unknown;
};

const ReplayRequest = z.strictObject({
  ids: z.array(z.number().int().positive()).min(1).max(1000).optional(),
  stage: z.string().min(1).max(64).optional(),
  after: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(1000).default(100),
  payloads: z.record(z.string().regex(/^\d+$/, "keys must be dead letter ids"), z.unknown()).optional(),
}).refine((r) => (r.ids === undefined) !== (r.stage === undefined), "give either ids or a stage");

/** What a replay did, letter by letter. */
export interface ReplayResult {
  /** Letters replayed (now marked so). */
  replayed: number;
  /** Events ingested again or run through their plugin again. */
  events: number;
  /** Letters left as they were, or settled without running anything, and why. */
  skipped: { id: number; reason: string }[];
  /** Letters still pending, and why. */
  failed: { id: number; error: string }[];
  /** The highest id looked at: pass it as `after` for the next page of a stage. */
  last_id: number | null;
}

/** Adds the dead-letter routes to `app`. */
export function mountDeadLetters(app: Hono, ctx: RuntimeParts): void {
  const list = describeRoute({
    summary: "Dead letters, newest first",
    query: DeadLetterQuery,
    response: DeadLetterList,
    errors: [400],
  });
  app.get("/api/dead-letters", list, async (c) => {
    const { limit, stage, state } = c.req.valid("query");
    const where: string[] = [];
    const params: unknown[] = [];
    if (stage) where.push(`stage = $${params.push(stage)}`);
    if (state) where.push(`replayed_at is ${state === "pending" ? "" : "not "}null`);
    const filter = where.length ? `where ${where.join(" and ")}` : "";
    const [items, [{ total }]] = await Promise.all([
      ctx.store.query(
        `select id, stage, reason, payload, created_at, replayed_at from host.dead_letters ${filter}
         order by id desc limit $${params.length + 1}`,
        [...params, limit],
      ),
      ctx.store.query<{ total: number }>(`select count(*)::int8 as total from host.dead_letters ${filter}`, params),
    ]);
    return c.json({ total, items });
  });

  const replaying = describeRoute({
    summary: "Replay dead letters by id or by stage, once their cause is fixed",
    body: ReplayRequest,
    response: ReplayAnswer,
    errors: [400],
  });
  app.post("/api/dead-letters/replay", replaying, async (c) => {
    const request = await parseBody(c.req.raw, ReplayRequest);
    const result = await replay(ctx, request);
    ctx.logger.info("dead letters replayed", {
      stage: request.stage,
      replayed: result.replayed,
      skipped: result.skipped.length,
      failed: result.failed.length,
    });
    return c.json(result);
  });
}

async function replay(ctx: RuntimeParts, request: z.infer<typeof ReplayRequest>): Promise<ReplayResult> {
  const result: ReplayResult = { replayed: 0, events: 0, skipped: [], failed: [], last_id: null };
  const letters = request.ids
    ? await ctx.store.query<Letter & { replayed: boolean }>(
      `select id, stage, reason, payload, replayed_at is not null as replayed from host.dead_letters
       where id = any($1::int8[]) order by id`,
      [request.ids],
    )
    : await ctx.store.query<Letter & { replayed: boolean }>(
      `select id, stage, reason, payload, false as replayed from host.dead_letters
       where stage = $1 and replayed_at is null and id > $2 order by id limit $3`,
      [request.stage, request.after, request.limit],
    );
  for (const id of request.ids ?? []) {
    if (!letters.some((l) => l.id === id)) result.failed.push({ id, error: "no dead letter has this id" });
  }
  for (const id of Object.keys(request.payloads ?? {})) {
    if (!letters.some((l) => l.id === Number(id))) {
      result.failed.push({ id: Number(id), error: "a payload for a letter not among those replayed" });
    }
  }
  result.last_id = letters.length ? letters[letters.length - 1].id : null;
  const ingest: { letter: Letter; items: unknown[] }[] = [];
  const transformed: { letter: Letter; plugin: string; item: unknown }[] = [];
  for (const letter of letters) {
    const corrected = request.payloads?.[String(letter.id)];
    if (letter.replayed) result.skipped.push({ id: letter.id, reason: "already replayed" });
    else if (letter.stage === "ingest") {
      const items = corrected !== undefined ? [corrected] : letterItems(letter);
      if (items === null) {
        result.failed.push({ id: letter.id, error: "the message's content was not kept: give a corrected payload" });
      } else if (corrected === undefined && alteredToStore(letter.payload)) {
        result.failed.push({ id: letter.id, error: ALTERED });
      } else ingest.push({ letter, items });
    } else if (letter.stage.startsWith("transform:")) {
      const item = corrected !== undefined ? corrected : (letter.payload as { item?: unknown } | null)?.item;
      transformed.push({ letter, plugin: letter.stage.slice("transform:".length), item });
    } else if (letter.stage.startsWith("webhook:")) {
      if (corrected !== undefined) {
        result.failed.push({ id: letter.id, error: "a webhook's letter sends the stored notice: it takes no payload" });
      } else await replayToWebhook(ctx, letter, letter.stage.slice("webhook:".length), result);
    } else if (letter.stage.startsWith("plugin:")) {
      if (corrected !== undefined) {
        result.failed.push({ id: letter.id, error: "a plugin's letter replays the logged event: it takes no payload" });
      } else await replayToPlugin(ctx, letter, letter.stage.slice("plugin:".length), result);
    } else result.failed.push({ id: letter.id, error: `unknown stage '${letter.stage}'` });
  }
  await replayIngest(ctx, ingest, result);
  await replayTransformed(ctx, transformed, result);
  return result;
}

/** Runs each transform letter's item (or its corrected payload) through its plugin's transform again, and ingests it. */
async function replayTransformed(
  ctx: RuntimeParts,
  letters: { letter: Letter; plugin: string; item: unknown }[],
  result: ReplayResult,
): Promise<void> {
  for (const { letter, plugin, item } of letters) {
    const transform = ctx.plugins.transform(plugin);
    if (!transform) {
      result.failed.push({ id: letter.id, error: `no plugin named '${plugin}' with a transform is loaded` });
      continue;
    }
    const out = await transformItems(transform, [item], ctx.money);
    if (out.rejected.length > 0) {
      result.failed.push({ id: letter.id, error: out.rejected[0].error });
      continue;
    }
    await settle(ctx, [letter.id], out.valid, "transform", result);
  }
}

/**
 * Appends (or produces) `events`, then marks the letters `ids` replayed: a crash between leaves them pending, and
 * replaying them again stores nothing twice (the log de-duplicates by event_id).
 */
async function settle(ctx: RuntimeParts, ids: number[], events: Event[], stage: string, result: ReplayResult) {
  await ctx.sink(events, []);
  const marked = await ctx.store.query(
    "update host.dead_letters set replayed_at = now() where id = any($1::int8[]) and replayed_at is null returning id",
    [ids],
  );
  ctx.metrics.inc("dead_letters_replayed_total", "Dead letters replayed", { stage }, marked.length);
  result.replayed += marked.length;
  result.events += events.length;
}

const ALTERED = "the payload was stored with NUL, broken Unicode or deep nesting replaced: give a corrected payload";

/**
 * Whether a letter's payload holds what `toStorable` puts in place of what Postgres cannot store (U+FFFD,
 * a note on nesting): replayed as stored, an item other than the one sent (another event_id even) would be ingested.
 */
function alteredToStore(payload: unknown): boolean {
  const json = JSON.stringify(payload) ?? "";
  return json.includes("\uFFFD") || json.includes(`[nested deeper than ${MAX_DEPTH} levels]`);
}

/**
 * The items of an ingest letter: the item itself, or for a Kafka message's letter (`{ kafka, item }` or
 * `{ kafka, value }`), the item or the message's events; null when the message's content was not kept.
 */
export function letterItems(letter: Pick<Letter, "reason" | "payload">): unknown[] | null {
  const p = letter.payload;
  // An event a transform made, refused by validation: `{ source | kafka, index, transform, item }`.
  if (p !== null && typeof p === "object" && "transform" in p && "item" in p) return [p.item];
  const fromKafka = /^[^/]+\/\d+@\d+: /.test(letter.reason) && p !== null && typeof p === "object" && "kafka" in p;
  if (!fromKafka) return [p];
  if ("item" in p) return [p.item];
  if (!("value" in p) || typeof p.value !== "string") return null;
  try {
    const parsed: unknown = JSON.parse(p.value);
    return Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    return [p.value]; // still not JSON: it fails validation again, saying why
  }
}

/** Validates each letter's items; the letters whose items are all valid go to the sink, then are marked. */
async function replayIngest(
  ctx: RuntimeParts,
  letters: { letter: Letter; items: unknown[] }[],
  result: ReplayResult,
): Promise<void> {
  let batch: { ids: number[]; events: ReturnType<typeof validateItems>["valid"] } = { ids: [], events: [] };
  const flush = async () => {
    if (batch.ids.length === 0) return;
    await settle(ctx, batch.ids, batch.events, "ingest", result);
    batch = { ids: [], events: [] };
  };
  for (const { letter, items } of letters) {
    const { valid, rejected } = validateItems(items, ctx.money);
    if (rejected.length > 0) {
      const { index, error } = rejected[0];
      result.failed.push({ id: letter.id, error: items.length > 1 ? `item ${index}: ${error}` : error });
      continue;
    }
    if (batch.events.length + valid.length > MAX_BATCH) await flush();
    batch.ids.push(letter.id);
    batch.events.push(...valid);
  }
  await flush();
}

/** Runs a plugin letter's logged event through the plugin again, exactly once. */
async function replayToPlugin(ctx: RuntimeParts, letter: Letter, plugin: string, result: ReplayResult) {
  const eventId = (letter.payload as { event_id?: unknown } | null)?.event_id;
  const [found] = typeof eventId !== "string" ? [] : await ctx.store.query<
    { position: number; type: string; user_id: string; part: number | null; ts: Date | string; json: string }
  >("select position, type, user_id, part, ts, body::text as json from host.events where event_id = $1", [eventId]);
  if (!found) return result.failed.push({ id: letter.id, error: `event '${eventId}' is not in the log` });
  // Under its person: the event's id may have been merged into one since it was logged.
  const row: LoggedEvent = await resolveLogged(ctx.store, {
    ...found,
    userId: found.user_id,
    part: found.part ?? partitionOf(found.user_id),
    timestamp: new Date(found.ts).toISOString(),
  });
  let outcome = "replayed" as "replayed" | "already replayed" | "not reached";
  const claim = async (tx: Sql) => {
    const marked = await tx.query(
      "update host.dead_letters set replayed_at = now() where id = $1 and replayed_at is null returning id",
      [letter.id],
    );
    if (marked.length === 0) return (outcome = "already replayed", false);
    // The checkpoint of the event's partition, locked until commit: the plugin's own batches cannot move past the
    // event meanwhile.
    const [checkpoint] = await tx.query<{ committed: number }>(
      "select committed from host.checkpoints where plugin = $1 and source = 'log' and part = $2 for update",
      [plugin, row.part],
    );
    if (!checkpoint || checkpoint.committed < row.position) return (outcome = "not reached", false);
    return true;
  };
  const running = ctx.plugins.replay(plugin, row, claim);
  if (!running) return result.failed.push({ id: letter.id, error: `no plugin named '${plugin}' is loaded` });
  try {
    await running;
  } catch (e) {
    return result.failed.push({ id: letter.id, error: (e as Error).message });
  }
  if (outcome === "already replayed") return result.skipped.push({ id: letter.id, reason: outcome });
  if (outcome === "not reached") {
    // Settled (marked) without running: the plugin's checkpoint was set back, so its own loop delivers the event.
    return result.skipped.push({ id: letter.id, reason: "the plugin has not reached this event yet: it will" });
  }
  result.replayed++;
  result.events++;
  ctx.metrics.inc("dead_letters_replayed_total", "Dead letters replayed", { stage: letter.stage });
}

/** A delivery that cannot go back to pending: the letter stays as it was. */
class NotRequeued extends Error {}

/** Puts a webhook letter's dead delivery back to pending, in the transaction that marks the letter replayed. */
async function replayToWebhook(ctx: RuntimeParts, letter: Letter, webhook: string, result: ReplayResult) {
  const noticeId = (letter.payload as { id?: unknown } | null)?.id;
  if (typeof noticeId !== "number") {
    return result.failed.push({ id: letter.id, error: "the letter holds no notice id" });
  }
  try {
    const marked = await ctx.store.transaction(async (tx) => {
      const marked = await tx.query(
        "update host.dead_letters set replayed_at = now() where id = $1 and replayed_at is null returning id",
        [letter.id],
      );
      if (marked.length === 0) return false;
      const problem = await requeueDead(tx, webhook, noticeId);
      if (problem !== null) throw new NotRequeued(problem); // rolls the mark back
      return true;
    });
    if (!marked) return result.skipped.push({ id: letter.id, reason: "already replayed" });
  } catch (e) {
    if (!(e instanceof NotRequeued)) throw e;
    return result.failed.push({ id: letter.id, error: e.message });
  }
  ctx.webhooks.wake();
  result.replayed++;
  ctx.metrics.inc("dead_letters_replayed_total", "Dead letters replayed", { stage: letter.stage });
}
