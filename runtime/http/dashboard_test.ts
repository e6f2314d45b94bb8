import assert from "node:assert/strict";
import { BACKENDS, getJson, pageView, pluginsFolder, postJson, withRuntime } from "../../tests/support/harness.ts";

/** Reads server-sent events from a response body, one parsed `update` at a time. */
async function* updates(body: ReadableStream<Uint8Array>) {
  let buffer = "";
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const message = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (/^event: update$/m.test(message)) yield JSON.parse(/^data: (.*)$/m.exec(message)![1]);
    }
  }
}

Deno.test({
  name: "/api/stream pushes where the log and each plugin stand, and again when they move",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withRuntime(BACKENDS[0], { pluginsDir: await pluginsFolder([{ name: "counter" }]) }, async (rt) => {
      const res = await rt.app.request("/api/stream");
      assert.equal(res.headers.get("content-type"), "text/event-stream");
      const stream = updates(res.body!);
      const first = (await stream.next()).value;
      assert.deepEqual(first, {
        head: 0,
        watermark: null,
        plugins: [{ name: "counter", status: "running", lag: 0, processed: 0 }],
      });
      await postJson(rt, "/v1/events", [pageView("e1")]);
      let update = (await stream.next()).value;
      while (update.plugins[0].processed < 1) update = (await stream.next()).value; // appended, then committed
      assert.deepEqual(update, {
        head: 1,
        watermark: "2026-03-01T10:00:00.000Z",
        plugins: [{ name: "counter", status: "running", lag: 0, processed: 1 }],
      });
      // Shutting down ends the stream (else an open dashboard tab would hold the HTTP server open).
      rt.closeStreams();
      assert.equal((await stream.next()).done, true);
    });
  },
});

Deno.test({
  name: "the dashboard's files are served from web/, and nothing else is",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withRuntime(BACKENDS[0], { pluginsDir: await pluginsFolder([]) }, async (rt) => {
      const page = await rt.app.request("/");
      assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
      assert.match(page.headers.get("content-security-policy")!, /default-src 'self'.*frame-ancestors 'none'/);
      assert.equal(page.headers.get("x-content-type-options"), "nosniff");
      assert.equal(page.headers.get("x-frame-options"), "DENY");
      assert.equal(page.headers.get("strict-transport-security"), null); // the proxy's to set, over HTTPS
      assert.match(await page.text(), /<script type="module" src="\/assets\/app.js">/);
      // Every file of web/ is served (the page's modules import one another by these paths), by its type.
      const types: Record<string, string> = { js: "text/javascript", css: "text/css", html: "text/html" };
      const web = new URL("../../web/", import.meta.url);
      const files = [...Deno.readDirSync(web)].flatMap((e) =>
        e.isDirectory ? [...Deno.readDirSync(new URL(`${e.name}/`, web))].map((f) => `${e.name}/${f.name}`) : [e.name]
      );
      assert.ok(files.includes("app.js") && files.includes("views/live.js"), `web/ holds ${files}`);
      for (const f of files) {
        const res = await rt.app.request(`/assets/${f}`);
        await res.body?.cancel();
        assert.equal(res.status, 200, f);
        assert.ok(res.headers.get("content-type")?.startsWith(types[f.split(".").at(-1)!]), f);
      }
      for (
        const f of [
          "dashboard_test.ts",
          "..%2Fdeno.json",
          "views/..%2F..%2Fdeno.json",
          "views/../app.js.map",
          "views/",
          "a/b/c",
          "index.html.bak",
          "constructor",
          "toString",
        ]
      ) {
        assert.equal((await getJson(rt, `/assets/${f}`)).status, 404, f);
      }
    });
  },
});
