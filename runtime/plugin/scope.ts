/**
 * The wall around a plugin's SQL. Everything a plugin sends (its queries, `sql` templates and migrations) runs inside
 * a transaction the host opened, as the plugin's role, with its schema first on a pinned search path, a statement
 * timeout and, when the host says so, read-only. Three things hold that, none of them reading the plugin's text:
 * - PostgreSQL's privileges: the role owns its schema and nothing else, and may not create temporary objects, use a
 *   procedural or SQL language, or call the functions the host revokes (see `store/schema.ts`);
 * - the extended query protocol: a call is one statement, so no `; commit; ...` rides along with it;
 * - a check after every statement that the session is still the plugin's: same role, same session user, same search
 *   path, timeout and read-only flag, and still the host's transaction (a marker set in it). A statement that changed
 *   any of them (`reset role`, `commit`, `set search_path`, however spelled) fails its call and the transaction is
 *   rolled back, which undoes what it set, before any other statement runs.
 * The SQL text guard (`sql_guard.ts`) runs first, as a tripwire that gives a clear message, not as the wall.
 */
import type { Row, Sql, TransactionOptions } from "../store/mod.ts";
import { checkStatement } from "./sql_guard.ts";

/** A plugin's place in the database: its role and its schema (named after the plugin). */
export interface Placement {
  role: string;
  schema: string;
}

/** How a plugin's statements run. */
export interface ScopeOptions {
  /** The longest a statement may run (ms): a server's `statement_timeout`; PGlite is stopped and opened again. */
  timeoutMs: number;
  /** Writes refused (the plugin is over its storage quota). */
  readOnly?: boolean;
  /** Check each statement's text with the SQL guard first (default true): clear messages, not the wall. */
  tripwire?: boolean;
  /** Where the session's state after entry is remembered, so that later entries need not read it. */
  states?: ScopeStates;
}

/** The statements that switch a transaction to a plugin's scope, with what identifies them. */
export interface ScopeEntry {
  text: string;
  /** The marker they set, unique to the transaction. */
  marker: string;
  /** The options that decide the session's state, as {@linkcode ScopeStates} keys it. */
  key: string;
}

/**
 * Ends a plugin's part of a transaction (see {@linkcode PluginScope.close}): the marker cleared (the host's deferred
 * trigger in `store/schema.ts` lets the transaction commit), the plugin's deferred checks run as its role and within
 * its time, then whatever a statement may leave in the session cleared.
 */
const EXIT =
  "set local analytics.scope = ''; set constraints all immediate; close all; unlisten *; reset all; reset role";

/** A plugin's statement left its scope: its call fails and the transaction is rolled back. */
export class ScopeViolation extends Error {}

/**
 * What the check after each statement reads; every name is qualified, so no object of the plugin's stands in. `wrote`
 * is not part of the scope: a transaction is given an id by its first write, so it tells whether anything was written.
 */
const STATE = `select current_user as "user", session_user as "session",
  pg_catalog.current_setting('search_path') as "path", pg_catalog.current_setting('statement_timeout') as "timeout",
  pg_catalog.current_setting('transaction_read_only') as "readOnly",
  pg_catalog.current_setting('analytics.scope', true) as "marker",
  pg_catalog.pg_current_xact_id_if_assigned() is not null as "wrote"`;

type State = Record<"user" | "session" | "path" | "timeout" | "readOnly" | "marker", string | null>;

/** What {@linkcode STATE} reads: the scope's state, and whether the transaction wrote. */
type Checked = State & { wrote: boolean };

/**
 * The session as a plugin's scope leaves it, but for its marker, by the scope's options: read on the first entry and
 * expected on the next ones, which then need no read of their own (the check after the plugin's first statement
 * compares the session with it all the same). Kept by whoever enters scopes for one plugin.
 */
export class ScopeStates {
  readonly #known = new Map<string, Omit<State, "marker">>();

