/**
 * Replaying dead letters once whatever put them there is fixed. An ingest letter's item (or a corrected one) is
 * validated and ingested again; a plugin letter's event, already in the log, is run through that plugin again. Either
 * way delivery stays exact: ingest de-duplicates by event_id, and a plugin replay commits the plugin's writes in the
 * same transaction that marks the letter resolved, after checking that the plugin's checkpoint is past the event (else
 * its own loop will deliver it). A webhook letter's delivery is put back to pending, with fresh attempts, in the
 * transaction that marks the letter. Every replay of a letter is a retry of it (`lifecycle.ts`).
 * @module
 */
import { z } from "zod";
import { type Event, MAX_DEPTH, validateEvent } from "../core/event.ts";
import { fromFlatShape } from "../core/shapes.ts";
import { partitionOf } from "../core/partitions.ts";
import type { EventLog, LoggedEvent } from "../core/event_log.ts";
import { MAX_BATCH, type Sink, validateItems } from "../core/ingest.ts";
import { resolveLogged } from "../core/identity.ts";
import type { Money } from "../core/money.ts";
import { transformItems } from "../core/transform.ts";
import type { MetricsRegistry } from "../observability/metrics.ts";
import type { PluginHost } from "../plugin/mod.ts";
import type { Sql, Store } from "../store/mod.ts";
import { requeueDead, type WebhookDeliverer } from "../webhooks/mod.ts";
import { type FailedRetry, recordFailures, RESOLVE, type RetryPolicy } from "./lifecycle.ts";

/** What a replay reads and writes through: the runtime's parts. */
export interface ReplayParts {
  store: Store;
  eventLog: EventLog;
  /** Where ingested events go: the log, or Kafka when it is the source. */
  sink: Sink;
  plugins: PluginHost;
  metrics: MetricsRegistry;
  money: Money;
  webhooks: WebhookDeliverer;
}

/** A dead letter as stored. */
export type Letter = {
  id: number;
  stage: string;
  reason: string;
  payload: unknown;
};

/** `POST /api/dead-letters/replay`: letters by id (with corrected payloads) or a stage's unresolved ones, paged. */
export const ReplayRequest = z.strictObject({
  ids: z.array(z.number().int().positive()).min(1).max(1000).optional(),
  stage: z.string().min(1).max(64).optional(),
  after: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(1000).default(100),
  payloads: z.record(z.string().regex(/^\d+$/, "keys must be dead letter ids"), z.unknown()).optional(),
}).refine((r) => (r.ids === undefined) !== (r.stage === undefined), "give either ids or a stage");

/** What a replay did, letter by letter. */
export interface ReplayResult {
  /** Letters replayed (now resolved). */
  replayed: number;
  /** Events ingested again or run through their plugin again. */
  events: number;
  /** Letters left as they were, or settled without running anything, and why. */
  skipped: { id: number; reason: string }[];
  /** Letters that failed again (a retry counted), or that the request could not replay, and why. */
  failed: { id: number; error: string }[];
  /** The highest id looked at: pass it as `after` for the next page of a stage. */
  last_id: number | null;
}

/** A replay under way: its answer, and the failures that count as a letter's retry. */
interface Run {
  result: ReplayResult;
  /** A letter's retry failed; `final` when no retry of it as stored can succeed. */
  failed(id: number, error: string, final?: boolean): void;
  retries: FailedRetry[];
}

/**
 * Replays the letters `request` names, records each failed one's retry (`lifecycle.ts`, with `policy`), and answers
 * what it did.
 */
export async function replay(
  ctx: ReplayParts,
  request: z.infer<typeof ReplayRequest>,
  policy: RetryPolicy,
): Promise<ReplayResult> {
  const result: ReplayResult = { replayed: 0, events: 0, skipped: [], failed: [], last_id: null };
  const run: Run = {
    result,
    retries: [],
    failed(id, error, final = false) {
      result.failed.push({ id, error });
      run.retries.push({ id, error, final });
    },
  };
  try {
    await replayLetters(ctx, request, run);
  } finally {
    await recordFailures(ctx.store, run.retries, policy); // what failed before a fault still counts
  }
  return result;
}

async function replayLetters(ctx: ReplayParts, request: z.infer<typeof ReplayRequest>, run: Run): Promise<void> {
  const { result } = run;
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
        run.failed(letter.id, "the message's content was not kept: give a corrected payload", true);
      } else if (corrected === undefined && alteredToStore(letter.payload)) {
        run.failed(letter.id, ALTERED, true);
      } else ingest.push({ letter, items });
    } else if (letter.stage.startsWith("transform:")) {
      const item = corrected !== undefined ? corrected : (letter.payload as { item?: unknown } | null)?.item;
      transformed.push({ letter, plugin: letter.stage.slice("transform:".length), item });
    } else if (letter.stage.startsWith("webhook:")) {
      if (corrected !== undefined) {
        result.failed.push({ id: letter.id, error: "a webhook's letter sends the stored notice: it takes no payload" });
      } else await replayToWebhook(ctx, letter, letter.stage.slice("webhook:".length), run);
    } else if (letter.stage.startsWith("plugin:")) {
      if (corrected !== undefined) {
        result.failed.push({ id: letter.id, error: "a plugin's letter replays the logged event: it takes no payload" });
      } else await replayToPlugin(ctx, letter, letter.stage.slice("plugin:".length), run);
    } else run.failed(letter.id, `unknown stage '${letter.stage}'`, true);
  }
  await replayIngest(ctx, ingest, run);
  await replayTransformed(ctx, transformed, run);
}

