/**
 * The sandbox process of one plugin. Started by the host as
 * `deno run --no-prompt --allow-read=<plugin dir>,<runtime dir> _sandbox_child.ts <mod.ts>`: it imports the
 * plugin, then gives up every permission, then serves the host's calls over stdin/stdout.
 */
import { describedRoutes, openApiPaths } from "../openapi.ts";
import type { Env, FetchHandler, PluginDefinition } from "../sdk.ts";
import { type ChildMessage, type HostMessage, type Manifest, messageWriter, readMessages } from "./protocol.ts";

const send = messageWriter<ChildMessage>(Deno.stdout.writable);
// stdout is the wire: whatever the plugin prints goes to stderr, which the host logs.
console.log = console.info = console.debug = console.error;

// Taken before the plugin's code runs, so that code cannot replace them.
const permissions = Deno.permissions;
const revoke = permissions.revokeSync.bind(permissions);
const query = permissions.querySync.bind(permissions);
const exit = Deno.exit;
const PERMISSIONS = ["read", "write", "net", "env", "run", "ffi", "sys", "import"] as const;

const plugin = (await import(Deno.args[0])).default as PluginDefinition;
/** The plugin's fetch handler: its `fetch`, or its Hono app's. */
const fetchHandler: FetchHandler | undefined = typeof plugin?.fetch === "function"
  ? plugin.fetch
  : typeof plugin?.fetch?.fetch === "function"
  ? plugin.fetch.fetch.bind(plugin.fetch)
  : undefined;
for (const name of PERMISSIONS) {
  revoke({ name });
  if (query({ name }).state === "granted") {
    console.error(`sandbox: could not drop the ${name} permission; refusing to serve`);
    exit(70);
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

function envFor(call: number, watermark: string | null): Env {
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
        hasFetch: fetchHandler !== undefined,
        api: fetchHandler && typeof plugin.fetch === "object" && Array.isArray(plugin.fetch.routes)
          ? openApiPaths(describedRoutes(plugin.fetch), `/api/${plugin.name}`, plugin.name)
          : null,
        scheduleMs: plugin.scheduled?.everyMs ?? null,
      };
      return manifest;
    }
    case "queue":
      await plugin.queue?.(msg.batch, envFor(msg.id, msg.watermark));
      return null;
    case "fetch": {
      const { method, url, headers, body } = msg.request;
      const response = await fetchHandler!(new Request(url, { method, headers, body }), envFor(msg.id, msg.watermark));
      return { status: response.status, headers: [...response.headers], body: await response.text() };
    }
    case "scheduled":
      await plugin.scheduled!.run(envFor(msg.id, msg.watermark));
      return null;
  }
}

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
