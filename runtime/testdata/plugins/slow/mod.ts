// Takes its time: 10 events per batch, 100 ms each. Sources must wait for it, not pile up behind it.
import { definePlugin } from "@runtime/sdk";

export default definePlugin({
  name: "slow",
  version: "1.0.0",
  subscribes: "*",
  limits: { batchSize: 10 },
  async queue(batch, env) {
    await new Promise((r) => setTimeout(r, 100));
    await env.db.sql`insert into seen (id) select * from unnest(${batch.map((e) => e.event_id)}::text[])`;
  },
});