/** Runs each transform letter's item (or its corrected payload) through its plugin's transform again, and ingests it. */
async function replayTransformed(
  ctx: ReplayParts,
  letters: { letter: Letter; plugin: string; item: unknown }[],
  run: Run,
): Promise<void> {
  for (const { letter, plugin, item } of letters) {
    const transform = ctx.plugins.transform(plugin);
    if (!transform) {
      run.failed(letter.id, `no plugin named '${plugin}' with a transform is loaded`);
      continue;
    }
    let out;
    try {
      out = await transformItems(transform, [item], ctx.money);
    } catch (e) {
      run.failed(letter.id, (e as Error).message); // the plugin is not running now: it may be later
      continue;
    }
    if (out.rejected.length > 0) {
      run.failed(letter.id, out.rejected[0].error);
      continue;
    }
    await settle(ctx, [letter.id], out.valid, "transform", run);
  }
}

/**
 * Appends (or produces) `events`, then resolves the letters `ids`: a crash between leaves them as they were, and
 * replaying them again stores nothing twice (the log de-duplicates by event_id).
 */
async function settle(ctx: ReplayParts, ids: number[], events: Event[], stage: string, { result }: Run) {
  await ctx.sink(events, []);
  const marked = await ctx.store.query(
    `update host.dead_letters set ${RESOLVE} where id = any($1::int8[]) and replayed_at is null returning id`,
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
  ctx: ReplayParts,
  letters: { letter: Letter; items: unknown[] }[],
  run: Run,
): Promise<void> {
  let batch: { ids: number[]; events: ReturnType<typeof validateItems>["valid"] } = { ids: [], events: [] };
  const flush = async () => {
    if (batch.ids.length === 0) return;
    await settle(ctx, batch.ids, batch.events, "ingest", run);
    batch = { ids: [], events: [] };
  };
  for (const { letter, items } of letters) {
    const { valid, rejected } = validateItems(items, ctx.money);
    if (rejected.length > 0) {
      const { index, error } = rejected[0];
      // Refused as an event, the item will always be; refused for its money, a rate configured later takes it.
      const final = !validateEvent(fromFlatShape(items[index])).ok;
      run.failed(letter.id, items.length > 1 ? `item ${index}: ${error}` : error, final);
      continue;
    }
    if (batch.events.length + valid.length > MAX_BATCH) await flush();
    batch.ids.push(letter.id);
    batch.events.push(...valid);
  }
  await flush();
}

/** Runs a plugin letter's logged event through the plugin again, exactly once. */
async function replayToPlugin(ctx: ReplayParts, letter: Letter, plugin: string, run: Run) {
  const eventId = (letter.payload as { event_id?: unknown } | null)?.event_id;
  const [found] = typeof eventId !== "string" ? [] : await ctx.store.query<
    { position: number; type: string; user_id: string; part: number | null; ts: Date | string; json: string }
  >("select position, type, user_id, part, ts, body::text as json from host.events where event_id = $1", [eventId]);
  if (!found) return run.failed(letter.id, `event '${eventId}' is not in the log`, true);
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
      `update host.dead_letters set ${RESOLVE} where id = $1 and replayed_at is null returning id`,
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
  if (!running) return run.failed(letter.id, `no plugin named '${plugin}' is loaded`);
  try {
    await running;
  } catch (e) {
    return run.failed(letter.id, (e as Error).message);
  }
  if (outcome === "already replayed") return run.result.skipped.push({ id: letter.id, reason: outcome });
  if (outcome === "not reached") {
    // Settled (marked) without running: the plugin's checkpoint was set back, so its own loop delivers the event.
    return run.result.skipped.push({ id: letter.id, reason: "the plugin has not reached this event yet: it will" });
  }
  run.result.replayed++;
  run.result.events++;
  ctx.metrics.inc("dead_letters_replayed_total", "Dead letters replayed", { stage: letter.stage });
}

/** A delivery that cannot go back to pending: the letter stays as it was. */
class NotRequeued extends Error {}

/** Puts a webhook letter's dead delivery back to pending, in the transaction that resolves the letter. */
async function replayToWebhook(ctx: ReplayParts, letter: Letter, webhook: string, run: Run) {
  const noticeId = (letter.payload as { id?: unknown } | null)?.id;
  if (typeof noticeId !== "number") {
    return run.failed(letter.id, "the letter holds no notice id", true);
  }
  try {
    const marked = await ctx.store.transaction(async (tx) => {
      const marked = await tx.query(
        `update host.dead_letters set ${RESOLVE} where id = $1 and replayed_at is null returning id`,
        [letter.id],
      );
      if (marked.length === 0) return false;
      const problem = await requeueDead(tx, webhook, noticeId);
      if (problem !== null) throw new NotRequeued(problem); // rolls the mark back
      return true;
    });
    if (!marked) return run.result.skipped.push({ id: letter.id, reason: "already replayed" });
  } catch (e) {
    if (!(e instanceof NotRequeued)) throw e;
    return run.failed(letter.id, e.message, true); // its delivery is gone or back in play: no replay of it can help
  }
  ctx.webhooks.wake();
  run.result.replayed++;
  ctx.metrics.inc("dead_letters_replayed_total", "Dead letters replayed", { stage: letter.stage });
}
