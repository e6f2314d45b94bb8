/**
 * Test helpers: both storage backends, runtimes on temporary plugin folders, and waiting on conditions.
 * Server-Postgres tests need `TEST_DATABASE_URL` (a superuser URL; each runtime gets a fresh database in
 * it). Without it they are skipped, except under `CI=true`, where they fail.
 * @module
 */
import assert from "node:assert/strict";
import { createLogger } from "../../runtime/observability/logger.ts";
import { type Runtime, type RuntimeOptions, startRuntime } from "../../runtime/runtime.ts";
import { openPglite, openPostgres, type Store } from "../../runtime/store/mod.ts";
import { setUpLeastPrivilege } from "../../runtime/store/hardening.ts";

/** A storage backend tests run against. */
export interface Backend {
  name: "pglite" | "postgres" | "postgres-least";
  /** Whether tests on this backend run here. */
  enabled: boolean;
  /** Opens a fresh, empty store. */
  open(): Promise<Store>;
  /** A fresh, empty database: for a runtime started as a separate process (`DATABASE_URL` or `DATA_DIR`). */
  fresh(): Promise<{ databaseUrl?: string; dataDir: string }>;
}

const TEST_DATABASE_URL = Deno.env.get("TEST_DATABASE_URL");

/**
 * Every temporary folder of this test process (data dirs, plugin folders) lives under one root, removed
 * when the process ends: runs of the suite and the bench would otherwise fill the disk.
 */
