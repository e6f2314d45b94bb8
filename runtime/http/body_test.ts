import assert from "node:assert/strict";
import { z } from "zod";
import { HttpError } from "./errors.ts";
import { parseBody, readJsonBody, readTextBody } from "./body.ts";

const MIB = 1024 * 1024;

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

/** `text` encoded with `coding` (gzip or deflate). */
async function encoded(text: string | Uint8Array, coding: "gzip" | "deflate"): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream(coding));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("readTextBody() decodes gzip and deflate bodies, and refuses other codings and broken ones", async () => {
  const post = (body: Uint8Array | string, coding: string) =>
    new Request("http://x/", { method: "POST", body: body as BodyInit, headers: { "content-encoding": coding } });
  const text = '{"batch":[{"type":"track","event":"Order Completed"}]}';
  assert.equal(await readTextBody(post(await encoded(text, "gzip"), "gzip"), 1024), text);
  assert.equal(await readTextBody(post(await encoded(text, "gzip"), "x-gzip"), 1024), text);
  assert.equal(await readTextBody(post(await encoded(text, "deflate"), "deflate"), 1024), text);
  assert.equal(await readTextBody(post(text, "identity"), 1024), text);
  await assert.rejects(
    readTextBody(post(text, "br"), 1024),
    new HttpError(415, "Content-Encoding must be gzip, deflate or identity, got 'br'"),
  );
  await assert.rejects(
    readTextBody(post(text, "gzip"), 1024), // says gzip, is not
    (e: HttpError) => e.status === 400 && /^body is not valid gzip/.test(e.message),
  );
});

Deno.test("readTextBody() stops decoding a zip bomb at the cap: 413, having read a small part of it", async () => {
  const bomb = await encoded(new Uint8Array(64 * MIB), "gzip"); // 64 MiB of zeros, about 64 KiB encoded
  assert.ok(bomb.byteLength < 100 * 1024, `${bomb.byteLength} bytes encoded`);
  // Handed over 1 KiB at a time, counting what the reader asks for.
  const pulled = { bytes: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled.bytes >= bomb.byteLength) return controller.close();
      controller.enqueue(bomb.slice(pulled.bytes, pulled.bytes + 1024));
      pulled.bytes += 1024;
    },
    cancel() {
      pulled.cancelled = true;
    },
  });
  await assert.rejects(
    readTextBody(new Request("http://x/", { method: "POST", body, headers: { "content-encoding": "gzip" } }), MIB),
    new HttpError(413, "body is over the 1048576 byte limit once decoded"),
  );
  assert.ok(pulled.bytes < bomb.byteLength / 8, `${pulled.bytes} of ${bomb.byteLength} encoded bytes read`);
  assert.equal(pulled.cancelled, true);
});
