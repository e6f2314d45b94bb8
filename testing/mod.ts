/**
 * A plugin's own tests: its folder alone in a real runtime (in-memory PGlite), in its real sandbox with its own
 * role and schema, fed through the real ingest path and committed under the same checkpoint rules as production.
 *
 * ```ts
 * await using h = await testPlugin(new URL("./", import.meta.url));
 * await h.send([{ event_id: "e1", type: "page_view", user_id: "u1", timestamp: "2026-03-01T10:00:00Z" }]);
 * assert.deepEqual((await h.get("/counts")).body, { counts: { page_view: 1 } });
 * ```
 *
 * {@linkcode routeChecker} and {@linkcode assertFilled} hold a plugin's live answers to the schemas its routes
 * declare with `describeRoute()`. {@linkcode testEachBackend} runs a test on embedded PGlite and on a PostgreSQL
 * server; {@linkcode pluginDatabase} gives a plugin's migrated schema alone, to call its handlers directly; the
 * simulator ({@linkcode Simulator}, {@linkcode simulateHistory}) makes realistic traffic to send.
 * @module
 */
import assert from "node:assert/strict";
import { describedRoutes, ErrorBody, jsonSchema, type RouteSpec } from "../runtime/http/openapi.ts";
import type { PluginInfo } from "../runtime/plugin/host.ts";
import type { Status } from "../runtime/plugin/runner.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { PluginDefinition } from "../runtime/sdk/mod.ts";
import type { Row, Sql, Store, TransactionOptions } from "../runtime/store/mod.ts";

export type { PluginInfo, Row, Sql, Status, Store, TransactionOptions };
import {
  BACKENDS,
  copyPlugin,
  getJson,
  type Json,
  postJson,
  startTestRuntime,
  waitForCatchUp,
} from "../tests/support/harness.ts";
import { folderName, folderUrl } from "./_folder.ts";

export { type PluginDatabase, pluginDatabase } from "./plugin_database.ts";
/** A notice as a plugin emits it (`env.notify(channel, payload)`), as {@linkcode PluginDatabase.notices} keeps it. */
export type { Notice } from "../runtime/notices/notice.ts";
/** The traffic simulator: seeded random numbers, shopping sessions, and weeks of history with ground truth. */
export {
  FRAUD_PATTERNS,
  type FraudPattern,
  type HistoryOptions,
  type Labels,
  type Product,
  rng,
  simulateHistory,
  Simulator,
  type SimulatorOptions,
} from "../runtime/sources/simulator/mod.ts";
/** Waiting on a condition with a deadline, never for a fixed time; and the untyped JSON of an answer. */
export { type Json, waitFor } from "../tests/support/harness.ts";

/** A database a plugin is tested on: embedded PGlite (in memory), or a PostgreSQL server (`TEST_DATABASE_URL`). */
export type TestBackend = "pglite" | "postgres";

/** The harness's backend named `name`; fails when it cannot run here. */
function backendNamed(name: TestBackend) {
  const backend = BACKENDS.find((b) => b.name === name);
  if (!backend?.enabled) {
    throw new Error(`cannot test on ${name}: set TEST_DATABASE_URL to a PostgreSQL superuser URL`);
  }
  return backend;
}

/**
 * Registers `fn` as one test per {@linkcode TestBackend}, named `[pglite] name` and `[postgres] name`, for
 * answers that depend on what the database driver makes of `numeric`, `jsonb` or `timestamptz`. The PostgreSQL one
 * runs when `TEST_DATABASE_URL` names a server (a superuser URL; each test gets a fresh database), is ignored
 * otherwise, and fails under `CI=true` without it. Pass the backend on to {@linkcode testPlugin}.
 *
 * ```ts
 * testEachBackend("counts page views", async (backend) => {
 *   await using h = await testPlugin(new URL("./", import.meta.url), { backend });
 * });
 * ```
 */
export function testEachBackend(name: string, fn: (backend: TestBackend) => Promise<void>): void {
  for (const backend of BACKENDS) {
    if (backend.name !== "pglite" && backend.name !== "postgres") continue;
    const named: TestBackend = backend.name;
    Deno.test({
      name: `[${named}] ${name}`,
      ignore: !backend.enabled,
      // The plugin's sandbox and database outlive single ops by design; the harness stops what it started.
      sanitizeOps: false,
      sanitizeResources: false,
      fn: () => fn(named),
    });
  }
}

