import { EventEmitter } from "node:events";
import postgres from "postgres";
import type { Row, Sql, Store, TransactionOptions } from "./store.ts";

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
  1003: asText, // name[]
  1002: asText, // char[]
  1028: asNumber, // oid[]
  1015: asText, // varchar[]
  1014: asText, // bpchar[]
  2951: asText, // uuid[]
  1115: asDate, // timestamp[]
  1185: asDate, // timestamptz[]
  1182: asDate, // date[]
  199: JSON.parse, // json[]
  3807: JSON.parse, // jsonb[]
};

/**
 * Connects to a PostgreSQL server; int8 and numeric are parsed to numbers, as on PGlite. Transactions (all of the
 * plugins' SQL, and the host's writes) run on up to `maxConnections` connections of their own (see `Lane`); queries
 * outside a transaction (the host's reads) share a pool of half as many.
 */
export async function openPostgres(url: string, maxConnections = 10): Promise<Store> {
  const pg = postgres(url, clientOptions(Math.max(1, Math.ceil(maxConnections / 2))));
  await pg.unsafe("select 1");
  const lanes = new Lanes(url, maxConnections);
  return {
    kind: "postgres",
    ...wrap(pg),
    transaction: (fn, opts) => lanes.transaction(fn, opts),
    close: async () => {
      await Promise.all([pg.end({ timeout: 5 }), lanes.close()]);
    },
  };
}

function clientOptions(max: number, onclose?: () => void) {
  return {
    max,
    onnotice: () => {},
    ...(onclose ? { onclose } : {}),
    // A connection lives until it is lost or closed here: postgres.js' default lifetime (30 to 60 minutes) would end
    // one between two statements of a transaction, and run the next on a new session outside it.
    max_lifetime: null,
    // No lookup of array types at connect: the runtime parses the arrays it knows (below), and a connection lost
    // during that lookup rejects a promise no one holds, which ends the process.
    fetch_types: false,
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
  };
}

function wrap(t: postgres.Sql): Sql {
  return {
    async query<T extends Row>(text: string, params: unknown[] = []) {
      const values = params.map((p) => Array.isArray(p) ? arrayLiteral(p) : p);
      // Always the extended protocol (postgres.js takes the simple one for a query without parameters): one
      // statement, never a script.
      const pending = t.unsafe(text, values as postgres.ParameterOrJSON<never>[], { simple: false } as never);
      listenFromTheStart(pending as unknown as { resolve: (x: unknown) => void });
      const rows: unknown = await pending;
      if (!Array.isArray(rows)) {
        // COPY with the client: postgres.js answers a stream, and the connection waits on it.
        const stream = rows as { readable?: boolean; resume?: () => void; destroy?: (e: Error) => void };
        if (stream.readable) {
          stream.resume?.(); // rows out: drained, the COPY ends and the connection answers queries again
          throw new CopyWithClient();
        }
        // Rows in: a COPY from the client sent with the extended protocol leaves the server waiting for a Sync that
        // postgres.js will not send, so the connection cannot be used again. It is failed here and closed by its
        // owner (see `Lane`).
        stream.destroy?.(new CopyWithClient());
        throw new CopyWithClient(true);
      }
      return [...rows] as T[];
    },
    async exec(text: string) {
      await t.unsafe(text);
    },
  };
}

/**
 * Makes a COPY's stream listen for errors from the moment postgres.js answers it. postgres.js destroys that stream
 * with the statement's error (a COPY TO STDOUT failing halfway, a statement timeout), and Node streams emit the error
 * on the next tick, before an `await` resumes: unheard, it would end the process. The statement fails all the same
 * (`wrap` answers an error for every COPY). Reaches into postgres.js 3.4.9's `Query.resolve`, pinned in deno.json.
 */
function listenFromTheStart(query: { resolve: (x: unknown) => void }): void {
  const resolve = query.resolve;
  query.resolve = (x) => {
    if (x instanceof EventEmitter) x.on("error", () => {}); // a COPY's stream; rows are an array
    resolve(x);
  };
}

/**
 * A connection for transactions, as a client of one connection (postgres.js allows BEGIN and COMMIT of one's own
 * only there), with one statement in flight at a time. Not postgres.js' `begin()` or `reserve()`:
 * - `begin()` gives its connection back to the pool as soon as the server reports no open transaction, so a
 *   statement that ends the transaction early (a plugin's COMMIT, even a failed one) sends the rest of the
 *   transaction, the host's own ROLLBACK included, to a connection in other hands;
 * - neither tells when its connection is lost. A statement written to a lost connection can fail where nothing can
 *   catch it and end the process (porsager/postgres#1208), or never settle (written between the socket's error and
 *   its close); one queued while the connection was being lost would run later on a new session, outside the
 *   transaction. The client's `onclose` tells: from then on the lane sends nothing more in its transaction, and the
 *   statement in flight fails.
 */
class Lane {
  readonly pg: postgres.Sql;
  readonly sql: Sql;
  /** Whether its connection was lost: the lane is then closed, not used again. */
  lost = false;
  /** Why the connection cannot be used again (it is then closed, not given back). */
  broken?: Error;
  #abandon?: (e: Error) => void;
  #turn: Promise<unknown> = Promise.resolve();

