/**
 * The statement guard for plugin SQL. Postgres privileges decide what a plugin's role may touch; this
 * guard keeps the plugin from leaving its role (RESET ROLE, SET ROLE, SET SESSION AUTHORIZATION) or
 * the host's transaction (COMMIT, BEGIN ...), which privileges alone cannot forbid on a shared connection.
 * Functions and procedures are refused outright: their bodies are strings (E'', U&'', built at run time
 * in plpgsql) that can hide a role change from any text check.
 */

/** Raised for plugin SQL that the guard refuses; the message says what and why. */
export class SqlGuardError extends Error {}

const ALLOWED_FIRST_WORDS = new Set([
  "select",
  "insert",
  "update",
  "delete",
  "with",
  "values",
  "table",
  "merge",
  "truncate",
  "create",
  "alter",
  "drop",
  "comment",
  "analyze",
  "explain",
  "refresh",
]);

/** Patterns refused anywhere in a statement, function bodies included (checked on normalized text). */
const FORBIDDEN: [RegExp, string][] = [
  [/^[\s(]*(create|alter)\b[^;]*?\b(function|procedure)\b/, "CREATE or ALTER FUNCTION/PROCEDURE"],
  [/\breset\b/, "RESET"],
  [/\bset\b[^a-z0-9_]*(?:(?:local|session)\b[^a-z0-9_]*)?role\b/, "SET ROLE"],
  [/\bsession(?:_|[^a-z0-9_]*)authorization\b/, "SESSION AUTHORIZATION"],
  [/\bset_config\b/, "set_config()"],
];

/**
 * Splits a SQL script into statements, respecting quoted strings, quoted identifiers, dollar-quoted
 * bodies and comments. Empty statements are dropped.
 */
export function splitStatements(script: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const n = script.length;
  while (i < n) {
    const c = script[i];
    const next = script[i + 1];
    if (c === "'" || c === '"') {
      i = skipQuoted(script, i, c);
    } else if (c === "-" && next === "-") {
      const end = script.indexOf("\n", i);
      i = end < 0 ? n : end + 1;
    } else if (c === "/" && next === "*") {
      i = skipBlockComment(script, i);
    } else if (c === "$") {
      const tag = /^\$[A-Za-z_]*\$/.exec(script.slice(i, i + 64))?.[0];
      if (tag) {
        const end = script.indexOf(tag, i + tag.length);
        i = end < 0 ? n : end + tag.length;
      } else i++;
    } else if (c === ";") {
      pushStatement(out, script.slice(start, i));
      start = ++i;
    } else i++;
  }
  pushStatement(out, script.slice(start));
  return out;
}

/** Throws {@linkcode SqlGuardError} unless `text` is one statement a plugin may run. */
export function checkStatement(text: string): void {
  const normalized = normalize(text);
  const first = /^[\s(]*([a-z]+)/.exec(normalized)?.[1];
  if (!first) throw new SqlGuardError("empty SQL statement");
  if (!ALLOWED_FIRST_WORDS.has(first)) {
    throw new SqlGuardError(
      `plugins may not run ${first.toUpperCase()} statements (allowed: ${[...ALLOWED_FIRST_WORDS].join(", ")})`,
    );
  }
  for (const [pattern, what] of FORBIDDEN) {
    if (pattern.test(normalized)) {
      throw new SqlGuardError(`plugins may not use ${what}: a plugin's SQL runs as its own role only`);
    }
  }
}

/** Checks every statement of a script (a migration file); returns the statements. */
export function checkScript(script: string): string[] {
  const statements = splitStatements(script);
  for (const s of statements) checkStatement(s);
  return statements;
}

/** Lower-cases, drops comments (inside strings too, as a function body would be parsed) and quotes. */
function normalize(text: string): string {
  let s = text.toLowerCase().replace(/--[^\n]*/g, " ");
  for (let prev = ""; prev !== s;) {
    prev = s;
    s = s.replace(/\/\*(?:(?!\/\*)[\s\S])*?\*\//g, " ");
  }
  return s.replaceAll('"', "");
}

function skipQuoted(s: string, i: number, quote: string): number {
  const escapes = quote === "'" && /[eE]/.test(s[i - 1] ?? "") && !/[A-Za-z0-9_]/.test(s[i - 2] ?? "");
  for (let j = i + 1; j < s.length; j++) {
    if (escapes && s[j] === "\\") j++;
    else if (s[j] === quote) {
      if (s[j + 1] === quote) j++;
      else return j + 1;
    }
  }
  return s.length;
}

function skipBlockComment(s: string, i: number): number {
  let depth = 0;
  for (let j = i; j < s.length - 1; j++) {
    if (s[j] === "/" && s[j + 1] === "*") {
      depth++;
      j++;
    } else if (s[j] === "*" && s[j + 1] === "/") {
      depth--;
      j++;
      if (depth === 0) return j + 1;
    }
  }
  return s.length;
}

function pushStatement(out: string[], raw: string): void {
  if (normalize(raw).trim() !== "") out.push(raw.trim());
}
