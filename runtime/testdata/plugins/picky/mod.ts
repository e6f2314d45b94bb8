// Refuses events marked `bad` until its settings say to take them (a bug, fixed by a deploy), and counts how
// many times it took each event: a replay must make each count 1.
import { Hono } from "hono";
import { definePlugin, type Env } from "@runtime/sdk";
import { z } from "zod";

const Config = z.object({ takeBad: z.boolean().default(false) });

const app = new Hono<{ Bindings: Env }>();
app.get("/seen", async (c) => {
  const rows = await c.env.db.sql<{ id: string; n: number }>`select id, n from seen order by id`;
  return c.json(Object.fromEntries(rows.map((r) => [r.id, r.n])));
});

export default definePlugin({
  name: "picky",
  version: "1.0.0",
  subscribes: "*",
  config: Config,
  async queue(batch, env: Env<z.infer<typeof Config>>) {
    const bad = batch.find((e) => e.properties.bad === true);
    if (bad && !env.config.takeBad) throw new Error(`cannot take ${bad.event_id}`);
    await env.db.sql`insert into seen (id, n) select id, 1 from unnest(${batch.map((e) => e.event_id)}::text[]) id
      on conflict (id) do update set n = seen.n + 1`;
  },
  fetch: app.fetch,
});
