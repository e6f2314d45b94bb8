/**
 * The embedded database's thread: PGlite runs here, off the runtime's own thread, so that a long statement holds
 * only the database, and the runtime can stop this worker (and open the database again) when a plugin's statement
 * runs past its time limit. Messages: `{ id, op: "open" | "query" | "exec" | "close", ... }` in, `{ id, ok, value }`
 * or `{ id, ok: false, error }` out.
 */
import { PGlite, types } from "@electric-sql/pglite";

/** What the runtime asks of the worker. */
export type WorkerRequest =
  /**
   * Opens the database. In memory, from `template` when given (a dumped data directory, rather than initdb), and
   * answering its own freshly initialized data directory, dumped, when `dump` is set.
   */
  | { id: number; op: "open"; dataDir: string | null; startParams: string[]; template?: Uint8Array; dump?: boolean }
  | { id: number; op: "query"; text: string; params: unknown[] }
  | { id: number; op: "exec"; text: string }
  | { id: number; op: "close" };

/** What the worker answers: a value, or the error's message and PostgreSQL fields. */
export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: Record<string, unknown> & { message: string } };

const parsers = { [types.INT8]: Number, [types.NUMERIC]: Number };
let db: PGlite | null = null;

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.op) {
    case "open": {
      // PGlite reads the dump through `arrayBuffer()` alone. A Blob would be kept by Deno's process-wide blob store after
      // this worker ends (about 40 MB per open, never freed), so it gets the bytes it asks for, not a Blob.
      const template = request.template;
      const loadDataDir = template
        ? { type: "application/x-tar", arrayBuffer: () => Promise.resolve(template.buffer) } as unknown as Blob
        : undefined;
      db = await PGlite.create(request.dataDir ?? undefined, {
        parsers,
        startParams: request.startParams,
        loadDataDir,
      });
      return request.dump ? new Uint8Array(await (await db.dumpDataDir("none")).arrayBuffer()) : null;
    }
    case "query":
      return (await db!.query(request.text, request.params)).rows;
    case "exec":
      await db!.exec(request.text);
      return null;
    case "close":
      await db?.close();
      db = null;
      return null;
  }
}

const scope = self as unknown as {
  onmessage: (e: MessageEvent<WorkerRequest>) => void;
  postMessage: (reply: WorkerReply) => void;
};
scope.onmessage = (e) => {
  const request = e.data;
  handle(request).then(
    (value) => scope.postMessage({ id: request.id, ok: true, value }),
    (err) => {
      const fields = Object.fromEntries(
        Object.entries(err ?? {}).filter(([, v]) => v === null || typeof v !== "object" && typeof v !== "function"),
      );
      scope.postMessage({ id: request.id, ok: false, error: { ...fields, message: String(err?.message ?? err) } });
    },
  );
};
