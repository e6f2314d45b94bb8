import type { Sql, Store } from "../store/mod.ts";
import type { PluginSource } from "./discover.ts";
import { checkScript } from "./sql_guard.ts";

/** A plugin's place in the database: its role and its schema (named after the plugin). */
export interface Placement {
  role: string;
  schema: string;
}

/**
 * Gives a plugin its own schema and its own role (no login, owner of the schema and nothing else), then
 * applies its migrations not yet applied, in file-name order, each as that role in its own transaction.
 * Role names carry a hash of the database name: roles are cluster-wide, schemas are not.
 */
export async function provision(store: Store, source: PluginSource, version: string): Promise<Placement> {
  const schema = source.name;
  const placement = await store.transaction(async (tx) => {
    await tx.query("select pg_advisory_xact_lock(727003)");
    const [{ db, su }] = await tx.query<{ db: string; su: boolean }>(
      "select current_database() as db, (select rolsuper from pg_roles where rolname = current_user) as su",
    );
    const role = `${source.name}_plugin_${await shortHash(db)}`;
    const [exists] = await tx.query("select 1 from pg_roles where rolname = $1", [role]);
    if (!exists) await tx.exec(`create role ${role} nologin noinherit`);
    if (!su) await tx.exec(`grant ${role} to current_user`);
    await tx.exec(`create schema if not exists ${schema} authorization ${role}`);
    await tx.query(
      `insert into host.plugins (name, version, role) values ($1, $2, $3)
       on conflict (name) do update set version = excluded.version, role = excluded.role, loaded_at = now()`,
      [source.name, version, role],
    );
    await tx.query(
      "insert into host.checkpoints (plugin, source, position) values ($1, 'log', 0) on conflict do nothing",
      [source.name],
    );
    return { role, schema };
  });
  for (const m of source.migrations) {
    const statements = checkScript(m.sql);
    await store.transaction(async (tx) => {
      await tx.query("select pg_advisory_xact_lock(727003)");
      const [done] = await tx.query("select 1 from host.migrations where plugin = $1 and name = $2", [
        source.name,
        m.name,
      ]);
      if (done) return;
      await asPlugin(tx, placement, async () => {
        for (const s of statements) await tx.exec(s);
      }).catch((e) => {
        throw new Error(`migration ${m.name} failed: ${(e as Error).message}`);
      });
      await tx.query("insert into host.migrations (plugin, name) values ($1, $2)", [source.name, m.name]);
    });
  }
  return placement;
}

/**
 * Runs `fn` inside `tx` as the plugin's role, with its schema first on the search path and, when given, a
 * statement timeout (enforced by a PostgreSQL server; PGlite accepts but cannot interrupt a statement).
 * With `last`, nothing else runs in `tx` after `fn`, so the settings are left to end with the transaction.
 */
export async function asPlugin<T>(
  tx: Sql,
  p: Placement,
  fn: () => Promise<T>,
  opts: { timeoutMs?: number; last?: boolean } = {},
): Promise<T> {
  const timeout = opts.timeoutMs ? `; set local statement_timeout = ${Math.round(opts.timeoutMs)}` : "";
  await tx.exec(`set local role ${p.role}; set local search_path = ${p.schema}, pg_catalog${timeout}`);
  const result = await fn();
  if (!opts.last) await tx.exec("reset role; reset search_path; reset statement_timeout");
  return result;
}

async function shortHash(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return [...digest.slice(0, 3)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