  constructor(url: string) {
    this.pg = postgres(url, clientOptions(1, () => this.#closed()));
    this.sql = wrap(this.pg);
  }

  /** Runs `run` once the statement before it settled, unless the connection is lost. */
  send<R>(run: (sql: Sql) => Promise<R>): Promise<R> {
    const result = this.#turn.then(() => this.#send(run));
    this.#turn = result.catch(() => {});
    return result;
  }

  async #send<R>(run: (sql: Sql) => Promise<R>): Promise<R> {
    if (this.lost) throw connectionLost();
    if (this.broken) throw this.broken;
    const abandoned = new Promise<never>((_, reject) => this.#abandon = reject);
    try {
      return await Promise.race([run(this.sql), abandoned]);
    } catch (e) {
      // The socket's error comes before the client sees it close: nothing more is written to it either way.
      if (isConnectionLost(e)) this.lost = true;
      if (e instanceof CopyWithClient && e.breaks) this.broken = e;
      throw e;
    } finally {
      this.#abandon = undefined;
    }
  }

  #closed(): void {
    this.lost = true;
    this.#abandon?.(connectionLost());
  }
}

/** Up to `max` lanes, made when first needed; a transaction waits for a free one. */
class Lanes {
  #all = new Set<Lane>();
  #free: Lane[] = [];
  #waiting: ((lane: Lane | null) => void)[] = [];
  #closed = false;

  constructor(readonly url: string, readonly max: number) {}

  async transaction<T>(fn: (tx: Sql) => Promise<T>, opts?: TransactionOptions): Promise<T> {
    const lane = await this.#take();
    let ended = false;
    const send = <R>(run: (sql: Sql) => Promise<R>): Promise<R> => {
      // A `tx` kept past its transaction must not reach the lane's next one.
      if (ended) return Promise.reject(new Error("the transaction has ended"));
      return lane.send(run);
    };
    const tx: Sql = {
      query: (text, params, opts) => send((sql) => sql.query(text, params, opts)),
      exec: (text, opts) => send((sql) => sql.exec(text, opts)),
    };
    try {
      await tx.exec(opts?.afterBegin ? `begin; ${opts.afterBegin}` : "begin");
      const result = await fn(tx);
      await tx.exec(opts?.beforeCommit ? `${opts.beforeCommit}; commit` : "commit");
      return result;
    } catch (e) {
      // A lost connection's transaction ended on the server. Otherwise roll back (outside a transaction, as after a
      // plugin's COMMIT, that only warns).
      if (!lane.lost && !lane.broken) await rollBack(lane);
      throw e;
    } finally {
      ended = true;
      // A connection that was lost (its socket may still be closing), or cannot roll back, is not used again.
      if (lane.lost || lane.broken || this.#closed) this.#drop(lane);
      else this.#give(lane);
    }
  }

  /** Ends the free lanes, and the others as their transactions end; transactions not yet begun fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const free = this.#free;
    this.#free = [];
    for (const waiter of this.#waiting.splice(0)) waiter(null);
    await Promise.all(free.map((lane) => {
      this.#all.delete(lane);
      return lane.pg.end({ timeout: 5 });
    }));
  }

  async #take(): Promise<Lane> {
    const lane = await this.#next();
    if (!lane) throw Object.assign(new Error("the database is closed"), { code: "CONNECTION_ENDED" });
    return lane;
  }

  #next(): Promise<Lane | null> {
    if (this.#closed) return Promise.resolve(null);
    let free = this.#free.pop();
    while (free?.lost) { // closed while it waited
      this.#retire(free);
      free = this.#free.pop();
    }
    if (free) return Promise.resolve(free);
    if (this.#all.size < this.max) return Promise.resolve(this.#make());
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #make(): Lane {
    const lane = new Lane(this.url);
    this.#all.add(lane);
    return lane;
  }

  #retire(lane: Lane): void {
    this.#all.delete(lane);
    lane.pg.end({ timeout: 0 }).catch(() => {}); // its connection is gone or unusable: nothing to wait for
  }

  #give(lane: Lane): void {
    const next = this.#waiting.shift();
    if (next) next(lane);
    else this.#free.push(lane);
  }

  #drop(lane: Lane): void {
    this.#retire(lane);
    const next = this.#waiting.shift();
    if (next) next(this.#closed ? null : this.#make());
  }
}

/** Rolls back `lane`'s transaction; a rollback that fails or takes over 5 s marks the lane broken. */
async function rollBack(lane: Lane): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("the connection did not answer a ROLLBACK within 5 s")), 5_000);
  });
  try {
    await Promise.race([lane.send((sql) => sql.exec("rollback")), late]);
  } catch (e) {
    lane.broken ??= e as Error;
  } finally {
    clearTimeout(timer);
  }
}

/** A COPY to or from the client, which the runtime does not use; `breaks` when it leaves its connection unusable. */
class CopyWithClient extends Error {
  constructor(readonly breaks = false) {
    super("COPY with the client is not supported: a statement answers rows");
  }
}

/** The error of a statement that cannot be sent: its transaction's connection is gone. */
function connectionLost(): Error {
  return Object.assign(new Error("the database connection was lost during the transaction"), {
    code: "CONNECTION_CLOSED",
  });
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