/** What {@linkcode testPlugin} is started with. */
export interface TestPluginOptions {
  /** The plugin's settings, as `PLUGIN_<NAME>` would hold them (parsed by its `config` schema). */
  settings?: unknown;
  /** The database to run on: a fresh in-memory PGlite (the default), or a fresh database on the test server. */
  backend?: TestBackend;
}

/** An answer of the plugin (or the host): its status and body, parsed when it is JSON, else its text. */
export interface Answer {
  /** The HTTP status. */
  status: number;
  /** The body: parsed JSON, or the text when it is not JSON. */
  body: Json;
}

/** What a test reaches of the runtime beyond the harness: its app, to call in-process, and its database. */
export interface TestRuntime {
  /** The runtime's Hono app: every route, the host's and the plugins'. */
  readonly app: RequestApp;
  /** The runtime's database, as the host (a superuser): for assertions the plugin's role could not make. */
  readonly store: Store;
}

/** A running plugin under test; stop it with {@linkcode PluginHarness.stop} or `await using`. */
export interface PluginHarness extends AsyncDisposable {
  /** The plugin's name (its folder's name). */
  readonly name: string;
  /** The runtime it runs in, for what the harness does not cover. */
  readonly runtime: TestRuntime;
  /**
   * Posts events to `/v1/events` and waits until the plugin has committed them. Fails when any is rejected at
   * ingest, unless `allowRejected`; answers the ingest result.
   */
  send(events: unknown[], opts?: { allowRejected?: boolean }): Promise<Answer>;
  /**
   * Posts `items` to `/v1/sources/<name>`, through the plugin's `transform`, and waits until every plugin has committed
   * what it made; answers `{ accepted, rejected, dropped }`.
   */
  source(items: unknown[]): Promise<Answer>;
  /** GETs the plugin's route `path` (relative to `/api/<name>`). */
  get(path: string): Promise<Answer>;
  /** POSTs `body` as JSON to the plugin's route `path` (relative to `/api/<name>`). */
  post(path: string, body: unknown): Promise<Answer>;
  /** Calls the plugin's route `path` (relative to `/api/<name>`) with any method, headers and body (a PUT, a DELETE, a body that is not JSON). */
  request(path: string, init?: RequestInit): Promise<Answer>;
  /** Runs one statement as the host, with the plugin's schema first on the search path: for assertions. */
  sql<T extends Row = Row>(text: string, params?: unknown[]): Promise<T[]>;
  /** The plugin as `/api/plugins` lists it: status, processed, failed, lag, panels, error. */
  plugin(): Promise<PluginInfo>;
  /** The plugin's dead letters, newest first: of its `queue` (stage `plugin:<name>`), or of its `transform`. */
  deadLetters(of?: "plugin" | "transform"): Promise<Json[]>;
  /** Stops the plugin, the runtime and its database, and removes the temporary plugins folder. */
  stop(): Promise<void>;
}

/** Calls the runtime's app in-process; a body that is not JSON (Hono's "404 Not Found") comes back as text. */
async function call(rt: Runtime, path: string, init?: RequestInit): Promise<Answer> {
  const res = await rt.app.request(path, init);
  const text = await res.text();
  const json = res.headers.get("content-type")?.includes("json") ?? false;
  return { status: res.status, body: json && text !== "" ? JSON.parse(text) : text };
}

