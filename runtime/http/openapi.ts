/**
 * OpenAPI from zod. A route describes itself beside its handler, in the Hono app that serves it:
 *
 * ```ts
 * app.get("/top", describeRoute({ summary: "Top terms", query: z.object({ limit: z.number().int().optional() }),
 *   response: z.object({ terms: z.array(Term) }) }), async (c) => ...);
 * ```
 *
 * {@linkcode describedRoutes} walks an app's routes and {@linkcode openApiPaths} writes each one's operation, so
 * the document lists every route the app answers, described or not. The server joins the host's paths and each
 * plugin's (computed in its sandbox, sent with its manifest) in {@linkcode openApiDocument}.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { findTargetHandler } from "hono/utils/handler";
import { z, type ZodObject, type ZodType } from "zod";
import { inYearRange, MAX_YEAR, MIN_YEAR } from "../core/event.ts";
import { HttpError } from "./errors.ts";

/** What a route says of itself. Schemas are zod; the document holds their JSON Schema. */
export interface RouteSpec<Q extends ZodObject = ZodObject> {
  /** One line: what the route does. */
  summary: string;
  /** More, when one line is not enough. */
  description?: string;
  /** The path parameters (`:name` in the path); each is a string unless given here. */
  params?: ZodObject;
  /**
   * The query parameters, as they arrive: strings (use `z.coerce`, or {@linkcode queryTime} for a time). The route
   * validates each request's query with it: a query it refuses is a 400 naming each problem, and the handler reads
   * the parsed value with `c.req.valid("query")`. An empty value (`?limit=`) counts as absent. A parameter whose
   * schema is an array takes every value it is given (`?where=a&where=b`); any other takes its first.
   */
  query?: Q;
  /** The JSON request body. */
  body?: ZodType;
  /** The success answer's body: JSON unless `contentType` says otherwise. */
  response?: ZodType;
  /** The success status (200 by default). */
  status?: 200 | 201 | 202 | 204;
  /** The success answer's content type, when it is not JSON (text, HTML, server-sent events). */
  contentType?: string;
  /** Error statuses the route itself answers, beyond those every route may (401, 403, 413, 429, 503). */
  errors?: number[];
}

const specs = new WeakMap<object, RouteSpec>();

/** What a described route's handler reads with `c.req.valid("query")`: its query, parsed. */
export type ValidQuery<Q extends ZodObject> = {
  in: { query: Record<string, string | string[]> };
  out: { query: z.output<Q> };
};

/**
 * The middleware of a route that describes itself: it carries `spec` for {@linkcode describedRoutes} (and so the
 * OpenAPI document), and validates the request's query with `spec.query`, so what the document says and what the
 * route takes are one schema.
 */
export function describeRoute<Q extends ZodObject = ZodObject<Record<never, never>>>(
  spec: RouteSpec<Q>,
  // deno-lint-ignore no-explicit-any
): MiddlewareHandler<any, string, ValidQuery<Q>> {
  const query = spec.query;
  const repeated = query ? arrayParameters(query) : new Set<string>();
  const middleware: MiddlewareHandler = async (c, next) => {
    if (query) c.req.addValidatedData("query", parseQuery(query, c.req.queries() ?? {}, repeated));
    await next();
  };
  specs.set(middleware, spec as RouteSpec);
  return middleware;
}

/** The names of the query parameters whose schema takes a list. */
function arrayParameters(query: ZodObject): Set<string> {
  const properties: Record<string, Json> = jsonSchema(query, "input").properties ?? {};
  return new Set(Object.entries(properties).filter(([, s]) => s.type === "array").map(([name]) => name));
}

/**
 * A request's query parsed by `schema`, empty values taken as absent: every value of a parameter in `repeated`, the
 * first of any other. 400 naming each problem otherwise.
 */
function parseQuery<Q extends ZodObject>(
  schema: Q,
  raw: Record<string, string[]>,
  repeated: Set<string>,
): z.output<Q> {
  const given: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(raw)) {
    const kept = values.filter((v) => v !== "");
    if (kept.length > 0) given[name] = repeated.has(name) ? kept : kept[0];
  }
  const parsed = schema.safeParse(given);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => {
    const name = String(i.path[0] ?? "query");
    const got = given[name];
    const shown = Array.isArray(got) ? got[Number(i.path[1] ?? 0)] ?? got.join("&") : got;
    return Object.hasOwn(given, name) ? `${name}: ${i.message}, got '${shown}'` : `${name}: ${i.message}`;
  });
  throw new HttpError(400, problems.join("; "));
}

/**
 * A time as a query parameter: any ISO-8601 time within the years {@linkcode MIN_YEAR}..{@linkcode MAX_YEAR}
 * (`2026-05-01T10:00:00Z`, `2026-05-01`), parsed to UTC ISO-8601 with milliseconds; optional.
 */
export function queryTime(description: string): z.ZodOptional<z.ZodPipe<z.ZodString, z.ZodTransform<string, string>>> {
  return z.string()
    .refine(
      (raw) => inYearRange(Date.parse(raw)),
      `must be an ISO-8601 time within the years ${MIN_YEAR} to ${MAX_YEAR}`,
    )
    .transform((raw) => new Date(Date.parse(raw)).toISOString())
    .optional()
    .describe(description);
}

/** A route as an app answers it: method, Hono path and its spec (null when it does not describe itself). */
export interface DescribedRoute {
  method: string;
  path: string;
  spec: RouteSpec | null;
}

/** What {@linkcode describedRoutes} reads of a Hono app. */
export interface RoutedApp {
  /** The app's routes and middleware, as Hono lists them. */
  routes: readonly { method: string; path: string; handler: unknown }[];
}

