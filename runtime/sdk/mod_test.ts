import assert from "node:assert/strict";
import { clampLimits, DEFAULT_LIMITS, definePlugin, HttpError, intParam, timeParam } from "./mod.ts";

Deno.test("clampLimits() keeps a plugin's limits within the host's range", () => {
  assert.deepEqual(clampLimits({}), DEFAULT_LIMITS);
  assert.deepEqual(clampLimits({ timeoutMs: 3_600_000, memoryMb: 1, batchSize: 500, storageMb: 0 }), {
    timeoutMs: 60_000,
    memoryMb: 32,
    batchSize: 500,
    storageMb: 1,
  });
  assert.deepEqual(clampLimits({ timeoutMs: Number.NaN, memoryMb: "9" as unknown as number }), DEFAULT_LIMITS);
});

Deno.test("definePlugin() names the plugin in what is wrong with it", () => {
  assert.throws(() => definePlugin({ name: "Bad Name", version: "1", subscribes: [] }), /plugin name must match/);
  for (
    const [name, why] of [
      ["user", "an SQL keyword"],
      ["pg_x", "belong to PostgreSQL"],
      ["host", "already uses"],
      ["webhooks", "already uses"], // /api/webhooks is the host's
    ]
  ) {
    assert.throws(
      () => definePlugin({ name, version: "1", subscribes: [] }),
      new RegExp(`'${name}' is reserved: .*${why}`),
    );
  }
  assert.throws(() => definePlugin({ name: "ok", version: "", subscribes: [] }), /plugin ok: version/);
  assert.throws(
    () => definePlugin({ name: "ok", version: "1", subscribes: "page_view" as unknown as "*" }),
    /plugin ok: subscribes/,
  );
  assert.equal(definePlugin({ name: "ok", version: "1", subscribes: "*" }).name, "ok");
});

Deno.test("intParam() and timeParam() parse query parameters or throw a 400 naming the parameter", () => {
  assert.equal(intParam(undefined, "limit", 20, 1, 100), 20);
  assert.equal(intParam("7", "limit", 20, 1, 100), 7);
  assert.equal(timeParam("2026-01-01T01:00:00+01:00", "from"), "2026-01-01T00:00:00.000Z");
  assert.equal(timeParam("", "from"), null);
  for (const bad of [() => intParam("101", "limit", 20, 1, 100), () => intParam("1.5", "limit", 20, 1, 100)]) {
    assert.throws(
      bad,
      (e) => e instanceof HttpError && e.status === 400 && /limit must be an integer 1..100/.test(e.message),
    );
  }
  assert.throws(
    () => timeParam("10000-01-01T00:00:00Z", "to"),
    (e) => e instanceof HttpError && /^to must be/.test(e.message),
  );
});

Deno.test("definePlugin() refuses scheduled work more often than once a second", () => {
  const run = () => Promise.resolve();
  assert.throws(
    () => definePlugin({ name: "x", version: "1", subscribes: "*", scheduled: { everyMs: 10, run } }),
    /plugin x: scheduled.everyMs must be 1000..2147483647, got 10/,
  );
  assert.throws( // a month would overflow the timer and run back to back
    () => definePlugin({ name: "x", version: "1", subscribes: "*", scheduled: { everyMs: 30 * 86_400_000, run } }),
    /scheduled.everyMs must be 1000..2147483647/,
  );
  assert.equal(definePlugin({ name: "x", version: "1", subscribes: "*", scheduled: { everyMs: 1000, run } }).name, "x");
});
