/** A row as returned by a query: column name to value. */
export type Row = Record<string, unknown>;

/** SQL on one connection or transaction. Results are plain values: int8 and numeric come back as numbers. */
export interface Sql {
  /**
   * Runs one statement with `$1..$n` parameters and returns its rows. With `timeoutMs`, the statement may not run
   * longer (a plugin's: a server enforces its `statement_timeout`; embedded PGlite is stopped and opened again).
   */
  query<T extends Row = Row>(text: string, params?: unknown[], opts?: { timeoutMs?: number }): Promise<T[]>;
  /** Runs a script of statements without parameters; `timeoutMs` as for {@linkcode query}. */
  exec(text: string, opts?: { timeoutMs?: number }): Promise<void>;
}

/**
 * Statements sent in the same round trip as a transaction's BEGIN and COMMIT: a script without parameters run right
 * after BEGIN (before `fn`), and one run right before COMMIT (after `fn` resolved), within `endTimeoutMs` (as for
 * {@linkcode Sql.query}'s `timeoutMs`).
 */
export interface TransactionOptions {
  /** Statements run right after BEGIN, in its round trip. */
  afterBegin?: string;
  /** Statements run right before COMMIT, in its round trip, once `fn` resolved. */
  beforeCommit?: string;
  /** The longest `beforeCommit` and COMMIT may take together (ms). */
  endTimeoutMs?: number;
}

/** The runtime's database: PGlite embedded, or a PostgreSQL server. The SQL is the same. */
export interface Store extends Sql {
  /** Which database it is: embedded PGlite or a PostgreSQL server. */
  readonly kind: "pglite" | "postgres";
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  /** Closes its connections (or the embedded database); nothing runs after. */
  close(): Promise<void>;
}
