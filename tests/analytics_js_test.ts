/**
 * analytics.js (`@segment/analytics-next`, unchanged) in Chromium, on a shop's page of another origin, with the
 * runtime as its only host: the page adds one script tag; the settings, the bundle and every event come from and go
 * to the runtime, through CORS preflights and the write key, and nothing is asked of any other host.
 * @module
 */
import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { launchChromium, noBrowser } from "./support/browser.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { BACKENDS, pluginsFolder, REPO, waitFor, waitForCatchUp, withRuntime } from "./support/harness.ts";

/** The shop's pages: the runtime's one script tag, then the calls a shop makes, signed out (`/`) and at login. */
const shopPage = (runtime: string, path: string) =>
  `<!doctype html>
<html><head><title>Shop</title>
<script src="${runtime}/analytics.js/v1/wk-web/analytics.min.js"></script>
<script>${
    path === "/"
      ? `
  analytics.page();
  analytics.track("Product Viewed", { product_id: "p1", price: 42.5 });`
      : `
  analytics.identify("u-web", { plan: "pro" });
  analytics.track("Product Added", { product_id: "p1", price: 42.5, quantity: 1 });
  analytics.track("Order Completed", { order_id: "o1", total: 42.5, currency: "eur",
    products: [{ product_id: "p1", price: 42.5, quantity: 1 }] });`
  }
</script></head><body>shop</body></html>`;

/** The log as `type user`, by event time then position. */
async function logged(rt: Runtime): Promise<string[]> {
  const rows = await rt.store.query<{ type: string; user_id: string }>(
    "select type, user_id from host.events order by ts, position",
  );
  return rows.map((r) => `${r.type} ${r.user_id}`);
}

Deno.test({
  name:
    "analytics.js in Chromium on another origin delivers page, identify and track to the runtime, and only there; " +
    "the visitor's signed-out history becomes theirs at login",
  ignore: noBrowser,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pluginsDir = await pluginsFolder([{ name: "counter" }, { name: "stats", from: new URL("plugins/", REPO) }]);
    const shop = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/favicon.ico") return new Response(null, { status: 204 });
      return path === "/" || path === "/login"
        ? new Response(shopPage(`http://127.0.0.1:${runtimePort}`, path), { headers: { "content-type": "text/html" } })
        : new Response("not found", { status: 404 });
    });
    const shopOrigin = `http://127.0.0.1:${shop.addr.port}`;
    let runtimePort = 0;
    const opts = { pluginsDir, ingestKeys: ["wk-web"], corsOrigins: [shopOrigin] };
    await withRuntime(BACKENDS[0], opts, async (rt) => {
      const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, rt.app.fetch);
      runtimePort = server.addr.port;
      let browser: Browser | null = null;
      try {
        browser = await launchChromium({ only127: true });
        const page = await browser.newPage();
        const elsewhere: string[] = [];
        page.on("request", (r) => {
          const url = new URL(r.url());
          if (url.hostname !== "127.0.0.1") elsewhere.push(r.url());
        });
        page.on("console", (m) => m.type() === "error" && elsewhere.push(`console: ${m.text()}`));
        page.on("response", (r) => r.status() >= 400 && elsewhere.push(`${r.status()} ${r.url()}`));
        await page.goto(`${shopOrigin}/`);
        await waitFor("the signed-out calls in the log", async () => (await logged(rt)).length === 2, 30_000);
        const [anonymous] = await rt.store.query<{ id: string }>("select user_id as id from host.events limit 1");
        assert.match(anonymous.id, /^[0-9a-f-]{36}$/); // analytics.js' anonymousId, a UUID kept in the browser
        assert.deepEqual(await logged(rt), [`page_view ${anonymous.id}`, `product_view ${anonymous.id}`]);
        await page.goto(`${shopOrigin}/login`);
        await waitFor("the login page's calls in the log", async () => (await logged(rt)).length === 6, 30_000);
        // After identify, every call carries the anonymousId too: the first to arrive links it, with a merge.
        const log = await logged(rt);
        assert.deepEqual(log.slice(0, 2), [`page_view ${anonymous.id}`, `product_view ${anonymous.id}`]);
        assert.deepEqual(log.slice(2).sort(), [
          "$merge u-web",
          "add_to_cart u-web",
          "identify u-web",
          "purchase u-web",
        ]);
        const merges = await rt.store.query(
          "select body->'properties'->>'from' as from from host.events where type = '$merge'",
        );
        assert.deepEqual(merges, [{ from: anonymous.id }]);
        await waitForCatchUp(rt);
        const user = await rt.app.request("/api/stats/users/u-web");
        assert.deepEqual(
          (({ user_id, events, purchases, sessions }) => ({ user_id, events, purchases, sessions }))(await user.json()),
          { user_id: "u-web", events: 5, purchases: 1, sessions: 1 },
        );
        assert.equal((await rt.app.request(`/api/stats/users/${anonymous.id}`)).status, 404);
        const [purchase] = await rt.store.query<{ p: Record<string, unknown> }>(
          "select body->'properties' as p from host.events where type = 'purchase'",
        );
        assert.deepEqual([purchase.p.amount, purchase.p.currency], [42.5, "EUR"]);
        assert.deepEqual(elsewhere, [], "nothing asked of another host, no failed request, no error in the console");
      } finally {
        await browser?.close();
        await server.shutdown();
      }
    });
    await shop.shutdown();
  },
});
