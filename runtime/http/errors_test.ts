import assert from "node:assert/strict";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { answerHttpError, HttpError } from "./errors.ts";

Deno.test("answerHttpError() answers HttpError and Hono's HTTPException with their status, and throws the rest on", async () => {
  const app = new Hono();
  app.onError(answerHttpError);
  app.get("/ours", () => {
    throw new HttpError(409, "taken");
  });
  app.get("/hono", () => {
    throw new HTTPException(401, { message: "no token" });
  });
  app.get("/hono-response", () => {
    throw new HTTPException(401, { res: new Response("go away", { status: 401, headers: { "x-why": "test" } }) });
  });
  app.get("/bug", () => {
    throw new TypeError("a bug");
  });
  const answer = async (path: string) => {
    const res = await app.request(path);
    return [res.status, await res.text()];
  };
  assert.deepEqual(await answer("/ours"), [409, '{"error":"taken"}']);
  assert.deepEqual(await answer("/hono"), [401, '{"error":"no token"}']);
  assert.deepEqual(await answer("/hono-response"), [401, "go away"]);
  await assert.rejects(async () => await app.request("/bug"), new TypeError("a bug"));
});
