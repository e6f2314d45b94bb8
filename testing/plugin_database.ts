/**
 * A plugin's schema on an in-memory database of its own, for calling its handlers directly: unit tests of `queue`
 * on real Postgres semantics, and benchmarks of a plugin's own code. No runtime, no sandbox, no role.
 * @module
 */
import { createLogger } from "../runtime/observability/logger.ts";
import { type Notice, noticeProblem } from "../runtime/notices/notice.ts";
import type { Env } from "../runtime/sdk/mod.ts";
import { openPglite, type Row } from "../runtime/store/mod.ts";
import { folderName, folderUrl } from "./_folder.ts";

/** A plugin's migrated schema on a fresh in-memory PGlite; close it with {@linkcode PluginDatabase.close} or `await using`. */
export interface PluginDatabase extends AsyncDisposable {
  /** The schema's name: the plugin folder's name. */
  readonly schema: string;
  /**
   * What to call the plugin's handlers with: `db` on its schema, a quiet `log`, `config` `{}`, no-op `metrics`, a
   * `notify` that checks each notice as the host does and keeps it in {@linkcode PluginDatabase.notices}, no watermark.
   */
  readonly env: Env;
  /** What the handlers notified through `env.notify`, in order. */
  readonly notices: Notice[];
  /** Runs one statement with `$1..$n` parameters as the host (the plugin's schema first on the search path). */
  query<T extends Row = Row>(text: string, params?: unknown[]): Promise<T[]>;
  /** Runs statements without parameters as the host: `begin` and `commit` around a `queue` call, as the host does. */
  exec(text: string): Promise<void>;
  /** Closes the database. */
  close(): Promise<void>;
}

/**
 * Creates the schema of the plugin in `folder` (named after it) on a fresh in-memory PGlite and runs its migrations
 * in order.
 *
 * ```ts
 * await using db = await pluginDatabase(new URL("./", import.meta.url));
 * await db.exec("begin");
 * await plugin.queue!([event], db.env);
 * await db.exec("commit");
 * assert.deepEqual(await db.query("select count(*)::int as n from counts"), [{ n: 1 }]);
 * ```
 */
export async function pluginDatabase(folder: URL | string): Promise<PluginDatabase> {
  const from = folderUrl(folder);
  const schema = folderName(from);
  const store = await openPglite("memory://");
  try {
    await store.exec(`create schema ${schema}; set search_path = ${schema}`);
    const files = [];
    for await (const f of Deno.readDir(new URL("migrations/", from))) files.push(f.name);
    for (const name of files.sort()) await store.exec(await Deno.readTextFile(new URL(`migrations/${name}`, from)));
  } catch (e) {
    await store.close();
    throw e;
  }
  const db: Env["db"] = {
    query: (text, params) => store.query(text, params),
    sql: (strings, ...values) => store.query(strings.reduce((t, s, i) => t + "$" + i + s), values),
  };
  const notices: Notice[] = [];
  const notify: Env["notify"] = (channel, payload) => {
    const value = JSON.parse(JSON.stringify(payload) ?? "null");
    const problem = noticeProblem(channel, value);
    if (problem !== null) throw new TypeError(problem);
    notices.push({ channel, payload: value });
  };
  const env: Env = {
    db,
    log: createLogger("error"),
    config: {},
    metrics: { increment() {} },
    notify,
    watermark: null,
  };
  const close = () => store.close();
  return {
    schema,
    env,
    notices,
    query: (text, params) => store.query(text, params),
    exec: (text) => store.exec(text),
    close,
    [Symbol.asyncDispose]: close,
  };
}
