import assert from "node:assert/strict";
import { Hono } from "hono";
import { mountAnalyticsJs } from "./analytics_js.ts";
import { answerHttpError } from "./errors.ts";

const app = new Hono().onError(answerHttpError);
mountAnalyticsJs(app);

Deno.test("the analytics.js script names its key and this host, then runs Segment's standalone bundle", async () => {
  const res = await app.request("http://shop.test:8000/analytics.js/v1/wk-1/analytics.min.js");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/javascript; charset=utf-8");
  const script = await res.text();
  assert.ok(script.startsWith("(function () {\n  var analytics = (window.analytics = window.analytics || []);"));
  assert.match(script, /analytics\._writeKey = "wk-1";\n {2}analytics\._cdn = "http:\/\/shop\.test:8000";/);
  assert.match(script, /analytics\.methods = \[.*"track".*\]/);
  assert.ok(script.length > 100_000, `${script.length} characters: the bundle follows the prelude`);
  const proxied = await app.request("http://shop.test/analytics.js/v1/wk-1/analytics.min.js", {
    headers: { "x-forwarded-proto": "https" },
  });
  assert.match(await proxied.text(), /analytics\._cdn = "https:\/\/shop\.test";/);
  const odd = await app.request("/analytics.js/v1/wk%22%3Balert(1)%3B%22/analytics.min.js");
  assert.equal(odd.status, 400); // a key that could break out of the script's string is refused
});

Deno.test("analytics.js' chunks are served where the bundle loads them, versioned and immutable; nothing else", async () => {
  const chunk = await app.request("/analytics-next/bundles/queryString.bundle.34b193ada8fe288d1bd1.js");
  assert.equal(chunk.status, 200);
  assert.equal(chunk.headers.get("cache-control"), "public, max-age=31536000, immutable");
  assert.match(await chunk.text(), /queryString/);
  for (const file of ["nope.js", "index.js.map", "..%2F..%2Fdeno.json", "constructor"]) {
    const res = await app.request(`/analytics-next/bundles/${file}`);
    await res.body?.cancel();
    assert.equal(res.status, 404, file);
  }
});
