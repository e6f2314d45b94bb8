import { PGlite } from "@electric-sql/pglite";
import type { Row, Sql, Store } from "./store.ts";
import type { WorkerReply, WorkerRequest } from "./_pglite_worker.ts";

/**
 * Postgres settings for the embedded database. Shared buffers at 32 MB rather than 128 MB: PGlite touches them
 * all at start, and in the runtime's process they count against its memory; pages beyond them stay in the OS's
 * file cache. The search path is pg_catalog alone: the host names its own tables (host.), so nothing it runs
 * resolves through a schema a plugin owns.
 */
const START_PARAMS = [...PGlite.defaultStartParams, "-c", "shared_buffers=32MB", "-c", "search_path=pg_catalog"];
const WORKER = new URL("./_pglite_worker.ts", import.meta.url).href;

/** A request to the worker, before it is given an id. */
type Request = WorkerRequest extends infer R ? R extends unknown ? Omit<R, "id"> : never : never;

/**
 * A freshly initialized data directory, dumped by the first in-memory database this process opens: the next ones load
 * it instead of running initdb, which takes seconds in WASM against about one to load (tests and the plugin test kit
 * open many). Null when that first open failed: the next ones run initdb.
 */
let memoryTemplate: Promise<Uint8Array | null> | undefined;

/** A statement of a plugin's that ran past its time limit: the database was stopped and opened again. */
export class StatementTimeout extends Error {
  /** PostgreSQL's code for a cancelled statement, as a server's `statement_timeout` answers. */
  readonly code = "57014";
}

/**
 * The embedded database in a worker of its own: one session, used by one transaction (or one statement) at a time.
 * A statement given a time limit that it runs past has the worker stopped and the database opened again from its
 * folder, as after a crash: that statement fails with {@linkcode StatementTimeout}, the others in flight with a lost
 * connection (the runtime's callers retry those). In memory (`memory://`) there is nothing to open again, so there a
 * statement past its limit fails its caller but runs to its end.
 */
class PgliteWorker {
  readonly #dataDir: string | null;
  #worker!: Worker;
  #ready!: Promise<void>;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #closed = false;

  constructor(dataDir: string | null) {
    this.#dataDir = dataDir;
    this.#start();
  }

  get ready(): Promise<void> {
    return this.#ready;
  }

  #start(): void {
    const worker = new Worker(WORKER, { type: "module" });
    this.#worker = worker;
    worker.onmessage = (e: MessageEvent<WorkerReply>) => {
      const reply = e.data;
      const call = this.#pending.get(reply.id);
      if (!call) return;
      this.#pending.delete(reply.id);
      if (reply.ok) call.resolve(reply.value);
      else call.reject(Object.assign(new Error(reply.error.message), reply.error));
    };
    worker.onerror = (e) => {
      e.preventDefault();
      this.#restart(`the embedded database's worker failed: ${e.message}`);
    };
    this.#ready = this.#open(worker);
  }

  async #open(worker: Worker): Promise<void> {
    const open = { op: "open", dataDir: this.#dataDir, startParams: START_PARAMS } as const;
    if (this.#dataDir !== null) {
      await this.#send(worker, open);
    } else if (memoryTemplate === undefined) {
      const dumped = this.#send(worker, { ...open, dump: true }) as Promise<Uint8Array>;
      memoryTemplate = dumped.catch(() => null);
      await dumped;
    } else {
      await this.#send(worker, { ...open, template: await memoryTemplate ?? undefined });
    }
  }

  #send(worker: Worker, request: Request): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id });
    });
  }

  /** Runs `request` once the database is open; with `timeoutMs`, stops the database if it runs past it. */
  async call(request: Request, timeoutMs?: number): Promise<unknown> {
    await this.#ready;
    if (this.#closed) throw lost("the embedded database is closed");
    const answer = this.#send(this.#worker, request);
    if (timeoutMs === undefined || this.#dataDir === null) return await answer;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new StatementTimeout(`canceling statement due to statement timeout (${timeoutMs} ms)`));
        this.#restart(`a statement ran past its time limit of ${timeoutMs} ms`);
      }, timeoutMs);
    });
    try {
      return await Promise.race([answer, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the worker, fails what was in flight as a lost connection, and opens the database again. */
  #restart(why: string): void {
    if (this.#closed) return;
    this.#worker.terminate();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of pending) call.reject(lost(`the embedded database was restarted: ${why}`));
    this.#start();
  }

  async close(): Promise<void> {
    await this.#ready.catch(() => {});
    if (this.#closed) return;
    await this.#send(this.#worker, { op: "close" }).catch(() => {});
    this.#closed = true;
    this.#worker.terminate();
  }
}

function lost(message: string): Error {
  return Object.assign(new Error(message), { code: "CONNECTION_CLOSED" });
}

/** Opens the embedded database in its own worker: persisted under `dataDir`, or in memory for `memory://`. */
export async function openPglite(dataDir: string): Promise<Store> {
  if (dataDir !== "memory://") await Deno.mkdir(dataDir, { recursive: true });
  const db = new PgliteWorker(dataDir === "memory://" ? null : dataDir);
  await db.ready;
  const sql: Sql = {
    async query<T extends Row>(text: string, params: unknown[] = [], opts?: { timeoutMs?: number }) {
      return await db.call({ op: "query", text, params }, opts?.timeoutMs) as T[];
    },
    async exec(text: string, opts?: { timeoutMs?: number }) {
      await db.call({ op: "exec", text }, opts?.timeoutMs);
    },
  };
  // One session: a transaction (or a statement outside one) has it to itself until it ends.
  let turn: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = turn.then(fn);
    turn = run.catch(() => {});
    return run;
  };
  return {
    kind: "pglite",
    query: (text, params, opts) => exclusive(() => sql.query(text, params, opts)),
    exec: (text, opts) => exclusive(() => sql.exec(text, opts)),
    transaction: (fn, opts) =>
      exclusive(async () => {
        let ended = false;
        // A `tx` kept past its transaction must not reach the next one.
        const open = () => {
          if (ended) throw new Error("the transaction has ended");
        };
        const tx: Sql = {
          query: (text, params, opts) => (open(), sql.query(text, params, opts)),
          exec: (text, opts) => (open(), sql.exec(text, opts)),
        };
        try {
          let result;
          try {
            await sql.exec(opts?.afterBegin ? `begin; ${opts.afterBegin}` : "begin");
            result = await fn(tx);
            const end = opts?.beforeCommit ? `${opts.beforeCommit}; commit` : "commit";
            await sql.exec(end, { timeoutMs: opts?.endTimeoutMs });
          } catch (e) {
            await sql.exec("rollback").catch(() => {});
            throw e;
          }
          return result;
        } finally {
          ended = true;
        }
      }),
    close: () => exclusive(() => db.close()),
  };
}
