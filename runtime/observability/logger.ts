/**
 * Structured logging: one JSON object per line on stderr, with a level.
 * @module
 */
import { RateLimiter } from "../core/rate_limiter.ts";

/** Log levels, least to most severe. */
export type Level = "debug" | "info" | "warn" | "error";

const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A structured logger; `fields` are merged into the line. */
export interface Logger {
  /** Detail for whoever debugs: written only at level `debug`. */
  debug(msg: string, fields?: Record<string, unknown>): void;
  /** What happened, in the normal course. */
  info(msg: string, fields?: Record<string, unknown>): void;
  /** Something went wrong and was handled; someone may want to look. */
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** Something failed. */
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines carry `fields` too. */
  with(fields: Record<string, unknown>): Logger;
  /** The least severe level written, when known. */
  readonly level?: Level;
}

/** Creates a logger writing lines at `level` and above through `write` (stderr by default). */
export function createLogger(
  level: Level = "info",
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => console.error(line),
): Logger {
  const emit = (l: Level) => (msg: string, fields?: Record<string, unknown>) => {
    if (RANK[l] < RANK[level]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: l, msg, ...base, ...fields }, jsonSafe));
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    with: (fields) => createLogger(level, { ...base, ...fields }, write),
    level,
  };
}

/** Errors as their message (JSON would write `{}`), bigints as text (JSON would throw). */
function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Error) return value.message;
  return typeof value === "bigint" ? String(value) : value;
}

/** What {@linkcode throttledLogger} lets through. */
export interface Throttle {
  /** Lines per second, with a burst of one second's worth. */
  linesPerSecond: number;
  /** The most characters of JSON a line's fields may take; longer fields are cut to that. */
  maxFieldChars: number;
  /** Told of each line dropped. */
  onDrop: () => void;
}

/**
 * A logger that writes at most {@linkcode Throttle.linesPerSecond} lines (of those `logger` would write) and cuts
 * oversized fields: for output the host does not control, such as a plugin's, which must not flood the logs or
 * keep the host busy writing them. After dropping lines it says how many, once lines pass again.
 */
export function throttledLogger(logger: Logger, throttle: Throttle): Logger {
  const limiter = new RateLimiter(throttle.linesPerSecond);
  let dropped = 0;
  const wrap = (inner: Logger): Logger => {
    const emit = (l: Level) => (msg: string, fields?: Record<string, unknown>) => {
      if (inner.level !== undefined && RANK[l] < RANK[inner.level]) return;
      if (limiter.take("") > 0) {
        dropped++;
        throttle.onDrop();
        return;
      }
      if (dropped > 0) {
        inner.warn("log lines dropped: over the rate limit", { dropped, linesPerSecond: throttle.linesPerSecond });
        dropped = 0;
      }
      const json = fields === undefined ? "" : JSON.stringify(fields, jsonSafe) ?? "";
      inner[l](
        msg,
        json.length > throttle.maxFieldChars ? { fields: `${json.slice(0, throttle.maxFieldChars)}…` } : fields,
      );
    };
    return {
      debug: emit("debug"),
      info: emit("info"),
      warn: emit("warn"),
      error: emit("error"),
      with: (fields) => wrap(inner.with(fields)),
      level: inner.level,
    };
  };
  return wrap(logger);
}
