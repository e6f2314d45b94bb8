import assert from "node:assert/strict";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import {
  answerHttpError,
  bearerToken,
  HttpError,
  matchesSecret,
  parseBody,
  readJsonBody,
  readTextBody,
} from "./errors.ts";

Deno.test("matchesSecret() finds a token among several and refuses prefixes, extensions, case changes and empties", async () => {
  const secrets = ["alpha-key-1", "beta-key-2"];
  assert.equal(await matchesSecret("beta-key-2", secrets), true);
  assert.equal(await matchesSecret("alpha-key-1", secrets), true);
  for (const wrong of ["alpha-key-", "alpha-key-11", "ALPHA-KEY-1", "", "beta-key-2 "]) {
    assert.equal(await matchesSecret(wrong, secrets), false, wrong);
  }
  assert.equal(await matchesSecret("alpha-key-1", []), false);
});

Deno.test("bearerToken() reads 'Authorization: Bearer <token>' only", () => {
  const with_ = (auth: string) => new Request("http://x/", { headers: { authorization: auth } });
  assert.equal(bearerToken(with_("Bearer abc")), "abc");
  assert.equal(bearerToken(with_("bearer  abc ")), "abc");
  assert.equal(bearerToken(with_("Basic abc")), null);
  assert.equal(bearerToken(new Request("http://x/")), null);
});

/** A request whose body never ends, counting the chunks it was asked for. */
function endless(headers: Record<string, string> = {}) {
  const pulled = { chunks: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled.chunks++;
      controller.enqueue(new Uint8Array(64 * 1024).fill(32));
    },
    cancel() {
      pulled.cancelled = true;
    },
  });
  return { request: new Request("http://x/", { method: "POST", body, headers }), pulled };
}

Deno.test("readTextBody() stops reading past its cap: an endless body costs at most the cap", async () => {
  const { request, pulled } = endless();
  await assert.rejects(readTextBody(request, 1024 * 1024), new HttpError(413, "body is over the 1048576 byte limit"));
  assert.ok(pulled.chunks <= 18, `${pulled.chunks} chunks of 64 KiB read`);
  assert.equal(pulled.cancelled, true);
  // A declared length over the cap is refused before reading anything.
  const declared = endless({ "content-length": String(5 * 1024 * 1024) });
  await assert.rejects(readTextBody(declared.request, 1024 * 1024), (e: HttpError) => e.status === 413);
  assert.ok(declared.pulled.chunks <= 1, `${declared.pulled.chunks} chunks read`);
});

Deno.test("readJsonBody() and parseBody() refuse oversized bodies before parsing, and say what is wrong", async () => {
  const post = (body: string) => new Request("http://x/", { method: "POST", body });
  await assert.rejects(readJsonBody(post("[1,2"), 100), (e: HttpError) => e.status === 400);
  await assert.rejects(readJsonBody(post(`"${"x".repeat(200)}"`), 100), (e: HttpError) => e.status === 413);
  const schema = z.object({ n: z.number() });
  assert.deepEqual(await parseBody(post('{"n":1}'), schema), { n: 1 });
  await assert.rejects(
    parseBody(post('{"n":"1"}'), schema),
    (e: HttpError) => e.status === 400 && /^n: /.test(e.message),
  );
  await assert.rejects(parseBody(endless().request, schema), (e: HttpError) => e.status === 413);
  // What JSON escapes can spell but PostgreSQL text cannot hold, anywhere in the body, keys too.
  const text = z.object({ s: z.unknown() });
  for (const bad of ['{"s":"\\ud800"}', '{"s":["a\\u0000"]}', '{"s":{"\\udc00":1}}']) {
    await assert.rejects(
      parseBody(post(bad), text),
      new HttpError(400, "body: strings must be well-formed Unicode without NUL characters"),
      bad,
    );
  }
});

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
