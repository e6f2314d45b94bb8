import postgres from "postgres";
import type { Row, Sql, Store } from "./store.ts";

const asNumber = (x: string) => Number(x);

/** Connects to a PostgreSQL server; int8 and numeric are parsed to numbers, as on PGlite. */
export async function openPostgres(url: string, maxConnections = 10): Promise<Store> {
  const pg = postgres(url, {
    max: maxConnections,
    onnotice: () => {},
    types: {
      int8: { to: 20, from: [20], serialize: String, parse: asNumber },
      numeric: { to: 1700, from: [1700], serialize: String, parse: asNumber },
    },
  });
  const wrap = (t: postgres.Sql | postgres.TransactionSql): Sql => ({
    async query<T extends Row>(text: string, params: unknown[] = []) {
      return [...await t.unsafe(text, params as postgres.ParameterOrJSON<never>[])] as unknown as T[];
    },
    async exec(text: string) {
      await t.unsafe(text);
    },
  });
  await pg.unsafe("select 1");
  return {
    kind: "postgres",
    ...wrap(pg),
    transaction: async (fn) => await pg.begin((tx) => fn(wrap(tx))) as Awaited<ReturnType<typeof fn>>,
    close: () => pg.end({ timeout: 5 }),
  };
}
