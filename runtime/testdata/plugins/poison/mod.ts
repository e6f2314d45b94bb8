// Fails on any batch holding an event with properties.poison: that event must be dead-lettered, the rest kept.
import { Hono } from "hono";
import { definePlugin, type Env } from "@runtime/sdk";

const app = new Hono<{ Bindings: Env }>();
app.get(
  "/seen",
  async (c) => c.json({ ids: (await c.env.db.sql<{ id: string }>`select id from seen order by id`).map((r) => r.id) }),
);

app.get("/spin", () => {
  for (;;) { /* forever: the host stops the sandbox at the time limit */ }
});

export default definePlugin({
  name: "poison",
  limits: { timeoutMs: 1500 },
  version: "1.0.0",
  subscribes: "*",
  async queue(batch, env) {
    await env.db.sql`insert into seen (id) select * from unnest(${batch.map((e) => e.event_id)}::text[])`;
    const bad = batch.find((e) => e.properties.poison === true);
    if (bad) throw new Error(`cannot digest ${bad.event_id}`);
  },
  fetch: app.fetch,
});
