/**
 * The HTTP server's app: each concern a middleware or a group of routes of its own, composed here in the order
 * that matters (metrics first; the URL guard; CORS before the token checks, since a browser's preflight carries no
 * credentials; rate limits after them, so a made-up token cannot buy itself a fresh bucket; CSV exports after those,
 * each of whose pages passes both again; the plugins' catch-all routes last).
 * @module
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { RateLimiter } from "../core/rate_limiter.ts";
import { httpMetrics } from "../observability/observe.ts";
import type { ServerContext } from "./context.ts";
import { mountAnalyticsJs } from "./analytics_js.ts";
import { mountDashboard } from "./dashboard.ts";
import { mountDeadLetters } from "./dead_letters.ts";
import { mountHealth } from "./health.ts";
import { mountIngest, segmentKeyInRequest } from "./ingest.ts";
import { requireSecret } from "./middleware/auth.ts";
import { csvExport } from "./middleware/csv_export.ts";
import { rateLimit } from "./middleware/rate_limit.ts";
import { urlGuard } from "./middleware/url_guard.ts";
import { hostErrorHandler } from "./on_error.ts";
import { mountPlugins } from "./plugins.ts";
import { mountWebhooks } from "./webhooks.ts";

export type { RuntimeParts, ServerContext } from "./context.ts";

/** Builds the Hono app serving every route. */
export function createApp(ctx: ServerContext): Hono {
  const app = new Hono();
  app.use("*", httpMetrics(ctx.metrics));
  app.onError(hostErrorHandler(ctx.store, ctx.logger));
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.use("*", urlGuard());
  const limiter = new RateLimiter(ctx.rateLimit); // one bucket per key across /v1 and /api
  const counted = new WeakSet<Request>(); // the first page of an export: counted as the export itself
  for (const prefix of ["/v1/*", "/api/*"]) {
    if (ctx.corsOrigins.length > 0) {
      app.use(
        prefix,
        cors({
          origin: ctx.corsOrigins.includes("*") ? "*" : ctx.corsOrigins,
          allowMethods: ["GET", "POST", "PUT", "DELETE"],
          allowHeaders: ["authorization", "content-type", "content-encoding", "x-retry-count"],
          maxAge: 600,
        }),
      );
    }
    app.use(
      prefix,
      prefix === "/v1/*"
        ? requireSecret({
          secrets: ctx.ingestKeys,
          others: ctx.apiTokens,
          what: "/v1",
          kind: "an ingest key",
          keyInRequest: segmentKeyInRequest,
        })
        : requireSecret({
          // Admin tokens read too; without API tokens reading is open, whatever the admin tokens.
          secrets: ctx.apiTokens.length > 0 ? [...ctx.apiTokens, ...ctx.adminTokens] : [],
          others: ctx.ingestKeys,
          what: "/api",
          kind: "an API token",
        }),
    );
    if (ctx.rateLimit > 0) app.use(prefix, rateLimit(ctx.rateLimit, limiter, counted));
  }
  app.use("/api/*", csvExport({ dispatch: (r, env) => app.fetch(r, env), counted, logger: ctx.logger }));
  mountIngest(app, ctx);
  mountAnalyticsJs(app);
  mountHealth(app, ctx);
  mountDeadLetters(app, ctx);
  mountWebhooks(app, ctx);
  mountDashboard(app, ctx, ctx.closing);
  mountPlugins(app, ctx);
  return app;
}
