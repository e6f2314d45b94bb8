/**
 * The sandbox process of one plugin. Its entry (see `confine.ts`) imports the plugin statically, then calls
 * {@linkcode serve}, which answers the host's calls over stdin/stdout. The process runs with every permission
 * denied from its first instruction, so there is nothing for the plugin's code to keep or tamper with.
 */
import { describedRoutes, openApiPaths } from "../http/openapi.ts";
import { callProblem, checkNotice, MAX_NOTICES_PER_CALL } from "../notices/notice.ts";
import type { Env, FetchHandler, PluginDefinition } from "../sdk/mod.ts";
import { splitBatch } from "./merges.ts";
import { type ChildMessage, type HostMessage, type Manifest, messageWriter, readMessages } from "./protocol.ts";

const send = messageWriter<ChildMessage>(Deno.stdout.writable);
let plugin: PluginDefinition;
let fetchHandler: FetchHandler | undefined;

/** Serves the host's calls to `definition` (the plugin's default export) until stdin closes. */
export async function serve(definition: PluginDefinition): Promise<void> {
  plugin = definition;
  /** The plugin's fetch handler: its `fetch`, or its Hono app's. */
  fetchHandler = typeof plugin?.fetch === "function"
    ? plugin.fetch
    : typeof plugin?.fetch?.fetch === "function"
    ? plugin.fetch.fetch.bind(plugin.fetch)
    : undefined;
  for await (const msg of readMessages<HostMessage>(Deno.stdin.readable)) {
    if (msg.kind === "sql-reply") {
      const p = pendingSql.get(msg.id);
      pendingSql.delete(msg.id);
      if (msg.ok) p?.resolve(msg.rows);
      else p?.reject(new Error(msg.error));
      continue;
    }
    handle(msg).then(
      (result) => send({ kind: "reply", id: msg.id, ok: true, result }),
      (e) => send({ kind: "reply", id: msg.id, ok: false, error: e instanceof Error ? e.message : String(e) }),
    );
  }
}

let config: unknown = undefined;
let nextSqlId = 1;
const pendingSql = new Map<number, { resolve: (rows: unknown[]) => void; reject: (e: Error) => void }>();

/** Whether `value` holds NaN or an infinity, which JSON would silently turn into null on the way to the host. */
function hasNonFinite(value: unknown): boolean {
  if (typeof value === "number") return !Number.isFinite(value);
  return Array.isArray(value) && value.some(hasNonFinite);
}

/** What a call that may notify has notified: how many notices, their bytes, and the first bad one (fails the call). */
interface Notified {
  count: number;
  bytes: number;
  error: string | null;
}

/**
 * `env.notify` for `call`: checks the notice here, where the plugin gets a clear error at its call (the host checks
 * again), and sends it. A bad one also fails the call, even if the plugin catches the error. Without `notified` (a
 * request, a transform) it refuses.
 */
function notifier(call: number, notified: Notified | null): Env["notify"] {
  return (channel, payload) => {
    if (notified === null) {
      throw new Error("env.notify works in queue, merge and scheduled only: a request or a transform notifies nothing");
    }
    let problem: string | null = null;
    let value: unknown = payload; // not an object: checkNotice says so
    if (notified.count >= MAX_NOTICES_PER_CALL) problem = `notify: over ${MAX_NOTICES_PER_CALL} notices in one call`;
    else if (payload !== null && typeof payload === "object") {
      try {
        value = JSON.parse(JSON.stringify(payload, (key, v) => {
          if (typeof v === "number" && !Number.isFinite(v)) throw new TypeError(`'${key}' holds NaN or an infinity`);
          return v;
        }));
      } catch (e) {
        problem = `notify: the payload cannot be sent as JSON: ${(e as Error).message}`;
      }
    }
    const bytes = problem ?? checkNotice(channel, value);
    problem = typeof bytes === "string" ? bytes : callProblem(notified.count + 1, notified.bytes + bytes);
    if (problem !== null) {
      notified.error ??= problem;
      throw new TypeError(problem);
    }
    notified.count++;
    notified.bytes += bytes as number;
    void send({ kind: "notice", call, channel, payload: value as Record<string, unknown> });
  };
}