const TEMP_ROOT = Deno.makeTempDirSync({ prefix: "rt-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(TEMP_ROOT, { recursive: true }));

/** A new empty folder, removed with the others when the test process ends. */
export function tempDir(prefix: string): Promise<string> {
  return Deno.makeTempDir({ dir: TEMP_ROOT, prefix });
}
const IN_CI = Deno.env.get("CI") === "true";

/** Embedded PGlite (in memory) and, when configured, a PostgreSQL server. */
export const BACKENDS: Backend[] = [
  {
    name: "pglite",
    enabled: true,
    open: () => openPglite("memory://"),
    fresh: async () => ({ dataDir: await tempDir("rt-data-") }),
  },
  {
    name: "postgres",
    enabled: TEST_DATABASE_URL !== undefined || IN_CI,
    open: async () => openPostgres(await freshDatabase()),
    fresh: async () => ({
      databaseUrl: await freshDatabase(),
      dataDir: await tempDir("rt-data-"),
    }),
  },
];

/**
 * The test server with the runtime connected as a least-privileged user (LOGIN and CREATEROLE, owner of its
 * database), set up as `deno task setup-db` does: for the tests of what plugins cannot do whatever the host's user.
 */
export const LEAST_PRIVILEGE: Backend = {
  name: "postgres-least",
  enabled: BACKENDS[1].enabled,
  open: async () => openPostgres(await leastPrivilegeDatabase()),
  fresh: async () => ({
    databaseUrl: await leastPrivilegeDatabase(),
    dataDir: await tempDir("rt-data-"),
  }),
};

async function leastPrivilegeDatabase(): Promise<string> {
  const url = new URL(await freshDatabase());
  const role = `rt_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`; // roles outlive a test database
  const admin = await openPostgres(url.href, 1);
  try {
    await admin.transaction((tx) => setUpLeastPrivilege(tx, role));
  } finally {
    await admin.close();
  }
  url.username = role; // the test server trusts local connections: no password
  return url.href;
}

/** Creates an empty database on the test server and answers its URL. */
export async function freshDatabase(): Promise<string> {
  if (!TEST_DATABASE_URL) throw new Error("CI=true but TEST_DATABASE_URL is not set: server-Postgres tests cannot run");
  const admin = await openPostgres(TEST_DATABASE_URL, 1);
  const name = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  try {
    await admin.exec(`create database ${name}`);
  } finally {
    await admin.close();
  }
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.href;
}

/** The repository's own folders. */
export const REPO = new URL("../../", import.meta.url);
export const FIXTURES = new URL("../fixtures/plugins/", import.meta.url);

/** Makes a temporary plugins folder holding copies of the named fixture (or repository) plugins. */
export async function pluginsFolder(plugins: { name: string; from?: URL }[]): Promise<string> {
  const dir = await tempDir("rt-plugins-");
  for (const p of plugins) await copyPlugin(new URL(`${p.name}/`, p.from ?? FIXTURES), `${dir}/${p.name}`);
  return dir;
}

/** Copies a plugin folder (files and subfolders). */
export async function copyPlugin(from: URL, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyPlugin(new URL(`${e.name}/`, from), `${to}/${e.name}`);
    else await Deno.copyFile(new URL(e.name, from), `${to}/${e.name}`);
  }
}

/** Starts a runtime on `backend` with fast retries; stops it (and its store) after `fn`. */
export async function withRuntime(
  backend: Backend,
  opts: Partial<RuntimeOptions> & { pluginsDir: string },
  fn: (rt: Runtime) => Promise<void>,
): Promise<void> {
  const rt = await startTestRuntime(backend, opts);
  try {
    await fn(rt);
  } finally {
    await rt.stop();
  }
}

/**
 * Starts a runtime on `backend` with fast retries, no batch wait and quiet logs. Without `store` it gets a fresh one,
 * closed when it stops; an explicit `store: undefined` opens the one named by `dataDir` / `databaseUrl`.
 */
export async function startTestRuntime(
  backend: Backend,
  opts: Partial<RuntimeOptions> & { pluginsDir: string },
): Promise<Runtime> {
  const fresh = "store" in opts ? undefined : await backend.open();
  const rt = await startRuntime({
    dataDir: "memory://",
    logger: createLogger(Deno.env.get("TEST_LOG") === "1" ? "debug" : "error"),
    retry: { backoffMs: 20, maxBackoffMs: 200, pollMs: 100 },
    // Batches taken as soon as events are there: tests wait for one commit after another. The runtime's default wait
    // runs in the tests of processes started with `deno task start`, and the tests of the wait set their own.
    batchWaitMs: 0,
    ...opts,
    store: fresh ?? opts.store,
  });
  if (!fresh) return rt;
  return { ...rt, stop: () => rt.stop().then(() => fresh.close()) };
}

/** Waits until `check` answers a truthy value (which it returns), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** Waits until every running plugin has committed everything in the log. */
export function waitForCatchUp(rt: Runtime, timeoutMs = 30_000): Promise<boolean> {
  return waitFor(
    "plugins to catch up",
    () => rt.plugins.list().every((p) => p.status === "failed" || p.status === "disabled" || p.lag === 0),
    timeoutMs,
  );
}

/** A valid page_view by user "u1" at 2026-03-01T10:00:00Z; `fields` replace or add top-level fields. */
export function pageView(id: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: id,
    type: "page_view",
    user_id: "u1",
    timestamp: "2026-03-01T10:00:00Z",
    properties: {},
    ...fields,
  };
}

