import postgres from "postgres";
import type { Row, Sql, Store } from "./store.ts";

const asNumber = (x: string) => Number(x);
const asText = (x: string) => x;
const asDate = (x: string) => new Date(x);
const asJsonText = (x: unknown) => typeof x === "string" ? x : JSON.stringify(x);

/**
 * Array types parsed by the runtime, not postgres.js (whose array parser reads a NULL element as the
 * string "NULL"): array oid → element parser, as PGlite parses them.
 */
const ARRAYS: Record<number, (x: string) => unknown> = {
  1000: (x) => x === "t", // bool[]
  1005: asNumber, // int2[]
  1007: asNumber, // int4[]
  1016: asNumber, // int8[]
  1021: asNumber, // float4[]
  1022: asNumber, // float8[]
  1231: asNumber, // numeric[]
  1009: asText, // text[]
  1015: asText, // varchar[]
  1014: asText, // bpchar[]
  2951: asText, // uuid[]
  1115: asDate, // timestamp[]
  1185: asDate, // timestamptz[]
  1182: asDate, // date[]
  199: JSON.parse, // json[]
  3807: JSON.parse, // jsonb[]
};

/** Connects to a PostgreSQL server; int8 and numeric are parsed to numbers, as on PGlite. */
export async function openPostgres(url: string, maxConnections = 10): Promise<Store> {
  const pg = postgres(url, {
    max: maxConnections,
    onnotice: () => {},
    // The host names everything it uses with its schema (host., pg_catalog.): nothing resolves through a schema a
    // plugin owns, even one named like the database user ("$user" in the default search path).
    connection: { search_path: "pg_catalog" },
    // Reconnect within a second once the server is back (the default backs off to 20 s, and while it waits each
    // query waits too).
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    types: {
      int8: { to: 20, from: [20], serialize: String, parse: asNumber },
      numeric: { to: 1700, from: [1700], serialize: String, parse: asNumber },
      // As on PGlite, a string is taken as JSON text; postgres.js would encode it again as a JSON string.
      json: { to: 114, from: [114], serialize: asJsonText, parse: JSON.parse },
      jsonb: { to: 3802, from: [3802], serialize: asJsonText, parse: JSON.parse },
      ...Object.fromEntries(
        Object.entries(ARRAYS).map(([oid, element]) => [
          `array_${oid}`,
          {
            to: Number(oid),
            from: [Number(oid)],
            serialize: (x: unknown) => typeof x === "string" ? x : arrayLiteral(x as unknown[]),
            parse: (x: string) => parseArray(x, element),
          },
        ]),
      ),
    },
  });
  const wrap = (t: postgres.Sql | postgres.TransactionSql): Sql => ({
    async query<T extends Row>(text: string, params: unknown[] = []) {
      const values = params.map((p) => Array.isArray(p) ? arrayLiteral(p) : p);
      // Always the extended protocol (postgres.js takes the simple one for a query without parameters): one
      // statement, never a script.
      const rows: unknown = await t.unsafe(
        text,
        values as postgres.ParameterOrJSON<never>[],
        { simple: false } as never,
      );
      if (!Array.isArray(rows)) {
        // COPY with the client: postgres.js answers a stream and the connection waits on it. Ending it at once (no
        // rows in, the rows out drained) lets the COPY finish and the connection answer queries again.
        const stream = rows as { end?: () => void; resume?: () => void; on?: (e: string, f: () => void) => void };
        stream.on?.("error", () => {});
        if (typeof stream.end === "function") stream.end();
        else stream.resume?.();
        throw new Error("COPY with the client is not supported: a statement answers rows");
      }
      return [...rows] as T[];
    },
    async exec(text: string) {
      await t.unsafe(text);
    },
  });
  await pg.unsafe("select 1");
  return {
    kind: "postgres",
    ...wrap(pg),
    transaction: (fn) => guardedTransaction(pg, wrap, fn),
    close: () => pg.end({ timeout: 5 }),
  };
}

