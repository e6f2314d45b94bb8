/**
 * The dead letters over HTTP: `GET /api/dead-letters` lists them, filtered and paged, with how many are in each state;
 * `POST /api/dead-letters/replay` replays them once whatever put them there is fixed (`runtime/dead_letters/`).
 * @module
 */
import type { Hono } from "hono";
import { parseBody } from "./body.ts";
import { ReplayRequest } from "../dead_letters/mod.ts";
import { DeadLetterList, DeadLetterQuery, ReplayAnswer } from "./schemas.ts";
import { describeRoute } from "./openapi.ts";
import type { RuntimeParts } from "./context.ts";

/** Adds the dead-letter routes to `app`. */
export function mountDeadLetters(app: Hono, ctx: RuntimeParts): void {
  const list = describeRoute({
    summary: "Dead letters, newest first, with how many are in each state",
    query: DeadLetterQuery,
    response: DeadLetterList,
    errors: [400],
  });
  app.get("/api/dead-letters", list, async (c) => {
    const { limit, stage, state, from, to, before } = c.req.valid("query");
    const where: string[] = [];
    const params: unknown[] = [];
    if (stage) where.push(`stage = $${params.push(stage)}`);
    if (from) where.push(`created_at >= $${params.push(from)}::timestamptz`);
    if (to) where.push(`created_at < $${params.push(to)}::timestamptz`);
    const shared = where.length; // the counts by state are of these filters, whatever the state asked for
    if (state) where.push(`state = $${params.push(state === "replayed" ? "resolved" : state)}`);
    const listed = [...where];
    if (before) listed.push(`id < $${params.push(before)}`);
    const clause = (w: string[]) => w.length ? `where ${w.join(" and ")}` : "";
    const [items, [{ total }], byState] = await Promise.all([
      ctx.store.query(
        `select id, stage, state, retries, reason, last_error, payload, created_at, last_retry_at, next_retry_at,
           replayed_at
         from host.dead_letters ${clause(listed)} order by id desc limit $${params.length + 1}`,
        [...params, limit],
      ),
      ctx.store.query<{ total: number }>(
        `select count(*)::int8 as total from host.dead_letters ${clause(where)}`,
        params.slice(0, where.length),
      ),
      ctx.store.query<{ state: string; n: number }>(
        `select state, count(*)::int8 as n from host.dead_letters ${clause(where.slice(0, shared))} group by state`,
        params.slice(0, shared),
      ),
    ]);
    const by_state = { pending: 0, retrying: 0, dead: 0, resolved: 0 };
    for (const { state, n } of byState) by_state[state as keyof typeof by_state] = n;
    return c.json({ total, by_state, items });
  });

  const replaying = describeRoute({
    summary: "Replay dead letters by id or by stage, once their cause is fixed",
    body: ReplayRequest,
    response: ReplayAnswer,
    errors: [400],
  });
  app.post("/api/dead-letters/replay", replaying, async (c) => {
    const request = await parseBody(c.req.raw, ReplayRequest);
    const result = await ctx.deadLetters.replay(request);
    ctx.logger.info("dead letters replayed", {
      stage: request.stage,
      replayed: result.replayed,
      skipped: result.skipped.length,
      failed: result.failed.length,
    });
    return c.json(result);
  });
}
