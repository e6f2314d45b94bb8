/**
 * What the database must deny every role (PUBLIC), so that a plugin's role can touch nothing but its own schema:
 * no temporary objects (they would shadow other tables for the rest of the session), no SQL or procedural language
 * (a function body is a string that can hide anything), and none of the functions below. The runtime applies this
 * when it connects as a superuser; for a least-privileged runtime user, a superuser applies it once with
 * `deno task setup-db` (see docs/operations.md, "Deploying with Kafka and PostgreSQL").
 * @module
 */
import type { Sql } from "./store.ts";

/**
 * Functions of pg_catalog that PUBLIC may call by default and no plugin may: changing settings (`set_config` can
 * switch roles inside one statement), advisory locks (a plugin holding the host's lock stalls every ingest), sleeping
 * (on PGlite it freezes the host), large objects (storage outside any schema, readable by every role), signalling
 * other backends, and writing to the WAL or the notification queue.
 */
const DENIED_FUNCTIONS = `(p.proname in ('set_config', 'pg_sleep', 'pg_sleep_for', 'pg_sleep_until', 'pg_notify',
    'pg_cancel_backend', 'pg_terminate_backend', 'pg_logical_emit_message', 'loread', 'lowrite', 'pg_read_file',
    'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file')
  or p.proname like 'pg\\_advisory\\_%' or p.proname like 'pg\\_try\\_advisory\\_%' or p.proname like 'lo\\_%')`;

/** The host's own lock function: revoked from PUBLIC, granted to a least-privileged runtime user. */
export const HOST_LOCK = "pg_catalog.pg_advisory_xact_lock(bigint)";

/** Each privilege PUBLIC still holds that a plugin's role must not have, as the statement that takes it away. */
export async function openPrivileges(sql: Sql): Promise<string[]> {
  const rows = await sql.query<{ revoke: string }>(
    `select 'revoke execute on function pg_catalog.' || p.oid::pg_catalog.regprocedure::text || ' from public' as revoke
     from pg_catalog.pg_proc p
     where p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace and ${DENIED_FUNCTIONS}
       and pg_catalog.has_function_privilege('public', p.oid, 'execute')
     union all
     select 'revoke usage on language ' || l.lanname || ' from public' from pg_catalog.pg_language l
     where l.lanname in ('sql', 'plpgsql') and pg_catalog.has_language_privilege('public', l.oid, 'usage')
     union all
     select 'revoke temporary on database ' || pg_catalog.quote_ident(pg_catalog.current_database()) || ' from public'
     where pg_catalog.has_database_privilege('public', pg_catalog.current_database(), 'temporary')
     union all
     select 'revoke create on schema public from public'
     where exists (select 1 from pg_catalog.pg_namespace where nspname = 'public')
       and pg_catalog.has_schema_privilege('public', 'public', 'create')
     order by 1`,
  );
  return rows.map((r) => r.revoke);
}

/** Whether the current user is a superuser. */
export async function isSuperuser(sql: Sql): Promise<boolean> {
  const [row] = await sql.query<{ su: boolean }>(
    "select rolsuper as su from pg_catalog.pg_roles where rolname = current_user",
  );
  return row.su;
}

/**
 * Takes from PUBLIC what a plugin's role must not have, as far as the current user may (a superuser all of it; the
 * database's owner its temporary tables and the public schema), and answers what is still open.
 */
export async function harden(sql: Sql): Promise<string[]> {
  const superuser = await isSuperuser(sql);
  const [{ owner }] = await sql.query<{ owner: boolean }>(
    `select pg_catalog.pg_has_role(d.datdba, 'usage') as owner from pg_catalog.pg_database d
     where d.datname = pg_catalog.current_database()`,
  );
  for (const revoke of await openPrivileges(sql)) {
    if (superuser || (owner && /^revoke (temporary|create on schema)/.test(revoke))) await sql.exec(revoke);
  }
  return await openPrivileges(sql);
}

/**
 * Makes the current database ready for a least-privileged runtime user `role`, as a superuser: the role (login,
 * CREATEROLE, nothing more; created if missing, with `password` when given), owning the database, PUBLIC hardened,
 * and the host's lock function and `plpgsql` (for its trigger functions) granted back to it. Answers the statements it ran, passwords masked.
 */
export async function setUpLeastPrivilege(sql: Sql, role: string, password?: string): Promise<string[]> {
  if (!await isSuperuser(sql)) throw new Error("setting up the database needs a superuser's connection");
  const done: string[] = [];
  const run = async (statement: string, shown = statement) => {
    await sql.exec(statement);
    done.push(shown);
  };
  const name = quoteIdent(role);
  const [exists] = await sql.query("select 1 from pg_catalog.pg_roles where rolname = $1", [role]);
  // NOINHERIT: it is a member of every plugin's role (to act as one with SET ROLE), not a holder of their privileges.
  const attributes = "login createrole noinherit nosuperuser nocreatedb noreplication nobypassrls";
  const secret = password === undefined ? "" : ` password ${quoteLiteral(password)}`;
  const masked = password === undefined ? "" : " password '…'";
  await run(
    `${exists ? "alter" : "create"} role ${name} ${attributes}${secret}`,
    `… role ${name} ${attributes}${masked}`,
  );
  const [{ db }] = await sql.query<{ db: string }>("select pg_catalog.current_database() as db");
  await run(`alter database ${quoteIdent(db)} owner to ${name}`);
  for (const revoke of await openPrivileges(sql)) await run(revoke);
  await run(`grant execute on function ${HOST_LOCK} to ${name}`);
  // For the host's own trigger functions (store/schema.ts); plugin roles are not members of the runtime's role.
  await run(`grant usage on language plpgsql to ${name}`);
  done[0] = done[0].replace("…", exists ? "alter" : "create");
  return done;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
