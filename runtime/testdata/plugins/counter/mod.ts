// A well-behaved plugin: counts events per type. Used beside misbehaving ones and as a drop-in.
import { Hono } from "hono";
import { definePlugin, type Env } from "@runtime/sdk";
import { z } from "zod";

const Config = z.object({ label: z.string().min(1).default("counts") });

const app = new Hono<{ Bindings: Env<z.infer<typeof Config>> }>();
app.get("/counts", async (c) => {
  const rows = await c.env.db.sql<{ type: string; n: number }>`select type, n from counts order by type`;
  return c.json({
    counts: Object.fromEntries(rows.map((r) => [r.type, r.n])),
    watermark: c.env.watermark,
    label: c.env.config.label,
  });
});

// SQL parameters that JSON cannot carry are refused in the sandbox rather than sent as null.
app.get("/nan", async (c) => {
  try {
    await c.env.db.query("select $1::int8[] as xs", [[1, Number.NaN]]);
    return c.json({ error: null });
  } catch (e) {
    return c.json({ error: (e as Error).message });
  }
});

export default definePlugin({
  name: "counter",
  version: "1.0.0",
  subscribes: "*",
  config: Config,
  async queue(batch, env) {
    await env.db.sql`insert into counts (type, n) select t, count(*) from unnest(${batch.map((e) => e.type)}::text[]) t
      group by t on conflict (type) do update set n = counts.n + excluded.n`;
    env.metrics.increment("batches");
    env.log.debug("counted", { events: batch.length });
  },
  fetch: app.fetch,
  panels: [{ title: "Counts", route: "/counts", kind: "table" }],
});
