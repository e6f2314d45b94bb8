/**
 * The store: one small SQL interface over embedded PGlite and a PostgreSQL server, and the host's tables.
 * @module
 */
import { openPglite } from "./pglite.ts";
import { isConnectionLost, openPostgres } from "./postgres.ts";
import type { Store } from "./store.ts";

export type { Row, Sql, Store, TransactionOptions } from "./store.ts";
export { migrateHost } from "./schema.ts";
export { isConnectionLost, openPglite, openPostgres };

/** Opens the server database when `databaseUrl` is set, else the embedded one under `dataDir`. */
export function openStore(opts: { databaseUrl?: string; dataDir: string }): Promise<Store> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl) : openPglite(opts.dataDir);
}
