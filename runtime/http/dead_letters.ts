/**
 * The dead letters over HTTP: `GET /api/dead-letters` lists them, filtered and paged, with how many are in each state;
 * `POST /api/dead-letters/replay` replays them once whatever put them there is fixed (`runtime/dead_letters/`).
 * @module
 */
import type { Hono } from "hono";
import { parseBody } from "./body.ts";
import { type LetterState, ReplayRequest, RETRIED_STAGES } from "../dead_letters/mod.ts";
import { DeadLetterList, DeadLetterQuery, ReplayAnswer } from "./schemas.ts";
import { describeRoute } from "./openapi.ts";
import type { RuntimeParts } from "./context.ts";

/** SQL: a letter's state; one that a process of the version before resolved has only its `replayed_at` set. */
const STATE = "case when replayed_at is not null then 'resolved' else state end";

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
    const counted = where.length; // the counts by state are of these filters, whatever the state asked for
    if (state === "resolved" || state === "replayed") where.push("replayed_at is not null");
    else if (state === "unresolved") where.push("replayed_at is null");
    else if (state) where.push(`state = $${params.push(state)} and replayed_at is null`);
    if (before) where.push(`id < $${params.push(before)}`);
    const clause = (w: string[]) => w.length ? `where ${w.join(" and ")}` : "";
    const { retries, baseMs } = ctx.deadLetters.policy;
    const [items, byState] = await Promise.all([
      ctx.store.query(
        `select id, stage, ${STATE} as state, retries, reason, last_error, payload, created_at, last_retry_at,
           coalesce(next_retry_at, case when state = 'pending' and ${RETRIED_STAGES} and $${params.length + 2}::int > 0
             and replayed_at is null then created_at + $${params.length + 3}::float8 * interval '1 millisecond' end)
             as next_retry_at,
           replayed_at
         from host.dead_letters ${clause(where)} order by id desc limit $${params.length + 1}`,
        [...params, limit + 1, retries, baseMs], // one more than the page: whether a next one has any
      ),
      ctx.store.query<{ state: LetterState; n: number }>(
        `select ${STATE} as state, count(*)::int8 as n from host.dead_letters ${clause(where.slice(0, counted))}
         group by 1`,
        params.slice(0, counted),
      ),
    ]);
    const by_state = { pending: 0, retrying: 0, dead: 0, resolved: 0 };
    for (const { state, n } of byState) by_state[state] = n;
    const total = state === undefined
      ? by_state.pending + by_state.retrying + by_state.dead + by_state.resolved
      : state === "unresolved"
      ? by_state.pending + by_state.retrying + by_state.dead
      : by_state[state === "replayed" ? "resolved" : state];
    const page = items.slice(0, limit);
    const next_before = items.length > limit ? Number(page[page.length - 1].id) : null;
    return c.json({ total, by_state, items: page, next_before });
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
