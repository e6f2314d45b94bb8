/**
 * Every plugin's routes under `/api/<name>`, each answered by the plugin's sandbox, and `/api/openapi.json`: the
 * host's routes and each loaded plugin's (computed in its sandbox, sent with its manifest), each under its tag.
 * @module
 */
import type { Hono } from "hono";
import type { ServerContext } from "./context.ts";
import { HttpError } from "./errors.ts";
import { storeAnswers } from "./on_error.ts";
import { describedRoutes, describeRoute, type Json, openApiDocument, openApiPaths } from "./openapi.ts";
import * as api from "./schemas.ts";

/**
 * Adds `/api/openapi.json` and the plugins' routes to `app`. Call it last: the document lists the host's routes
 * registered before it, and the plugins' catch-all routes would shadow any host route under `/api` after it.
 */
export function mountPlugins(app: Hono, ctx: ServerContext): void {
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
    doc.paths[path] = Object.fromEntries(
      Object.entries(item).map(([m, op]) => [m, exportable(path, m, { ...op, ...(security ? { security } : {}) })]),
    );
  }
  return doc;
}

/** The operation with `format` and `table` (`middleware/csv_export.ts`), when it is a `GET /api/...` answering JSON. */
function exportable(path: string, method: string, op: Json): Json {
  const ok = op.responses?.["200"];
  if (method !== "get" || !path.startsWith("/api/") || !ok?.content?.["application/json"]) return op;
  const parameters = [
    ...(op.parameters ?? []),
    {
      name: "format",
      in: "query",
      required: false,
      description: "csv: the answer's table as CSV, streamed, every page of a paged list; json (the default): as is",
      schema: { type: "string", enum: ["json", "csv"] },
    },
    {
      name: "table",
      in: "query",
      required: false,
      description: "with format=csv: which of the answer's lists of objects (default the first)",
      schema: { type: "string" },
    },
  ];
  const csv = { schema: { type: "string" }, example: "a,b\r\n1,2\r\n" };
  const responses = { ...op.responses, "200": { ...ok, content: { ...ok.content, "text/csv": csv } } };
  return { ...op, parameters, responses };
}

/** A plugin whose `fetch` is a bare function: one catch-all route, not described. */
function undescribedPlugin(name: string) {
  return openApiPaths([{ method: "ALL", path: "/:path{.+}", spec: null }], `/api/${name}`, name);
}
