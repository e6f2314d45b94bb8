import assert from "node:assert/strict";
import { z } from "zod";
import { HttpError } from "./errors.ts";
import { parseBody, readJsonBody, readTextBody } from "./body.ts";

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
