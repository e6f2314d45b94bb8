import { ALL_PARTITIONS } from "../core/partitions.ts";
import type { Store } from "../store/mod.ts";
import type { PluginSource } from "./discover.ts";
import { ident, type Placement, PluginScope } from "./scope.ts";
import { splitStatements } from "./sql_guard.ts";

export type { Placement } from "./scope.ts";

/** Role attributes a plugin's role never has; the host takes them away if it finds one. */
const NO_ATTRIBUTES = "nologin nosuperuser nocreatedb nocreaterole noinherit noreplication nobypassrls";

/**
 * Gives a plugin its own schema and its own role (no login, no attributes, member of no role, owner of the schema
 * and nothing else), then applies its migrations not yet applied, in file-name order, each in its own transaction,
 * statement by statement, as that role (see {@linkcode PluginScope}). Role names carry a hash of the database name:
 * roles are cluster-wide, schemas are not. Refuses a plugin named like an existing role: its schema would be on that
 * role's default search path (`"$user", public`).
 */
export async function provision(
  store: Store,
  source: PluginSource,
  version: string,
  opts: { timeoutMs: number; tripwire?: boolean },
): Promise<Placement> {
  const schema = source.name;
  const placement = await store.transaction(async (tx) => {
    await tx.query("select pg_catalog.pg_advisory_xact_lock(727003)");
    const [{ db, su }] = await tx.query<{ db: string; su: boolean }>(
      `select pg_catalog.current_database() as db,
              (select rolsuper from pg_catalog.pg_roles where rolname = current_user) as su`,
    );
    const [named] = await tx.query("select 1 from pg_catalog.pg_roles where rolname = $1", [source.name]);
    if (named) {
      throw new Error(`'${source.name}' is reserved: a database role has that name (a plugin is named as its schema)`);
    }
    const role = `${source.name}_plugin_${await shortHash(db)}`;
    const [existing] = await tx.query<{ special: boolean; member: boolean }>(
      `select r.rolsuper or r.rolcreatedb or r.rolcreaterole or r.rolreplication or r.rolbypassrls or r.rolcanlogin
                or r.rolinherit as special,
              exists (select 1 from pg_catalog.pg_auth_members m where m.member = r.oid) as member
       from pg_catalog.pg_roles r where r.rolname = $1`,
      [role],
    );
    if (!existing) await tx.exec(`create role ${ident(role)} ${NO_ATTRIBUTES}`);
    else if (existing.special || existing.member) {
      if (!su) {
        throw new Error(
          `the role ${role} has attributes or memberships a plugin's role never has, and only a superuser can take ` +
            `them away: as a superuser, drop the role (drop owned by ${role}; drop role ${role}) or alter it`,
        );
      }
      await tx.exec(`alter role ${ident(role)} ${NO_ATTRIBUTES}`);
      const groups = await tx.query<{ name: string }>(
        `select g.rolname as name from pg_catalog.pg_auth_members m
           join pg_catalog.pg_roles g on g.oid = m.roleid join pg_catalog.pg_roles r on r.oid = m.member
         where r.rolname = $1`,
        [role],
      );
      for (const g of groups) await tx.exec(`revoke ${ident(g.name)} from ${ident(role)}`);
    }
    if (!su) await tx.exec(`grant ${ident(role)} to current_user`);
    await tx.exec(`create schema if not exists ${ident(schema)} authorization ${ident(role)}`);
    await tx.query(
      `insert into host.plugins (name, version, role) values ($1, $2, $3)
       on conflict (name) do update set version = excluded.version, role = excluded.role, loaded_at = now()`,
      [source.name, version, role],
    );
    await tx.query(
      `insert into host.checkpoints (plugin, source, part, committed)
       select $1, 'log', part, 0 from unnest($2::int[]) as part on conflict do nothing`,
      [source.name, ALL_PARTITIONS],
    );
    return { role, schema };
  });
  for (const m of source.migrations) {
    const statements = splitStatements(m.sql);
    await store.transaction(async (tx) => {
      await tx.query("select pg_catalog.pg_advisory_xact_lock(727003)");
      const [done] = await tx.query("select 1 from host.migrations where plugin = $1 and name = $2", [
        source.name,
        m.name,
      ]);
      if (done) return;
      // Recorded first: its deferred trigger fails any COMMIT a statement of the file sends (see store/schema.ts).
      await tx.query("insert into host.migrations (plugin, name) values ($1, $2)", [source.name, m.name]);
      try {
        const scope = await PluginScope.enter(tx, placement, opts);
        for (const s of statements) await scope.run(s);
        await scope.close();
      } catch (e) {
        throw new Error(`migration ${m.name} failed: ${(e as Error).message}`);
      }
    });
  }
  return placement;
}

async function shortHash(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return [...digest.slice(0, 3)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
