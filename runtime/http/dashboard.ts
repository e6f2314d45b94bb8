/**
 * The web dashboard's side of the host: its static files from `web/`, and `/api/stream`, server-sent events
 * that tell the page when the data changed (an append to the log, or a plugin committing), so it refreshes
 * within a second instead of polling, and that carry each notice plugins commit from the moment it connected.
 */
import type { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { streamSSE } from "hono/streaming";
import { HttpError } from "./errors.ts";
import { describeRoute } from "./openapi.ts";
import type { RuntimeParts } from "./context.ts";

const WEB_DIR = new URL("../../web/", import.meta.url);

/** The dashboard's files and their content types; nothing else under `web/` is served. */
const FILES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "charts.js": "text/javascript; charset=utf-8",
  "dom.js": "text/javascript; charset=utf-8",
  "api.js": "text/javascript; charset=utf-8",
  "widgets.js": "text/javascript; charset=utf-8",
  "range.js": "text/javascript; charset=utf-8",
  "breakdown.js": "text/javascript; charset=utf-8",
  "views/live.js": "text/javascript; charset=utf-8",
  "views/funnel.js": "text/javascript; charset=utf-8",
  "views/retention.js": "text/javascript; charset=utf-8",
  "views/paths.js": "text/javascript; charset=utf-8",
  "views/people.js": "text/javascript; charset=utf-8",
  "views/users.js": "text/javascript; charset=utf-8",
  "views/audience.js": "text/javascript; charset=utf-8",
  "views/at_risk.js": "text/javascript; charset=utf-8",
  "views/fraud.js": "text/javascript; charset=utf-8",
  "views/alerts.js": "text/javascript; charset=utf-8",
  "views/products.js": "text/javascript; charset=utf-8",
  "views/pipeline.js": "text/javascript; charset=utf-8",
  "views/plugin_panels.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
  "docs.html": "text/html; charset=utf-8",
  "docs.js": "text/javascript; charset=utf-8",
};

/** The page loads only its own files and talks only to its own origin; it cannot be framed. */
const securityHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: "DENY",
  referrerPolicy: "no-referrer",
  strictTransportSecurity: false, // HTTPS and its policy (subdomains included or not) are the proxy's to decide
});

/** How often the stream looks for a change (ms), and how often it sends a heartbeat when nothing changes. */
const CHECK_MS = 250;
const HEARTBEAT_MS = 15_000;

/** What the stream sends: where the log and each plugin stand. */
function snapshot(parts: Pick<RuntimeParts, "eventLog" | "plugins">) {
  return {
    head: parts.eventLog.head,
    watermark: parts.eventLog.watermark,
    plugins: parts.plugins.list().map((p) => ({ name: p.name, status: p.status, lag: p.lag, processed: p.processed })),
  };
}

/** Adds `/api/stream`, `/` and `/assets/<file>` to `app`; streams end when `closing` aborts. */
export function mountDashboard(
  app: Hono,
  parts: Pick<RuntimeParts, "eventLog" | "plugins" | "notices" | "logger">,
  closing: AbortSignal,
): void {
  const stream = describeRoute({
    summary: "Server-sent events: 'update' with where the log and each plugin stand, whenever that changes; " +
      "'notice' with each notice a plugin commits",
    contentType: "text/event-stream",
  });
  app.get("/api/stream", stream, (c) =>
    streamSSE(c, async (stream) => {
      // Notices committed from now on; without the database, the stream goes on with updates alone.
      const notices = await parts.notices.subscribe().catch((e) => {
        parts.logger.warn("stream without notices: cannot read them", { error: (e as Error).message });
        return null;
      });
      try {
        let last = "";
        let quietSince = Date.now();
        let id = 0;
        while (!stream.aborted && !closing.aborted && !notices?.overflowed) {
          for (const notice of notices?.take() ?? []) {
            await stream.writeSSE({ event: "notice", data: JSON.stringify(notice) });
            quietSince = Date.now();
          }
          const now = JSON.stringify(snapshot(parts));
          if (now !== last) {
            await stream.writeSSE({ event: "update", data: now, id: String(++id) });
            last = now;
            quietSince = Date.now();
          } else if (Date.now() - quietSince > HEARTBEAT_MS) {
            await stream.writeSSE({ event: "heartbeat", data: "{}" });
            quietSince = Date.now();
          }
          await (notices ? notices.wait(CHECK_MS) : stream.sleep(CHECK_MS));
        }
      } finally {
        notices?.close();
      }
    }));

  const serve = async (name: string) => {
    if (!Object.hasOwn(FILES, name)) throw new HttpError(404, `no dashboard file '${name}'`);
    const type = FILES[name];
    return new Response(await Deno.readFile(new URL(name, WEB_DIR)), {
      headers: { "content-type": type, "cache-control": "no-cache" },
    });
  };
  for (const path of ["/", "/docs", "/assets/*"]) app.use(path, securityHeaders);
  app.get("/", describeRoute({ summary: "The dashboard", contentType: "text/html" }), () => serve("index.html"));
  const docs = describeRoute({
    summary: "The API documentation, rendered from /api/openapi.json",
    contentType: "text/html",
  });
  app.get("/docs", docs, () => serve("docs.html"));
  const asset = describeRoute({
    summary: "A file of the dashboard or the docs page",
    errors: [404],
    contentType: "*/*",
  });
  // `{.+}` also matches a file in a folder (`views/live.js`); FILES alone decides what is served.
  app.get("/assets/:file{.+}", asset, (c) => serve(c.req.param("file")));
}
