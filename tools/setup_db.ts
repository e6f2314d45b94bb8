/**
 * `deno task setup-db <role>`: run once, as a superuser, to let the runtime connect to PostgreSQL with the least
 * privilege it needs. `DATABASE_URL` is a superuser's URL of the runtime's database; the role is created (or
 * altered) with LOGIN and CREATEROLE only, made the database's owner, and every role of the database loses what a
 * plugin's role must not have (see `runtime/store/hardening.ts`). The password, if any, comes from `RUNTIME_DB_PASSWORD`.
 * Then start the runtime with `DATABASE_URL` naming that role.
 * @module
 */
import { openPostgres } from "../runtime/store/mod.ts";
import { setUpLeastPrivilege } from "../runtime/store/hardening.ts";
import { PLUGIN_NAME } from "../runtime/plugin/names.ts";

const USAGE = "usage: DATABASE_URL=postgres://<superuser>@<host>/<database> deno task setup-db <role>";

if (import.meta.main) {
  const [role, ...rest] = Deno.args;
  const url = Deno.env.get("DATABASE_URL");
  if (!role || rest.length > 0 || !url) {
    console.error(USAGE);
    Deno.exit(1);
  }
  if (!PLUGIN_NAME.test(role)) {
    console.error(`Cannot set up: the role name must match ${PLUGIN_NAME.source}, got '${role}'`);
    Deno.exit(1);
  }
  const store = await openPostgres(url, 1);
  try {
    const done = await store.transaction((tx) => setUpLeastPrivilege(tx, role, Deno.env.get("RUNTIME_DB_PASSWORD")));
    for (const statement of done) console.log(`${statement};`);
  } catch (e) {
    console.error(`Cannot set up: ${(e as Error).message}`);
    Deno.exitCode = 1;
  } finally {
    await store.close();
  }
}
