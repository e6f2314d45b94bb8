/**
 * Row writes per event, by schema (the host's and each plugin's) and by table, from PostgreSQL's own counters: what
 * each event costs the database in rows inserted, updated and deleted.
 * @module
 */
import { openPostgres } from "../../runtime/store/mod.ts";

/** One schema's row writes per event, with its tables that write the most. */
export interface SchemaWrites {
  schema: string;
  perEvent: number;
  tables: { table: string; perEvent: number }[];
}

/**
 * Reads the row writes of `databaseUrl`'s tables and divides them by `events`. Call it after the runtime stopped:
 * a server session reports its counters when it ends (or when idle for a while), so they are complete only then.
 */
export async function rowWrites(databaseUrl: string, events: number): Promise<SchemaWrites[]> {
  const store = await openPostgres(databaseUrl, 1);
  try {
    const rows = await store.query<{ schema: string; table: string; writes: number }>(
      `select schemaname as schema, relname as table, n_tup_ins + n_tup_upd + n_tup_del as writes
       from pg_catalog.pg_stat_user_tables order by schemaname, relname`,
    );
    const bySchema = new Map<string, SchemaWrites>();
    for (const r of rows) {
      const perEvent = r.writes / events;
      if (perEvent === 0) continue;
      const s = bySchema.get(r.schema) ?? { schema: r.schema, perEvent: 0, tables: [] };
      s.perEvent += perEvent;
      s.tables.push({ table: r.table, perEvent: round2(perEvent) });
      bySchema.set(r.schema, s);
    }
    return [...bySchema.values()]
      .map((s) => ({ ...s, perEvent: round2(s.perEvent), tables: s.tables.sort((a, b) => b.perEvent - a.perEvent) }))
      .sort((a, b) => b.perEvent - a.perEvent);
  } finally {
    await store.close();
  }
}

/** The writes in words: "stats 4.1 (users 1.0, ...), ..." with each schema's three largest tables. */
export function describeWrites(writes: SchemaWrites[]): string {
  const total = round2(writes.reduce((n, s) => n + s.perEvent, 0));
  const parts = writes.map((s) =>
    `${s.schema} ${s.perEvent} (${s.tables.slice(0, 3).map((t) => `${t.table} ${t.perEvent}`).join(", ")})`
  );
  return `row writes per event ${total}: ${parts.join("; ")}`;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
