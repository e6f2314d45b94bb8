// Spins forever, or sleeps in SQL, on request: the host must stop it within its time limit.
import { definePlugin } from "@runtime/sdk";

export default definePlugin({
  name: "looper",
  version: "1.0.0",
  subscribes: [],
  limits: { timeoutMs: 1000 },
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path === "/spin") {
      for (;;) { /* forever */ }
    }
    if (path === "/sleep") await env.db.sql`select pg_sleep(5)`;
    return Response.json({ ok: true });
  },
});
