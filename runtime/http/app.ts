/**
 * The HTTP server: ingest on `/v1`, the host's routes, every plugin's routes under `/api/<name>`,
 * and the web dashboard.
 * @module
 */
import { type Context, Hono } from "hono";
import { cors } from "hono/cors";
import { mountDashboard } from "./dashboard.ts";
import { mountDeadLetters } from "./dead_letters.ts";
import type { EventLog } from "../core/event_log.ts";
import type { KafkaSource } from "../sources/kafka/mod.ts";
import { bearerToken, HttpError, matchesSecret, readJsonBody, statusAnswer } from "./errors.ts";
import { batchItems, ingest, MAX_BODY_BYTES, type Sink } from "../core/ingest.ts";
import { ingestSegment, SEGMENT_CALLS, segmentMessages } from "../core/segment.ts";
import { RateLimiter } from "./rate_limit.ts";
import type { Logger } from "../observability/logger.ts";
import type { MetricsRegistry } from "../observability/metrics.ts";
import { httpMetrics } from "../observability/observe.ts";
import { describedRoutes, describeRoute, type Json, openApiDocument, openApiPaths } from "./openapi.ts";
import * as api from "./schemas.ts";
import type { PluginHost } from "../plugin/mod.ts";
import { isConnectionLost, type Store } from "../store/mod.ts";

/** The runtime's parts, as the routes and the runtime's handle both expose them. */
export interface RuntimeParts {
  store: Store;
  eventLog: EventLog;
  /** Where ingested events go: the log, or Kafka when it is the source. */
  sink: Sink;
  /** The Kafka consumer, when Kafka is the source. */
  source: KafkaSource | null;
  plugins: PluginHost;
  metrics: MetricsRegistry;
  logger: Logger;
}

/** Everything the routes read from. */
export interface ServerContext extends RuntimeParts {
  ingestKeys: string[];
  apiTokens: string[];
  /** Requests per second per key on /v1 and /api; 0 for no limit. */
  rateLimit: number;
  /** Origins allowed to call /v1 and /api from a browser. */
  corsOrigins: string[];
  /** Aborted when the runtime shuts down: open streams end, so the HTTP server can stop. */
  closing: AbortSignal;
}

/** The token of `GET /api/stream?access_token=`: a browser's EventSource cannot send an Authorization header. */
function streamToken(request: Request): string | null {
  const url = new URL(request.url);
  return request.method === "GET" && url.pathname === "/api/stream" ? url.searchParams.get("access_token") : null;
}

/** The write key of Segment's SDKs on `/v1`: the username of HTTP basic auth, whose password is empty. */
function writeKey(request: Request): string | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(request.headers.get("authorization") ?? "");
  if (!m || !new URL(request.url).pathname.startsWith("/v1/")) return null;
  try {
    const user = new TextDecoder().decode(Uint8Array.from(atob(m[1]), (ch) => ch.charCodeAt(0))).split(":")[0];
    return user === "" ? null : user;
  } catch {
    return null; // not base64: no credential
  }
}

