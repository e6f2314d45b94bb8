import { PGlite, types } from "@electric-sql/pglite";
import type { Row, Sql, Store } from "./store.ts";

const parsers = { [types.INT8]: Number, [types.NUMERIC]: Number };

/**
 * Postgres settings for the embedded database. Shared buffers at 32 MB rather than 128 MB: PGlite touches them
 * all at start, and in the runtime's process they count against its memory; pages beyond them stay in the OS's
 * file cache. The search path is pg_catalog alone: the host names its own tables (host.), so nothing it runs
 * resolves through a schema a plugin owns.
 */
const START_PARAMS = [...PGlite.defaultStartParams, "-c", "shared_buffers=32MB", "-c", "search_path=pg_catalog"];

/** Opens the embedded database: persisted under `dataDir`, or in memory for `memory://`. */
export async function openPglite(dataDir: string): Promise<Store> {
  if (dataDir !== "memory://") await Deno.mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir === "memory://" ? undefined : dataDir, { parsers, startParams: START_PARAMS });
  const wrap = (t: Pick<PGlite, "query" | "exec">): Sql => ({
    async query<T extends Row>(text: string, params?: unknown[]) {
      return (await t.query<T>(text, params)).rows;
    },
    async exec(text: string) {
      await t.exec(text);
    },
  });
  return {
    kind: "pglite",
    ...wrap(db),
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    close: () => db.close(),
  };
}