/** Starts a runtime holding only the plugin in `folder` (named after it) and answers a harness around it. */
export async function testPlugin(folder: URL | string, opts: TestPluginOptions = {}): Promise<PluginHarness> {
  const from = folderUrl(folder);
  const name = folderName(from);
  const pluginsDir = await Deno.makeTempDir({ prefix: "rt-plugin-test-" });
  let rt: Runtime;
  try {
    await copyPlugin(from, `${pluginsDir}/${name}`);
    rt = await startTestRuntime(backendNamed(opts.backend ?? "pglite"), {
      pluginsDir,
      pluginSettings: opts.settings === undefined ? {} : { [name]: opts.settings },
    });
  } catch (e) {
    await Deno.remove(pluginsDir, { recursive: true });
    throw e;
  }
  const runtime = rt;
  const prefix = `/api/${name}`;
  const route = (path: string) => `${prefix}${path.startsWith("/") ? path : `/${path}`}`;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= runtime.stop().finally(() => Deno.remove(pluginsDir, { recursive: true }).catch(() => {}));

  const harness: PluginHarness = {
    name,
    runtime,
    async send(events, { allowRejected = false } = {}) {
      const res = await postJson(runtime, "/v1/events", events);
      if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${JSON.stringify(res.body)}`);
      if (!allowRejected && res.body.rejected.length > 0) {
        throw new Error(`ingest rejected ${JSON.stringify(res.body.rejected)} (pass allowRejected to expect that)`);
      }
      await waitForCatchUp(runtime);
      return res;
    },
    async source(items) {
      const res = await postJson(runtime, `/v1/sources/${name}`, items);
      if (res.status !== 200) {
        throw new Error(`/v1/sources/${name} answered ${res.status}: ${JSON.stringify(res.body)}`);
      }
      await waitForCatchUp(runtime);
      return res;
    },
    get: (path) => call(runtime, route(path)),
    request: (path, init) => call(runtime, route(path), init),
    post: (path, body) =>
      call(runtime, route(path), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
    sql<T extends Row = Row>(text: string, params?: unknown[]) {
      return runtime.store.transaction(async (tx) => {
        await tx.exec(`set local search_path = ${name}, public`);
        return await tx.query<T>(text, params);
      });
    },
    async plugin() {
      const listed: PluginInfo[] = (await getJson(runtime, "/api/plugins")).body.plugins;
      const info = listed.find((p) => p.name === name);
      if (!info) throw new Error(`plugin ${name} is not listed by /api/plugins: is its name '${name}' in mod.ts?`);
      return info;
    },
    async deadLetters(of = "plugin") {
      return (await getJson(runtime, `/api/dead-letters?stage=${of}:${name}`)).body.items;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
  return harness;
}

/** Query values a route must answer 200 to (`good`) and 400 to (`bad`). */
export interface QueryEdges {
  /** Values answered 200. */
  good: string[];
  /** Values answered 400. */
  bad: string[];
}

/** What {@linkcode routeChecker} is given beyond the plugin and the app. */
export interface RouteCheckerOptions {
  /** Edges of query parameters whose schema does not name them (a time, a pattern), by parameter name. */
  queryEdges?: Record<string, QueryEdges>;
}

/** Calls a plugin's described routes, each named `METHOD /path` as the plugin's Hono app registers it. */
export interface RouteChecker {
  /**
   * Sends `body` (checked against the route's body schema first) to `url` (relative to `/api/<name>`), fails
   * unless the route's success status answers, and answers the body parsed by its response schema.
   */
  call(route: string, url: string, body?: unknown): Promise<Json>;
  /** Fails unless `url` answers `status`, an error's body being an {@linkcode ErrorBody}; answers the body. */
  expect(route: string, url: string, status: number, body?: unknown): Promise<Json>;
  /**
   * Sets each documented query parameter of the route, in turn, to its edges: the bounds or values its schema
   * names answer 200 (parsed by the response schema), just outside them 400. A route without a query passes.
   */
  probeQuery(route: string, url: string, body?: unknown): Promise<void>;
  /** Fails unless every described route was called, and every field of its answers filled by one of them. */
  assertCovered(): void;
  /** Fails unless each route has answered every error status it documents. */
  assertErrorsAnswered(): void;
}

/** The app that serves a plugin's routes under `/api/<name>`: the runtime's `app`, or a harness's `runtime.app`. */
export interface RequestApp {
  /** Answers a request in-process, as Hono's `app.request()` does. */
  request(url: string, init?: RequestInit): Response | Promise<Response>;
}

/**
 * A {@linkcode RouteChecker} for `plugin`'s routes (its `fetch` must be a Hono app, so they are described),
 * called through `app`.
 */
export function routeChecker<C>(
  plugin: PluginDefinition<C>,
  app: RequestApp,
  opts: RouteCheckerOptions = {},
): RouteChecker {
  const routes = typeof plugin.fetch === "object" ? describedRoutes(plugin.fetch) : [];
  assert.ok(routes.length > 0, `${plugin.name}: fetch is a Hono app with routes, so they are described`);
  const specs = new Map(routes.map((r) => [`${r.method} ${r.path}`, r.spec]));
  const answered = new Map<string, Set<number>>();
  /** Per route called: each field of its answers, and whether one of them filled it. */
  const filled = new Map<string, Map<string, boolean>>();

  function specOf(route: string): RouteSpec {
    const spec = specs.get(route);
    assert.ok(spec, `${route} is a route ${plugin.name} describes`);
    return spec;
  }
  async function send(route: string, url: string, body: unknown, status: number): Promise<Json> {
    const res = await app.request(`/api/${plugin.name}${url}`, {
      method: route.split(" ")[0],
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status !== status) {
      assert.fail(`${route} ${url}: expected ${status}, got ${res.status} ${text.slice(0, 300)}`);
    }
    answered.set(route, (answered.get(route) ?? new Set()).add(status));
    if (text === "") return null;
    try {
      return JSON.parse(text);
    } catch {
      assert.fail(`${route} ${url}: the answer is not JSON: ${text.slice(0, 300)}`);
    }
  }
  /** Parses a success answer by the route's response schema (a 204 answers nothing). */
  function parsed(route: string, spec: RouteSpec, answer: Json): Json {
    if (spec.status === 204) return assert.equal(answer, null, `${route} answers no body`);
    return spec.response!.parse(answer);
  }
  async function call(route: string, url: string, body?: unknown): Promise<Json> {
    const spec = specOf(route);
    if (body !== undefined) spec.body!.parse(body); // what the test sends is what the document asks for
    const answer = await send(route, url, body, spec.status ?? 200);
    if (!filled.has(route)) filled.set(route, new Map());
    if (answer !== null) markFilled(answer, "", filled.get(route)!);
    return parsed(route, spec, answer);
  }
  async function expect(route: string, url: string, status: number, body?: unknown): Promise<Json> {
    const spec = specOf(route);
    const answer = await send(route, url, body, status);
    if (status >= 400) return ErrorBody.parse(answer);
    return status === (spec.status ?? 200) ? parsed(route, spec, answer) : answer;
  }

  return {
    call,
    expect,
    async probeQuery(route, url, body) {
      const spec = specOf(route);
      const query = spec.query ? jsonSchema(spec.query, "input").properties as Record<string, Json> : {};
      for (const [name, schema] of Object.entries(query)) {
        const { good, bad } = opts.queryEdges?.[name] ?? queryEdges(schema, `${route}: ${name}`);
        const withValue = (value: string) => {
          const probe = new URL(url, "http://x");
          probe.searchParams.set(name, value);
          return probe.pathname + probe.search;
        };
        for (const value of good) await expect(route, withValue(value), 200, body);
        for (const value of bad) await expect(route, withValue(value), 400, body);
      }
    },
    assertCovered() {
      assert.deepEqual([...filled.keys()].sort(), [...specs.keys()].sort(), "every described route is called");
      for (const [route, fields] of filled) {
        const empty = [...fields].filter(([, full]) => !full).map(([path]) => path);
        assert.deepEqual(empty, [], `${route}: every field is filled by some answer`);
      }
    },
    assertErrorsAnswered() {
      for (const [route, spec] of specs) {
        for (const status of spec?.errors ?? []) {
          assert.ok(answered.get(route)?.has(status), `${route} answers ${status}`);
        }
      }
    },
  };
}

/** The edges a query parameter's JSON Schema names: its enum, or an integer's or number's bounds. */
function queryEdges(schema: Json, what: string): QueryEdges {
  if (schema.enum) return { good: schema.enum, bad: ["nope"] };
  const bounded = schema.minimum !== undefined && schema.maximum !== undefined;
  if (bounded && (schema.type === "integer" || schema.type === "number")) {
    return {
      good: [schema.minimum, schema.maximum].map(String),
      bad: [schema.minimum - 1, schema.maximum + 1, ...(schema.type === "integer" ? [1.5] : []), "x"].map(String),
    };
  }
  return assert.fail(`${what}: its schema names no edges (give them in queryEdges)`);
}

/**
 * Marks each part of `value` by path (array items as `[]`): filled when it is an array or object with items, or a
 * value other than null, in any answer marked.
 */
function markFilled(value: unknown, path: string, filled: Map<string, boolean>): void {
  const items = Array.isArray(value) ? value : value !== null && typeof value === "object" ? Object.values(value) : [];
  filled.set(path, (filled.get(path) ?? false) || (typeof value === "object" ? items.length > 0 : value !== null));
  if (Array.isArray(value)) { for (const v of value) markFilled(v, `${path}[]`, filled); }
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) markFilled(v, `${path}.${k}`, filled);
  }
}

/**
 * Fails on a null or an empty array or object anywhere in one answer, `value` (named `where`), every array item
 * included, except at the paths in `mayBeNull` (such as `"model.versions[].live"`).
 */
export function assertFilled(value: unknown, where: string, mayBeNull: string[] = []): void {
  if (value === null) return assert.ok(mayBeNull.includes(where), `${where} is null`);
  if (typeof value !== "object") return;
  const entries = Object.entries(value);
  assert.ok(entries.length > 0, `${where} is empty`);
  for (const [k, v] of entries) assertFilled(v, Array.isArray(value) ? `${where}[]` : `${where}.${k}`, mayBeNull);
}