function envFor(call: number, watermark: string | null, notified: Notified | null = null): Env {
  const query = (text: string, params: unknown[] = []) =>
    new Promise<unknown[]>((resolve, reject) => {
      const bad = params.findIndex(hasNonFinite);
      if (bad >= 0) return reject(new TypeError(`SQL parameter $${bad + 1} holds NaN or an infinity`));
      const id = nextSqlId++;
      pendingSql.set(id, { resolve, reject });
      send({ kind: "sql", id, call, text, params });
    }) as Promise<never[]>;
  const log = (level: "debug" | "info" | "warn" | "error") => (msg: string, fields?: Record<string, unknown>) =>
    void send({ kind: "log", level, msg, fields });
  const logger = {
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    with: () => logger,
  };
  return {
    db: {
      query,
      sql: (strings: TemplateStringsArray, ...values: unknown[]) =>
        query(strings.reduce((text, s, i) => text + "$" + i + s), values),
    },
    log: logger,
    config,
    metrics: { increment: (name: string, by = 1) => void send({ kind: "metric", name, by }) },
    notify: notifier(call, notified),
    watermark,
  };
}

async function handle(msg: Extract<HostMessage, { kind: "call" }>): Promise<unknown> {
  switch (msg.op) {
    case "init": {
      if (!plugin || typeof plugin !== "object" || plugin.name !== msg.name) {
        throw new Error(`mod.ts must default-export definePlugin({ name: "${msg.name}", ... })`);
      }
      if (plugin.config) {
        const parsed = plugin.config.safeParse(msg.settings ?? {});
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new Error(`invalid settings: ${issue.path.join(".")}: ${issue.message}`);
        }
        config = parsed.data;
      }
      const manifest: Manifest = {
        name: plugin.name,
        version: plugin.version,
        subscribes: plugin.subscribes === "*" ? "*" : [...plugin.subscribes],
        panels: [...(plugin.panels ?? [])],
        limits: plugin.limits ?? {},
        hasQueue: typeof plugin.queue === "function",
        hasMerge: typeof plugin.merge === "function",
        hasTransform: typeof plugin.transform === "function",
        hasFetch: fetchHandler !== undefined,
        api: fetchHandler && typeof plugin.fetch === "object" && Array.isArray(plugin.fetch.routes)
          ? openApiPaths(describedRoutes(plugin.fetch), `/api/${plugin.name}`, plugin.name)
          : null,
        scheduleMs: plugin.scheduled?.everyMs ?? null,
        partitioned: plugin.partitioned ?? true,
      };
      return manifest;
    }
    case "queue": {
      const notified: Notified = { count: 0, bytes: 0, error: null };
      const env = envFor(msg.id, msg.watermark, notified);
      const { merges, events } = splitBatch(msg.batch);
      if (merges.length > 0) await plugin.merge?.(merges, env);
      if (events.length > 0) await plugin.queue?.(events, env);
      if (notified.error !== null) throw new Error(notified.error);
      return null;
    }
    case "fetch": {
      const { method, url, headers, body } = msg.request;
      const response = await fetchHandler!(new Request(url, { method, headers, body }), envFor(msg.id, msg.watermark));
      return { status: response.status, headers: [...response.headers], body: await response.text() };
    }
    case "scheduled": {
      const notified: Notified = { count: 0, bytes: 0, error: null };
      await plugin.scheduled!.run(envFor(msg.id, msg.watermark, notified));
      if (notified.error !== null) throw new Error(notified.error);
      return null;
    }
    case "transform": {
      const { db: _, watermark: __, notify: ___, ...env } = envFor(msg.id, null);
      const results = [];
      for (const item of msg.items) {
        try {
          const out = await plugin.transform!(item, env);
          results.push({ ok: true, events: out === null || out === undefined ? [] : Array.isArray(out) ? out : [out] });
        } catch (e) {
          results.push({ ok: false, error: e instanceof Error ? e.message : String(e) });
        }
      }
      return results;
    }
  }
}