  /** The state recorded for `key`, with `marker` as its marker; undefined before the first entry. */
  get(key: string, marker: string): State | undefined {
    const known = this.#known.get(key);
    return known && { ...known, marker };
  }

  /** Records the state read on an entry with `key`. */
  set(key: string, state: State): void {
    const { marker: _, ...rest } = state;
    this.#known.set(key, rest);
  }
}

/** Quotes an identifier for SQL text. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A plugin's statements inside one host transaction; see the module's documentation. */
export class PluginScope {
  readonly #tx: Sql;
  readonly #timeoutMs: number;
  readonly #tripwire: boolean;
  readonly #expected: State;
  #tail: Promise<unknown> = Promise.resolve();
  #violation: ScopeViolation | null = null;
  #closed = false;
  #wrote = false;

  private constructor(tx: Sql, timeoutMs: number, tripwire: boolean, expected: State) {
    this.#tx = tx;
    this.#timeoutMs = timeoutMs;
    this.#tripwire = tripwire;
    this.#expected = expected;
  }

  /**
   * Switches `tx` to the plugin: its role, search path, timeout and marker, all local to the transaction. The session
   * is read after (unless `opts.states` knows what it will be) to learn what the check after each statement expects.
   */
  static async enter(tx: Sql, placement: Placement, opts: ScopeOptions): Promise<PluginScope> {
    const entry = PluginScope.entry(placement, opts);
    await tx.exec(entry.text);
    return await PluginScope.entered(tx, placement, opts, entry);
  }

  /** The statements that switch a transaction to the plugin (see {@linkcode enter}), to send with its BEGIN. */
  static entry(placement: Placement, opts: ScopeOptions): ScopeEntry {
    const marker = crypto.randomUUID().replaceAll("-", "");
    const timeoutMs = Math.max(1, Math.round(opts.timeoutMs));
    const text = [
      `set local analytics.scope = '${marker}'`,
      `set local search_path = ${ident(placement.schema)}, pg_catalog, pg_temp`,
      `set local statement_timeout = ${timeoutMs}`,
      // A server's JIT compiles a statement whose plan costs past jit_above_cost, which the plugins' batch upserts and
      // scans reach; compiling took longer than it saved (docs/performance.md, "JIT").
      "set local jit = off",
      ...(opts.readOnly ? ["set local transaction_read_only = on"] : []),
      `set local role ${ident(placement.role)}`,
    ].join("; ");
    return { text, marker, key: `${placement.role}\n${placement.schema}\n${timeoutMs}\n${opts.readOnly === true}` };
  }

  /** The scope of `tx`, switched already by `entry`'s statements. */
  static async entered(tx: Sql, placement: Placement, opts: ScopeOptions, entry: ScopeEntry): Promise<PluginScope> {
    let state = opts.states?.get(entry.key, entry.marker);
    if (!state) {
      const [read] = await tx.query<Checked>(STATE);
      const { wrote: _, ...session } = read;
      if (session.user !== placement.role || session.marker !== entry.marker) {
        throw new Error(`could not switch to the role ${placement.role}: the session is ${session.user}`);
      }
      opts.states?.set(entry.key, session);
      state = session;
    }
    return new PluginScope(tx, opts.timeoutMs, opts.tripwire ?? true, state);
  }

  /** Whether a statement of the plugin's wrote in this transaction (as far as the statements checked so far tell). */
  get wrote(): boolean {
    return this.#wrote;
  }

  /** Runs one statement of the plugin's, after the ones before it, and checks the session after it. */
  run<T extends Row = Row>(text: string, params: unknown[] = []): Promise<T[]> {
    const result = this.#tail.then(() => this.#runNow<T>(text, params));
    this.#tail = result.catch(() => {});
    return result;
  }

