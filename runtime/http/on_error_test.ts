import assert from "node:assert/strict";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { createLogger } from "../observability/logger.ts";
import type { Store } from "../store/mod.ts";
import { HttpError } from "./errors.ts";
import { hostErrorHandler } from "./on_error.ts";

/** A store whose `select 1` answers while `up` is true, and a logger that keeps its lines. */
function fixture() {
  const state = { up: true, lines: [] as { level: string; msg: string }[] };
  const store = {
    query: () => state.up ? Promise.resolve([{ "?column?": 1 }]) : Promise.reject(new Error("connection refused")),
  } as unknown as Store;
  const logger = createLogger("debug", {}, (line) => state.lines.push(JSON.parse(line)));
  const app = new Hono().onError(hostErrorHandler(store, logger));
  app.get("/ours", () => {
    throw new HttpError(409, "taken");
  });
  app.get("/hono", () => {
    throw new HTTPException(401, { message: "no token" });
  });
  app.get("/bug", () => {
    throw new TypeError("a bug");
  });
  app.get("/lost", () => {
    throw Object.assign(new Error("terminating connection"), { code: "57P01" });
  });
  const answer = async (path: string) => {
    const res = await app.request(path);
    return [res.status, res.headers.get("retry-after"), await res.text()];
  };
  return { state, answer };
}

Deno.test("hostErrorHandler() answers errors with a status with it, logging nothing", async () => {
  const { state, answer } = fixture();
  assert.deepEqual(await answer("/ours"), [409, null, '{"error":"taken"}']);
  assert.deepEqual(await answer("/hono"), [401, null, '{"error":"no token"}']);
  assert.deepEqual(state.lines, []);
});

Deno.test("hostErrorHandler() answers a fault of ours 500 and logs it; the same fault with the database down is a 503", async () => {
  const { state, answer } = fixture();
  assert.deepEqual(await answer("/bug"), [500, null, '{"error":"internal error"}']);
  assert.deepEqual(state.lines.map((l) => [l.level, l.msg]), [["error", "request failed"]]);
  state.up = false;
  assert.deepEqual(await answer("/bug"), [503, "1", '{"error":"the database is unavailable, retry shortly: a bug"}']);
  assert.deepEqual(state.lines.at(-1)?.level, "warn");
});

Deno.test("hostErrorHandler() answers a lost connection 503 even while the database answers again", async () => {
  const { answer } = fixture();
  assert.deepEqual(await answer("/lost"), [
    503,
    "1",
    '{"error":"the database is unavailable, retry shortly: terminating connection"}',
  ]);
});
