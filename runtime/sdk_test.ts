import assert from "node:assert/strict";
import { clampLimits, DEFAULT_LIMITS, definePlugin } from "./sdk.ts";

Deno.test("clampLimits() keeps a plugin's limits within the host's range", () => {
  assert.deepEqual(clampLimits({}), DEFAULT_LIMITS);
  assert.deepEqual(clampLimits({ timeoutMs: 3_600_000, memoryMb: 1, batchSize: 500 }), {
    timeoutMs: 60_000,
    memoryMb: 32,
    batchSize: 500,
  });
  assert.deepEqual(clampLimits({ timeoutMs: Number.NaN, memoryMb: "9" as unknown as number }), DEFAULT_LIMITS);
});

Deno.test("definePlugin() names the plugin in what is wrong with it", () => {
  assert.throws(() => definePlugin({ name: "Bad Name", version: "1", subscribes: [] }), /plugin name must match/);
  assert.throws(() => definePlugin({ name: "ok", version: "", subscribes: [] }), /plugin ok: version/);
  assert.throws(
    () => definePlugin({ name: "ok", version: "1", subscribes: "page_view" as unknown as "*" }),
    /plugin ok: subscribes/,
  );
  assert.equal(definePlugin({ name: "ok", version: "1", subscribes: "*" }).name, "ok");
});