/** A parsed JSON answer; tests assert on its shape, so it is left untyped on purpose. */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** Posts JSON to the runtime's app in-process and answers status and parsed body. */
export async function postJson(rt: Runtime, path: string, body: unknown): Promise<{ status: number; body: Json }> {
  const res = await rt.app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** Ingests `events` through `/v1/events` in batches of 1000, failing on any rejected, and waits for every plugin. */
export async function ingestAll(rt: Runtime, events: readonly unknown[]): Promise<void> {
  for (let i = 0; i < events.length; i += 1000) {
    const batch = events.slice(i, i + 1000);
    assert.deepEqual((await postJson(rt, "/v1/events", batch)).body, { accepted: batch.length, rejected: [] });
  }
  await waitForCatchUp(rt);
}

/** GETs JSON from the runtime's app in-process. */
export async function getJson(rt: Runtime, path: string): Promise<{ status: number; body: Json }> {
  const res = await rt.app.request(path);
  return { status: res.status, body: await res.json() };
}

/**
 * Every user a paged list of users holds (`{ total, users: [{ user_id }], next }`), read `size` at a time from `path` (a
 * route with a query); asserts that every page answers 200 with the same `total`, and that the pages hold that many.
 */
export async function allPages(rt: Runtime, path: string, size = 7): Promise<string[]> {
  const ids: string[] = [];
  let total: number | null = null;
  for (let after: string | null = ""; after !== null;) {
    const query = `limit=${size}${after ? `&after=${encodeURIComponent(after)}` : ""}`;
    const { status, body } = await getJson(rt, `${path}${path.includes("?") ? "&" : "?"}${query}`);
    assert.equal(status, 200, JSON.stringify(body));
    total ??= body.total as number;
    assert.equal(body.total, total, path);
    ids.push(...body.users.map((u: { user_id: string }) => u.user_id));
    after = body.next;
  }
  assert.equal(ids.length, total, path);
  return ids;
}

/** `/metrics` as a map from each series (`name{labels}`, as rendered) to its value. */
export async function scrape(
  app: { request(path: string): Response | Promise<Response> },
): Promise<Map<string, number>> {
  const text = await (await app.request("/metrics")).text();
  const series = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

/** A runtime started as its own process, as `deno task start` would. */
export interface RuntimeProcess {
  url: string;
  child: Deno.ChildProcess;
  /** Waits until `/readyz` answers 200. */
  ready(timeoutMs?: number): Promise<void>;
  /** Every line it wrote to stderr so far (its logs), the latest 10,000. */
  lines: string[];
}

/** Starts `runtime/main.ts` with the start task's permissions, on a free port, with `env` added. */
export function spawnRuntime(env: Record<string, string>): RuntimeProcess {
  const tasks = JSON.parse(Deno.readTextFileSync(new URL("deno.json", REPO))).tasks;
  const args = (tasks.start as string).split(/\s+/).slice(1); // "deno run <flags> runtime/main.ts"
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO,
    env: { SIMULATE: "0", LOG_LEVEL: "warn", ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Keep the lines it logged: for tests to read, and to say why when it does not come up.
  const lines: string[] = [];
  const tail = { join: (separator: string) => lines.slice(-20).join(separator) };
  const echo = Deno.env.get("TEST_LOG") !== undefined;
  (async () => {
    let partial = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      if (echo) console.error(chunk.trimEnd());
      const parts = (partial + chunk).split("\n");
      partial = parts.pop()!;
      lines.push(...parts.filter((l) => l.trim() !== ""));
      lines.splice(0, Math.max(0, lines.length - 10_000));
    }
    if (partial.trim() !== "") lines.push(partial);
  })();
  const url = `http://127.0.0.1:${port}`;
  const ready = (timeoutMs = 60_000) => {
    let up = false;
    const exited = child.status.then((status) => {
      if (!up) throw new Error(`runtime at ${url} exited with code ${status.code}:\n${tail.join("\n")}`);
    });
    const polled = waitFor(
      `runtime at ${url} to be ready`,
      () => fetch(`${url}/readyz`).then((r) => r.body?.cancel().then(() => r.ok)),
      timeoutMs,
    ).then(() => {
      up = true;
    }, (e) => {
      throw new Error(`${e.message}\nits last log lines:\n${tail.join("\n")}`);
    });
    const first = Promise.race([polled, exited]);
    exited.catch(() => {}); // a later exit (the test stopping it) is no one's error
    return first;
  };
  return { url, child, ready, lines };
}

/** Registers `fn` as one test per backend, named `[backend] name`; ignored where the backend is not enabled. */
export function testEachBackend(name: string, fn: (backend: Backend) => Promise<void>): void {
  for (const backend of BACKENDS) {
    Deno.test({
      name: `[${backend.name}] ${name}`,
      ignore: !backend.enabled,
      // Subprocesses, servers and pools outlive single ops by design; each test stops what it started.
      sanitizeOps: false,
      sanitizeResources: false,
      fn: () => fn(backend),
    });
  }
}
