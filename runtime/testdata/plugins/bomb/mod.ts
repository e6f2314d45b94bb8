// Allocates without bound on request: the sandbox's heap cap must contain it.
import { definePlugin } from "@runtime/sdk";

export default definePlugin({
  name: "bomb",
  version: "1.0.0",
  subscribes: [],
  limits: { memoryMb: 64, timeoutMs: 20_000 },
  fetch(request) {
    if (new URL(request.url).pathname === "/explode") {
      const hoard: string[][] = [];
      for (;;) hoard.push(Array.from({ length: 100_000 }, (_, i) => `${i}-${hoard.length}`));
    }
    return Response.json({ ok: true });
  },
});
