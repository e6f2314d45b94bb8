import assert from "node:assert/strict";
import { Hono } from "hono";
import { answerHttpError } from "../errors.ts";
import { urlGuard } from "./url_guard.ts";

Deno.test("urlGuard() answers 400 for a URL that is not UTF-8 or holds a NUL, and lets the rest through", async () => {
  const app = new Hono().use(urlGuard()).get("/*", (c) => c.text("through")).onError(answerHttpError);
  const answer = async (path: string) => {
    const res = await app.request(path);
    return [res.status, await res.text()];
  };
  assert.deepEqual(await answer("/a%ff"), [400, '{"error":"the URL is not valid percent-encoded UTF-8"}']);
  assert.deepEqual(await answer("/a?q=%E2%82"), [400, '{"error":"the URL is not valid percent-encoded UTF-8"}']);
  assert.deepEqual(await answer("/a%00b"), [400, '{"error":"the URL contains a NUL character"}']);
  assert.deepEqual(await answer("/a?q=x%00"), [400, '{"error":"the URL contains a NUL character"}']);
  assert.deepEqual(await answer("/caf%C3%A9?q=%E2%82%AC"), [200, "through"]);
});
