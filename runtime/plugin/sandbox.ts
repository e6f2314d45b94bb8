import type { Logger } from "../observability/logger.ts";
import { CONFIG, sandboxEntry } from "./confine.ts";
import {
  type ChildMessage,
  type HostMessage,
  lineWriter,
  MAX_MESSAGE,
  queueCallLine,
  readMessages,
} from "./protocol.ts";

const MAX_LOG_LINE = 2000;
/** Every permission Deno has, each denied to the sandbox from its start. */
const DENIED = ["read", "write", "net", "env", "run", "ffi", "sys", "import"].map((p) => `--deny-${p}`);

/** Runs SQL for the sandbox while it serves one call. */
export type SqlHandler = (text: string, params: unknown[]) => Promise<unknown[]>;

/** Takes a `notice` message the sandbox sent during one call: untrusted, checked by the handler. */
export type NoticeHandler = (message: unknown) => void;

/** How one call runs: its time limit, and who serves its SQL and takes its notices (none: they are refused). */
export interface CallOptions {
  timeoutMs: number;
  onSql?: SqlHandler;
  onNotice?: NoticeHandler;
}

/** Where and how to start a plugin's sandbox. */
export interface SandboxOptions {
  name: string;
  modPath: string;
  memoryMb: number;
  /** The sandbox's whole environment (see `sandboxEnv()`). */
  env: Record<string, string>;
  log: Logger;
  onMetric?: (name: string, by: number) => void;
}

type Call = Extract<HostMessage, { kind: "call" }>;
type CallBody<C> = C extends unknown ? Omit<C, "kind" | "id"> : never;

/**
 * A plugin call that failed. `fatal` when the sandbox was stopped or died during it; `collateral` when it
 * was stopped because of another call (that call's time limit), not this one.
 */
export class PluginError extends Error {
  constructor(readonly plugin: string, message: string, readonly fatal = false, readonly collateral = false) {
    super(`plugin ${plugin}: ${message}`);
  }
}

/**
 * One plugin's sandbox: a `deno run` process with every permission denied from its start and an empty environment,
 * a V8 heap cap, and a time limit per call enforced by killing it.
 */
export class Sandbox {
  readonly #opts: SandboxOptions;
  readonly #child: Deno.ChildProcess;
  readonly #write: (line: string) => Promise<void>;
  readonly #calls = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; onSql?: SqlHandler; onNotice?: NoticeHandler }
  >();
  #nextId = 1;
  /** What the process last said on stderr: its last `error:` line (Deno's uncaught errors), else its last line. */
  #lastWords = "";
  #exitReason: string | undefined;
  #culprit: number | undefined;
  /** Resolves when the process has exited and its output is drained. */
  readonly closed: Promise<void>;

