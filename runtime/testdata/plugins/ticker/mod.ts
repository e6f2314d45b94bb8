// Scheduled work: records a tick with the watermark every second; its first run fails.
import { Hono } from "hono";
import { definePlugin, type Env } from "@runtime/sdk";

let runs = 0;
const app = new Hono<{ Bindings: Env }>();
app.get("/ticks", async (c) => c.json({ ticks: await c.env.db.sql`select n, watermark from ticks order by n` }));

export default definePlugin({
  name: "ticker",
  version: "1.0.0",
  subscribes: [],
  scheduled: {
    everyMs: 1000,
    async run(env) {
      if (++runs === 1) throw new Error("the first tick fails");
      await env.db.sql`insert into ticks (watermark) values (${env.watermark})`;
    },
  },
  fetch: app.fetch,
});
