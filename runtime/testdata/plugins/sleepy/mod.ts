// Takes its time, and says when it starts: a batch takes 1.5 s, a request to /nap 1 s. Shutdown must let both finish.
// /echo logs what it was sent, as a careless plugin might: the host must not have passed it any credentials.
import { Hono } from "hono";
import { definePlugin, type Env } from "@runtime/sdk";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const app = new Hono<{ Bindings: Env }>();
app.get("/nap", async (c) => {
  c.env.log.info("nap started");
  await sleep(1000);
  return c.json({ ok: true });
});
app.get("/echo", (c) => {
  c.env.log.info("request", { url: c.req.url, headers: Object.fromEntries(c.req.raw.headers) });
  return c.json({ ok: true });
});

export default definePlugin({
  name: "sleepy",
  version: "1.0.0",
  subscribes: "*",
  async queue(batch, env) {
    env.log.info("batch started", { events: batch.length });
    await sleep(1500);
    await env.db.sql`insert into seen (id) select * from unnest(${batch.map((e) => e.event_id)}::text[])`;
  },
  fetch: app.fetch,
});
