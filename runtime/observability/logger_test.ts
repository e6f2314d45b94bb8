import assert from "node:assert/strict";
import { createLogger, throttledLogger } from "./logger.ts";

Deno.test("createLogger() writes one JSON object per line, at its level and above, with its fields", () => {
  const lines: string[] = [];
  const log = createLogger("info", { component: "test" }, (line) => lines.push(line)).with({ plugin: "p" });
  log.debug("hidden");
  log.info("shown", { n: 1n, error: new Error("boom") });
  log.error("bad");
  const parsed = lines.map((l) => JSON.parse(l));
  assert.deepEqual(parsed.map(({ time: _, ...rest }) => rest), [
    { level: "info", msg: "shown", component: "test", plugin: "p", n: "1", error: "boom" },
    { level: "error", msg: "bad", component: "test", plugin: "p" },
  ]);
  assert.ok(!Number.isNaN(Date.parse(parsed[0].time)));
  assert.equal(log.level, "info");
});

Deno.test("throttledLogger() passes its rate, counts and reports what it drops, and cuts oversized fields", () => {
  const lines: string[] = [];
  let dropped = 0;
  const inner = createLogger("info", {}, (line) => lines.push(line));
  const log = throttledLogger(inner, { linesPerSecond: 5, maxFieldChars: 50, onDrop: () => dropped++ });
  for (let i = 0; i < 100; i++) log.debug("below the level: neither written nor counted");
  for (let i = 0; i < 20; i++) log.info(`line ${i}`);
  assert.equal(lines.length, 5);
  assert.equal(dropped, 15);
  log.warn("big", { blob: "x".repeat(1000) });
  assert.equal(lines.length, 5); // still over the rate
  return new Promise((resolve) =>
    setTimeout(() => {
      log.with({ plugin: "p" }).warn("big", { blob: "x".repeat(1000) });
      const [notice, big] = lines.slice(5).map((l) => JSON.parse(l));
      assert.equal(notice.msg, "log lines dropped: over the rate limit");
      assert.equal(notice.dropped, 16);
      assert.equal(big.plugin, "p");
      assert.equal(big.fields, `{"blob":"${"x".repeat(41)}…`);
      resolve();
    }, 250)
  );
});
