// Its process dies on every batch: the host restarts it with backoff, then marks it degraded, then disabled.
import { definePlugin } from "@runtime/sdk";

export default definePlugin({
  name: "crasher",
  version: "1.0.0",
  subscribes: "*",
  queue() {
    Deno.exit(3);
  },
  fetch: () => Response.json({ alive: true }),
});