  constructor(opts: SandboxOptions) {
    this.#opts = opts;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        ...DENIED,
        // npm packages only from the cache, and the lockfile untouched: an import() cannot fetch from the
        // registry or write to deno.lock (the host caches deno.json's packages when it starts).
        "--cached-only",
        "--frozen",
        `--config=${CONFIG}`,
        // A 4 MB young generation: batches make short-lived garbage, and V8's default keeps up to 48 MB of it.
        `--v8-flags=--max-old-space-size=${opts.memoryMb},--max-semi-space-size=4`,
        sandboxEntry(opts.modPath),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env: opts.env,
    }).spawn();
    this.#write = lineWriter(this.#child.stdin);
    this.closed = Promise.all([this.#readMessages(), this.#readStderr(), this.#child.status]).then(([, , status]) => {
      const why = this.#exitReason ??
        `sandbox exited (${status.signal ? `signal ${status.signal}` : `code ${status.code}`})` +
          (this.#lastWords ? `: ${this.#lastWords}` : "");
      this.#exitReason = why;
      for (const [id, call] of this.#calls) {
        const collateral = this.#culprit !== undefined && id !== this.#culprit;
        call.reject(
          new PluginError(opts.name, collateral ? `sandbox stopped for another call: ${why}` : why, true, collateral),
        );
      }
      this.#calls.clear();
    });
  }

  /** The sandbox process's id (its memory is watched through it). */
  get pid(): number {
    return this.#child.pid;
  }

  /** Whether the process is still serving. */
  get alive(): boolean {
    return this.#exitReason === undefined;
  }

  /** Calls the sandbox; rejects with {@linkcode PluginError} on failure, and stops it after `timeoutMs`. */
  call(body: CallBody<Call>, opts: CallOptions): Promise<unknown> {
    return this.#call((id) => JSON.stringify({ kind: "call", id, ...body }), body.op, opts);
  }

  /** Calls the plugin's `queue` with events in JSON text (see {@linkcode queueCallLine}); as {@linkcode call}. */
  queue(events: string[], watermark: string | null, opts: CallOptions & { onSql: SqlHandler }): Promise<unknown> {
    return this.#call((id) => queueCallLine(id, watermark, events), "queue", opts);
  }

  #call(line: (id: number) => string, op: string, opts: CallOptions): Promise<unknown> {
    if (!this.alive) return Promise.reject(new PluginError(this.#opts.name, this.#exitReason!, true));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.kill(`${op} exceeded the ${opts.timeoutMs} ms time limit`, id);
      }, opts.timeoutMs);
      const done = <T>(f: (v: T) => void) => (v: T) => {
        clearTimeout(timer);
        this.#calls.delete(id);
        f(v);
      };
      this.#calls.set(id, { resolve: done(resolve), reject: done(reject), onSql: opts.onSql, onNotice: opts.onNotice });
      this.#write(line(id)).catch(() => {}); // a dead pipe surfaces via `closed`
    });
  }

  #send(message: HostMessage): Promise<void> {
    return this.#write(JSON.stringify(message));
  }

  /** Stops the process; pending calls reject with `reason` (as collateral, but for the `culprit` call). */
  kill(reason: string, culprit?: number): void {
    if (!this.alive) return;
    this.#exitReason = reason;
    this.#culprit = culprit;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }

  async #readMessages(): Promise<void> {
    try {
      for await (const msg of readMessages<ChildMessage>(this.#child.stdout)) this.#onMessage(msg);
    } catch (e) {
      this.kill(`sandbox broke the protocol: ${(e as Error).message}`);
    }
  }

  #onMessage(msg: ChildMessage): void {
    switch (msg.kind) {
      case "reply": {
        const call = this.#calls.get(msg.id);
        if (!call) return;
        if (msg.ok) call.resolve(msg.result);
        else call.reject(new PluginError(this.#opts.name, msg.error));
        return;
      }
      case "sql": {
        const onSql = this.#calls.get(msg.call)?.onSql;
        const run = onSql
          ? Promise.resolve().then(() => onSql(msg.text, msg.params))
          : Promise.reject(new Error("no call in progress"));
        const fail = (error: string) => this.#send({ kind: "sql-reply", id: msg.id, ok: false, error });
        run.then(
          (rows) => {
            const line = JSON.stringify({ kind: "sql-reply", id: msg.id, ok: true, rows });
            // The wire's limit is the cap on a result: past it, the plugin is told to page, not stopped.
            if (line.length > MAX_MESSAGE - 1024) {
              return fail(`the result is over ${MAX_MESSAGE / 1024 / 1024} MiB of JSON: page it (limit and a key)`);
            }
            return this.#write(line);
          },
          (e) => fail((e as Error).message),
        ).catch(() => {});
        return;
      }
      case "notice":
        // Read in order with the call's reply, so the handler has every notice of a call before it ends. A notice
        // of no call in progress, or of a call that takes none, is dropped.
        this.#calls.get(msg.call)?.onNotice?.(msg);
        return;
      case "metric":
        this.#opts.onMetric?.(String(msg.name), Number(msg.by) || 0);
        return;
      case "log":
        // The plugin's fields go under `fields`: they cannot stand in for the host's own (time, level, msg, plugin).
        this.#opts.log[Object.hasOwn(LEVELS, msg.level) ? msg.level : "info"](String(msg.msg).slice(0, MAX_LOG_LINE), {
          plugin: this.#opts.name,
          ...(msg.fields === undefined ? {} : { fields: msg.fields }),
        });
        return;
    }
  }

  async #readStderr(): Promise<void> {
    let buffer = "";
    for await (const chunk of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop()!.slice(-MAX_LOG_LINE);
      for (const line of lines) {
        if (line.trim() === "") continue;
        const text = line.slice(0, MAX_LOG_LINE);
        if (/^error:/.test(text) || !/^error:/.test(this.#lastWords)) this.#lastWords = text;
        this.#opts.log.info(text, { plugin: this.#opts.name, stream: "stderr" });
      }
    }
  }
}

const LEVELS = { debug: 1, info: 1, warn: 1, error: 1 };
