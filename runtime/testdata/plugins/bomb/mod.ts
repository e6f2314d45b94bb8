// Allocates without bound on request: on the V8 heap (the heap cap must contain it), or in ArrayBuffers, which live
// outside that heap (the sandbox's memory watch must contain them).
import { definePlugin } from "@runtime/sdk";

const held: Uint8Array[] = [];

export default definePlugin({
  name: "bomb",
  version: "1.0.0",
  subscribes: [],
  limits: { memoryMb: 64, timeoutMs: 20_000 },
  fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/buffers") {
      // 32 MiB at a time, touched and kept, up to 2 GiB: far past the watch's limit, short of hurting the machine.
      while (held.length < 64) held.push(new Uint8Array(32 * 1024 * 1024).fill(1));
      return Response.json({ held: held.length * 32 });
    }
    if (path === "/explode") {
      const hoard: string[][] = [];
      for (;;) hoard.push(Array.from({ length: 100_000 }, (_, i) => `${i}-${hoard.length}`));
    }
    return Response.json({ ok: true });
  },
});