/** Builds the Hono app serving every route. */
export function createApp(ctx: ServerContext): Hono {
  const app = new Hono();
  app.use("*", httpMetrics(ctx.metrics));

  app.onError(async (err, c) => {
    const answer = statusAnswer(err, c);
    if (answer) return answer;
    if (isConnectionLost(err) || !await storeAnswers(ctx.store)) return databaseDown(c, err);
    ctx.logger.error("request failed", { path: c.req.path, error: err.message, stack: err.stack });
    return c.json({ error: "internal error" }, 500);
  });
  /** While the database is down (or restarting) a request fails through no fault of its own: 503, retry later. */
  const databaseDown = (c: Context, err: Error) => {
    ctx.logger.warn("request failed: the database is unavailable", { path: c.req.path, error: err.message });
    c.header("retry-after", "1");
    return c.json({ error: `the database is unavailable, retry shortly: ${err.message}` }, 503);
  };
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.use("*", async (c, next) => {
    const url = new URL(c.req.url);
    let decoded: string;
    try {
      decoded = decodeURIComponent(url.pathname + url.search);
    } catch {
      throw new HttpError(400, "the URL is not valid percent-encoded UTF-8");
    }
    if (decoded.includes("\0")) throw new HttpError(400, "the URL contains a NUL character");
    await next();
  });

  /**
   * Requires one of `secrets` as a bearer token when any are set: 401 without one or with an unknown one, 403
   * with a secret of the other kind (an ingest key on /api, a read token on /v1).
   */
  const requireSecret = (secrets: string[], others: string[], what: string, kind: string) =>
  async (
    c: { req: { raw: Request } },
    next: () => Promise<void>,
  ) => {
    if (secrets.length > 0) {
      const token = bearerToken(c.req.raw) ?? streamToken(c.req.raw) ?? writeKey(c.req.raw);
      if (token === null) {
        const basic = what === "/v1" ? " (or Segment's 'Basic', the key as user name)" : "";
        throw new HttpError(401, `${what} requires 'Authorization: Bearer <token>'${basic}`);
      }
      if (!await matchesSecret(token, secrets)) {
        if (await matchesSecret(token, others)) throw new HttpError(403, `${what} needs ${kind}, not the other kind`);
        throw new HttpError(401, `${what}: unknown token`);
      }
    }
    await next();
  };
  if (ctx.corsOrigins.length > 0) {
    // Before the token checks: a browser's preflight carries no credentials.
    const allowed = cors({
      origin: ctx.corsOrigins.includes("*") ? "*" : ctx.corsOrigins,
      allowMethods: ["GET", "POST", "PUT", "DELETE"],
      allowHeaders: ["authorization", "content-type"],
      maxAge: 600,
    });
    app.use("/v1/*", allowed);
    app.use("/api/*", allowed);
  }
  app.use("/v1/*", requireSecret(ctx.ingestKeys, ctx.apiTokens, "/v1", "an ingest key"));
  app.use("/api/*", requireSecret(ctx.apiTokens, ctx.ingestKeys, "/api", "an API token"));
  if (ctx.rateLimit > 0) {
    // After the token checks, so a made-up token cannot buy itself a fresh bucket.
    const limiter = new RateLimiter(ctx.rateLimit);
    const limit = async (c: Context, next: () => Promise<void>) => {
      const address = (c.env as Deno.ServeHandlerInfo<Deno.NetAddr> | undefined)?.remoteAddr?.hostname;
      const key = bearerToken(c.req.raw) ?? streamToken(c.req.raw) ?? writeKey(c.req.raw) ??
        `address:${address ?? "local"}`;
      const wait = limiter.take(key);
      if (wait > 0) {
        c.header("retry-after", String(wait));
        throw new HttpError(429, `rate limit: ${ctx.rateLimit} requests per second per key; retry in ${wait} s`);
      }
      await next();
    };
    app.use("/v1/*", limit);
    app.use("/api/*", limit);
  }

  app.post(
    "/v1/events",
    describeRoute({ summary: "Ingest events", body: api.IngestBody, response: api.IngestAnswer, errors: [400, 413] }),
    async (c) => {
      const items = batchItems(await readJsonBody(c.req.raw, MAX_BODY_BYTES));
      return c.json(await ingest(ctx.sink, items, ctx.metrics));
    },
  );
  // Segment's (and RudderStack's) HTTP tracking API; see segment.ts for the mapping.
  for (const call of ["batch", ...SEGMENT_CALLS] as const) {
    const segment = describeRoute({
      summary: call === "batch" ? "Ingest a batch of Segment messages" : `Ingest one Segment '${call}' call`,
      body: call === "batch" ? api.SegmentBatch : api.SegmentSingle,
      response: api.SegmentAnswer,
      errors: [400, 413],
    });
    app.post(`/v1/${call}`, segment, async (c) => {
      const messages = segmentMessages(await readJsonBody(c.req.raw, MAX_BODY_BYTES), call);
      return c.json(await ingestSegment(ctx.sink, messages, ctx.metrics));
    });
  }

  app.get("/healthz", describeRoute({ summary: "Liveness", response: api.Health }), (c) => c.json({ status: "ok" }));
  const readiness = describeRoute({
    summary: "Readiness: 200 only when the store, the source and every plugin are ready",
    response: api.Ready,
    errors: [503],
  });
  app.get("/readyz", readiness, async (c) => {
    const problems: string[] = [];
    try {
      await ctx.store.query("select 1");
    } catch (e) {
      problems.push(`store: ${(e as Error).message}`);
    }
    if (ctx.source && !ctx.source.ready) problems.push("source: the Kafka consumer has not joined its group");
    if (!ctx.plugins.ready) problems.push("plugins: still loading");
    for (const p of ctx.plugins.list()) if (p.status === "failed") problems.push(`plugin ${p.name} failed: ${p.error}`);
    return problems.length ? c.json({ status: "not ready", problems }, 503) : c.json({ status: "ready" });
  });
  const metricsSpec = describeRoute({ summary: "Prometheus metrics", contentType: "text/plain; version=0.0.4" });
  app.get(
    "/metrics",
    metricsSpec,
    (c) => c.text(ctx.metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" }),
  );

  const pluginList = describeRoute({ summary: "Every plugin with its status and progress", response: api.PluginList });
  app.get("/api/plugins", pluginList, (c) =>
    c.json({
      plugins: ctx.plugins.list(),
      log: { head: ctx.eventLog.head, watermark: ctx.eventLog.watermark },
      source: ctx.source ? { kind: "kafka", partitions: ctx.source.partitions() } : { kind: "http" },
    }));
  mountDeadLetters(app, ctx);
  mountDashboard(app, ctx, ctx.closing);
  const openApi = describeRoute({ summary: "This document: the host's routes and every plugin's, each under its tag" });
  let hostPaths: ReturnType<typeof openApiPaths> | null = null; // the host's routes are fixed once the app is built
  app.get("/api/openapi.json", openApi, (c) => {
    hostPaths ??= openApiPaths(describedRoutes(app), "", "host");
    return c.json(document(ctx, hostPaths));
  });
  app.all("/api/:plugin{[a-z][a-z0-9_]*}/*", (c) => routeToPlugin(c.req.raw, c.req.param("plugin")));
  app.all("/api/:plugin{[a-z][a-z0-9_]*}", (c) => routeToPlugin(c.req.raw, c.req.param("plugin")));

  async function routeToPlugin(request: Request, name: string): Promise<Response> {
    const prefix = `/api/${name}`;
    const path = new URL(request.url).pathname.slice(prefix.length) || "/";
    const response = ctx.plugins.fetch(name, request, path);
    if (!response) throw new HttpError(404, `no plugin named '${name}'`);
    const res = await response;
    // A plugin's SQL failing because the database is down shows as its failure (502); it is the database's.
    if ((res.status === 500 || res.status === 502) && !await storeAnswers(ctx.store)) {
      throw new Error(`plugin ${name} answered ${res.status}: ${await res.text()}`);
    }
    return res;
  }

  return app;
}

/** The OpenAPI document of everything the server answers: the host's routes, then each loaded plugin's. */
function document(ctx: ServerContext, hostPaths: Record<string, Json>) {
  const sections = [{
    tag: "host",
    description: "Ingest, health, plugins, dead letters and the dashboard",
    paths: hostPaths,
  }];
  for (const p of ctx.plugins.list()) {
    const paths = ctx.plugins.api(p.name);
    if (paths === undefined) continue; // not loaded: it answers nothing
    const description = `The ${p.name} plugin${p.version ? `, version ${p.version}` : ""}`;
    sections.push({ tag: p.name, description, paths: paths ?? undescribedPlugin(p.name) });
  }
  const doc = openApiDocument({ title: "User analytics runtime", version: api.API_VERSION }, sections);
  // The tokens the routes require, when the runtime is configured with any.
  doc.components.securitySchemes = {
    apiToken: { type: "http", scheme: "bearer", description: "a read token of API_TOKENS" },
    ingestKey: { type: "http", scheme: "bearer", description: "an ingest key of INGEST_KEYS" },
    writeKey: { type: "http", scheme: "basic", description: "an ingest key as the user name (Segment's SDKs)" },
  };
  const requirement = (path: string) =>
    path.startsWith("/v1/") && ctx.ingestKeys.length > 0
      ? [{ ingestKey: [] }, { writeKey: [] }]
      : path.startsWith("/api/") && ctx.apiTokens.length > 0
      ? [{ apiToken: [] }]
      : null;
  // Copies: the operations are the cached host paths' and the plugins' manifests'.
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    const security = requirement(path);
    if (security) doc.paths[path] = Object.fromEntries(Object.entries(item).map(([m, op]) => [m, { ...op, security }]));
  }
  return doc;
}

/** A plugin whose `fetch` is a bare function: one catch-all route, not described. */
function undescribedPlugin(name: string) {
  return openApiPaths([{ method: "ALL", path: "/:path{.+}", spec: null }], `/api/${name}`, name);
}

/** Whether the store answers a trivial query within `timeoutMs`. */
async function storeAnswers(store: Store, timeoutMs = 2000): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), timeoutMs));
  try {
    return await Promise.race([store.query("select 1").then(() => true, () => false), late]);
  } finally {
    clearTimeout(timer);
  }
}
