/**
 * A plugin's own tests: its folder alone in a real runtime (in-memory PGlite), in its real sandbox with its own
 * role and schema, fed through the real ingest path and committed under the same checkpoint rules as production.
 *
 * ```ts
 * await using h = await testPlugin(new URL("./", import.meta.url));
 * await h.send([{ event_id: "e1", type: "page_view", user_id: "u1", timestamp: "2026-03-01T10:00:00Z" }]);
 * assert.deepEqual((await h.get("/counts")).body, { counts: { page_view: 1 } });
 * ```
 * @module
 */
import { basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { PluginInfo } from "./plugin/host.ts";
import type { Runtime } from "./runtime.ts";
import type { Row } from "./store/mod.ts";
import { BACKENDS, copyPlugin, getJson, type Json, postJson, startTestRuntime, waitForCatchUp } from "./testing.ts";

/** What {@linkcode testPlugin} is started with. */
export interface TestPluginOptions {
  /** The plugin's settings, as `PLUGIN_<NAME>` would hold them (parsed by its `config` schema). */
  settings?: unknown;
}

/** An answer of the plugin (or the host): its status and body, parsed when it is JSON, else its text. */
export interface Answer {
  status: number;
  body: Json;
}

/** A running plugin under test; stop it with {@linkcode PluginHarness.stop} or `await using`. */
export interface PluginHarness extends AsyncDisposable {
  /** The plugin's name (its folder's name). */
  readonly name: string;
  /** The runtime it runs in, for what the harness does not cover. */
  readonly runtime: Runtime;
  /**
   * Posts events to `/v1/events` and waits until the plugin has committed them. Fails when any is rejected at
   * ingest, unless `allowRejected`; answers the ingest result.
   */
  send(events: unknown[], opts?: { allowRejected?: boolean }): Promise<Answer>;
  /** GETs the plugin's route `path` (relative to `/api/<name>`). */
  get(path: string): Promise<Answer>;
  /** POSTs `body` as JSON to the plugin's route `path` (relative to `/api/<name>`). */
  post(path: string, body: unknown): Promise<Answer>;
  /** Runs one statement as the host, with the plugin's schema first on the search path: for assertions. */
  sql<T extends Row = Row>(text: string, params?: unknown[]): Promise<T[]>;
  /** The plugin as `/api/plugins` lists it: status, processed, failed, lag, panels, error. */
  plugin(): Promise<PluginInfo>;
  /** The plugin's dead letters (stage `plugin:<name>`), newest first. */
  deadLetters(): Promise<Json[]>;
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

/** A folder as a `file:` URL ending in `/`; a string is a path, relative to the working directory. */
function folderUrl(folder: URL | string): URL {
  const url = typeof folder === "string" ? pathToFileURL(resolve(folder)) : new URL(folder);
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}

/** Starts a runtime holding only the plugin in `folder` (named after it) and answers a harness around it. */
export async function testPlugin(folder: URL | string, opts: TestPluginOptions = {}): Promise<PluginHarness> {
  const from = folderUrl(folder);
  const name = basename(decodeURIComponent(from.pathname));
  const pluginsDir = await Deno.makeTempDir({ prefix: "rt-plugin-test-" });
  let rt: Runtime;
  try {
    await copyPlugin(from, `${pluginsDir}/${name}`);
    rt = await startTestRuntime(BACKENDS[0], {
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
    get: (path) => call(runtime, route(path)),
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
    async deadLetters() {
      return (await getJson(runtime, `/api/dead-letters?stage=plugin:${name}`)).body.items;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
  return harness;
}