/**
 * Runs `fn` in a transaction that writes nothing more to its connection once the connection is lost. postgres.js
 * 3.4.9 would write its ROLLBACK (or COMMIT, or the next statement) to the lost connection from a `setImmediate`,
 * where the TypeError it meets cannot be caught and ends the process (porsager/postgres#1208). Its `begin` rejects
 * by itself when the connection closes, so the callback is left waiting instead.
 */
async function guardedTransaction<T>(
  pg: postgres.Sql,
  wrap: (t: postgres.TransactionSql) => Sql,
  fn: (tx: Sql) => Promise<T>,
): Promise<T> {
  let lost = false;
  const never = new Promise<never>(() => {});
  const guard = async <R>(run: () => Promise<R>): Promise<R> => {
    if (lost) throw new Error("the database connection was lost during the transaction");
    try {
      return await run();
    } catch (e) {
      if (isConnectionLost(e)) lost = true;
      throw e;
    }
  };
  const begun = pg.begin(async (t) => {
    const sql = wrap(t);
    const tx: Sql = {
      query: <R extends Row>(text: string, params?: unknown[]) => guard(() => sql.query<R>(text, params)),
      exec: (text: string) => guard(() => sql.exec(text)),
    };
    let result: T;
    try {
      result = await fn(tx);
    } catch (e) {
      if (lost) return await never;
      throw e;
    }
    if (lost) return await never;
    return result;
  });
  begun.catch(() => {
    lost = true;
  });
  return await begun as T;
}

/** Whether `e` means a database connection is gone: closed by either side, or its server shutting down. */
export function isConnectionLost(e: unknown): boolean {
  const { code, severity } = (e ?? {}) as { code?: unknown; severity?: unknown };
  if (severity === "FATAL" || severity === "PANIC") return true;
  if (typeof code !== "string") return false;
  // postgres.js' CONNECTION_CLOSED and the like, socket errors (ECONNRESET, EPIPE), SQLSTATE 08xxx and 57P0x.
  return code.startsWith("CONNECT") || /^E[A-Z]+$/.test(code) || code.startsWith("08") || code.startsWith("57P");
}

/**
 * A JS array as a Postgres array literal (`{"a",NULL,"b"}`), for the query's cast (`$1::text[]`) to parse:
 * postgres.js infers array types from their first element, which fails for booleans and mixed nulls;
 * PGlite takes arrays as they are.
 */
export function arrayLiteral(values: unknown[]): string {
  const element = (v: unknown): string => {
    if (v === null || v === undefined) return "NULL";
    if (Array.isArray(v)) return arrayLiteral(v);
    if (typeof v === "boolean") return v ? "t" : "f";
    const text = v instanceof Date ? v.toISOString() : typeof v === "object" ? JSON.stringify(v) : String(v);
    return `"${text.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
  };
  return `{${values.map(element).join(",")}}`;
}

/** Parses a Postgres array literal (`{a,"b c",NULL,{1,2}}`), elements through `element`; NULL is null. */
export function parseArray(text: string, element: (x: string) => unknown): unknown[] {
  let i = 0;
  const parse = (): unknown[] => {
    const out: unknown[] = [];
    i++; // "{"
    while (i < text.length && text[i] !== "}") {
      if (text[i] === "{") out.push(parse());
      else if (text[i] === '"') {
        let value = "";
        for (i++; text[i] !== '"'; i++) value += text[i] === "\\" ? text[++i] : text[i];
        i++;
        out.push(element(value));
      } else {
        const start = i;
        while (text[i] !== "," && text[i] !== "}") i++;
        const raw = text.slice(start, i);
        out.push(raw === "NULL" ? null : element(raw));
      }
      if (text[i] === ",") i++;
    }
    i++; // "}"
    return out;
  };
  // A lower bound prefix ("[0:1]={...}") is dropped: arrays here start at 1.
  const brace = text.indexOf("{");
  i = brace;
  return brace < 0 ? [] : parse();
}
