// Spins forever on request: the host must stop it within its time limit.
import { definePlugin } from "@runtime/sdk";

export default definePlugin({
  name: "looper",
  version: "1.0.0",
  subscribes: [],
  limits: { timeoutMs: 1000 },
  fetch(request) {
    if (new URL(request.url).pathname === "/spin") { for (;;) { /* forever */ } }
    return Response.json({ ok: true });
  },
});