  async #runNow<T extends Row>(text: string, params: unknown[]): Promise<T[]> {
    if (this.#closed) throw new Error("the plugin's call has ended: no more of its SQL runs in it");
    if (this.#violation) throw this.#violation;
    if (typeof text !== "string") throw new TypeError("SQL text must be a string");
    if (this.#tripwire) checkStatement(text);
    let rows: T[] = [];
    let failure: unknown = undefined;
    try {
      rows = await this.#tx.query<T>(text, params, { timeoutMs: this.#timeoutMs });
    } catch (e) {
      failure = e;
    }
    // Checked after a failed statement too: a COMMIT that fails (a deferred constraint) still ends the transaction.
    await this.#check(failure !== undefined);
    if (failure !== undefined) throw failure;
    return rows;
  }

  async #check(afterError: boolean): Promise<void> {
    let state: Checked | undefined;
    try {
      [state] = await this.#tx.query<Checked>(STATE);
    } catch (e) {
      // After a failed statement the transaction refuses every statement until it ends: the scope is intact.
      if (afterError && /current transaction is aborted/.test((e as Error).message)) return;
      throw this.#violate(`the session cannot be checked after its statement: ${(e as Error).message}`);
    }
    if (state?.wrote) this.#wrote = true;
    const changed = (Object.keys(this.#expected) as (keyof State)[]).filter((k) => state?.[k] !== this.#expected[k]);
    if (changed.length > 0) {
      const what = changed.includes("marker") ? "the host's transaction" : changed.join(", ");
      throw this.#violate(
        `a plugin's statement may not change ${what}: it runs as the plugin's role, in the host's transaction`,
      );
    }
  }

  #violate(message: string): ScopeViolation {
    this.#violation ??= new ScopeViolation(message);
    return this.#violation;
  }

  /** Refuses the plugin's later statements and waits for those under way: the transaction is being rolled back. */
  async abandon(): Promise<void> {
    this.#closed = true;
    await this.#tail;
  }

  /**
   * Ends the plugin's part of the transaction, which is the host's again after: {@linkcode settle}, then
   * {@linkcode EXIT}. The plugin's deferred checks (constraints, exclusion rechecks that evaluate its index
   * expressions) run then, as its role and within its time, not at the host's COMMIT as the host; what a statement may
   * leave in the session (cursors held open, listeners, settings) is cleared, so nothing of it outlives the
   * transaction on a shared connection. (A prepared statement may stay: it runs with the privileges of whoever
   * executes it.)
   */
  async close(): Promise<void> {
    await this.settle();
    await this.#tx.exec(EXIT, { timeoutMs: this.#timeoutMs });
  }

  /**
   * Waits for the plugin's statements to settle and refuses any later one, and throws the violation if one left the
   * scope: {@linkcode close} without {@linkcode EXIT}, for a caller that sends it with its COMMIT.
   */
  async settle(): Promise<void> {
    this.#closed = true;
    await this.#tail;
    if (this.#violation) throw this.#violation;
  }
}

/**
 * Runs one statement of a plugin's on its own, in its own transaction of `store`, within the plugin's scope; answers
 * its rows and whether it wrote.
 */
export function runAlone<T extends Row>(
  store: { transaction<R>(fn: (tx: Sql) => Promise<R>, opts?: TransactionOptions): Promise<R> },
  placement: Placement,
  opts: ScopeOptions,
  text: string,
  params: unknown[],
): Promise<{ rows: T[]; wrote: boolean }> {
  // Switched with the BEGIN, cleared with the COMMIT: with a known state, three round trips in all.
  const entry = PluginScope.entry(placement, opts);
  const ends = { afterBegin: entry.text, beforeCommit: EXIT, endTimeoutMs: opts.timeoutMs };
  return store.transaction(async (tx) => {
    const scope = await PluginScope.entered(tx, placement, opts, entry);
    const rows = await scope.run<T>(text, params);
    await scope.settle();
    return { rows, wrote: scope.wrote };
  }, ends);
}