/**
 * The routes `app` answers, in registration order, one per method and path. Middleware (`app.use`, method ALL)
 * is not a route; a route registered with `app.all` is listed only when it describes itself.
 */
export function describedRoutes(app: RoutedApp): DescribedRoute[] {
  const byKey = new Map<string, DescribedRoute>();
  for (const r of app.routes) {
    const key = `${r.method} ${r.path}`;
    const spec = specs.get(findTargetHandler(r.handler as Parameters<typeof findTargetHandler>[0])) ?? null;
    const known = byKey.get(key);
    if (known) known.spec ??= spec;
    else byKey.set(key, { method: r.method, path: r.path, spec });
  }
  return [...byKey.values()].filter((r) => r.method !== "ALL" || r.spec !== null);
}

/** The OpenAPI spelling of a Hono path: `/users/:id{[0-9]+}` → `/users/{id}`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?\??/g, "{$1}");
}

/** A part of an OpenAPI document, as JSON. */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** The JSON Schema (2020-12, as OpenAPI 3.1 uses) of a zod schema, as input (requests) or output (answers). */
export function jsonSchema(schema: ZodType, io: "input" | "output"): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: "any",
    // zod bounds every integer by ±(2^53 − 1); said of every count, that is noise.
    override: ({ jsonSchema: s }) => {
      if (s.minimum === Number.MIN_SAFE_INTEGER) delete s.minimum;
      if (s.maximum === Number.MAX_SAFE_INTEGER) delete s.maximum;
    },
  }) as Json;
  return rest;
}

/** Every error answers this body. */
export const ErrorBody = z.object({ error: z.string().describe("what went wrong, for a person to read") });

const ERROR_TEXT: Record<number, string> = {
  400: "bad input: the message says what",
  401: "no token, or an unknown one",
  403: "a token of the other kind",
  404: "no such thing",
  405: "the method is not allowed here",
  409: "a conflict with what is stored",
  413: "the body is too large",
  415: "the body's content type is not accepted",
  429: "over the rate limit; retry after the Retry-After seconds",
  503: "the database is unavailable; retry shortly",
};

/** The OpenAPI paths of `routes`, each path prefixed with `prefix` and each operation tagged `tag`. */
export function openApiPaths(routes: DescribedRoute[], prefix: string, tag: string): Record<string, Json> {
  const paths: Record<string, Json> = {};
  for (const { method, path, spec } of routes) {
    const full = openApiPath(prefix + (path === "/" && prefix !== "" ? "" : path));
    const methods = method === "ALL" ? ["get", "post", "put", "delete", "patch"] : [method.toLowerCase()];
    for (const m of methods) (paths[full] ??= {})[m] = operation(m, full, spec, tag);
  }
  return paths;
}

function operation(method: string, path: string, spec: RouteSpec | null, tag: string): Json {
  const op: Json = {
    tags: [tag],
    operationId: `${tag}_${method}_${path.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_|_$/g, "")}`,
    summary: spec?.summary ?? "Not described by its code",
  };
  if (spec?.description) op.description = spec.description;
  const parameters = [
    ...pathParameters(path, spec?.params),
    ...queryParameters(spec?.query),
  ];
  if (parameters.length > 0) op.parameters = parameters;
  if (spec?.body) {
    op.requestBody = { required: true, content: { "application/json": { schema: jsonSchema(spec.body, "input") } } };
  }
  const responses: Json = {};
  if (spec) {
    const status = String(spec.status ?? 200);
    const type = spec.contentType ?? "application/json";
    responses[status] = status === "204" ? { description: "done" } : {
      description: "success",
      content: { [type]: spec.response ? { schema: jsonSchema(spec.response, "output") } : {} },
    };
    for (const code of spec.errors ?? []) responses[String(code)] = errorResponse(code);
  }
  responses.default = { ...errorResponse(0), description: "an error: 4xx for the request, 5xx for the server" };
  op.responses = responses;
  return op;
}

function errorResponse(code: number): Json {
  return {
    description: ERROR_TEXT[code] ?? "an error",
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  };
}

function pathParameters(path: string, params: ZodObject | undefined): Json[] {
  const schema = params ? jsonSchema(params, "input") : null;
  return [...path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => {
    const s = schema?.properties?.[name] ?? { type: "string" };
    return withDescription({ name, in: "path", required: true, schema: s });
  });
}

function queryParameters(query: ZodObject | undefined): Json[] {
  if (!query) return [];
  const schema = jsonSchema(query, "input");
  const required = new Set<string>(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, s]) =>
    withDescription({ name, in: "query", required: required.has(name), schema: s })
  );
}

/** Lifts a parameter schema's description onto the parameter, where documentation tools show it. */
function withDescription(parameter: Json): Json {
  const { description, ...schema } = parameter.schema;
  return description ? { ...parameter, description, schema } : parameter;
}

/** One part of the document: the paths of the host, or of one plugin, under one tag. */
export interface ApiSection {
  tag: string;
  description: string;
  paths: Record<string, Json>;
}

/** The whole OpenAPI 3.1 document. */
export function openApiDocument(info: { title: string; version: string }, sections: ApiSection[]): Json {
  const paths: Record<string, Json> = {};
  for (const s of sections) {
    for (const [path, item] of Object.entries(s.paths)) paths[path] = { ...paths[path], ...item };
  }
  return {
    openapi: "3.1.0",
    info,
    tags: sections.map((s) => ({ name: s.tag, description: s.description })),
    paths,
    components: { schemas: { Error: jsonSchema(ErrorBody, "output") } },
  };
}
