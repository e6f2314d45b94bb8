/**
 * The SQL text guard: a tripwire, not the wall. What a plugin's SQL may do is decided by the database (its role's
 * privileges, one statement per call, the session checked after each: see `scope.ts`); this guard reads the text
 * first so that the common mistakes (transaction control, role changes, functions, COPY) fail with a message that
 * says what and why, instead of the database's. It reads SQL by PostgreSQL's lexical rules, and also splits
 * migration files into statements, each then sent on its own.
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

/** A piece of SQL text as PostgreSQL's lexer reads it. */
interface Piece {
  kind: "code" | "string" | "identifier" | "comment";
  /** For strings and quoted identifiers, their content (escapes of U& identifiers decoded); else the text. */
  text: string;
  /** The text as written. */
  raw: string;
}

/** Characters of an unquoted identifier (PostgreSQL: letters, digits, `_`, `$`, and any non-ASCII). */
const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/**
 * Reads SQL text into pieces by PostgreSQL's lexical rules: `--` comments end at a line feed or a carriage return;
 * block comments nest; `'...'` strings double their quotes and `E'...'` ones also take backslash escapes; a dollar
 * quote starts only where `$` cannot be part of an identifier (`x$$` is one identifier).
 */
function* lex(sql: string): Generator<Piece> {
  let i = 0;
  let code = 0;
  const n = sql.length;
  function* flush(to: number): Generator<Piece> {
    if (to > code) yield { kind: "code", text: sql.slice(code, to), raw: sql.slice(code, to) };
  }
  while (i < n) {
    const c = sql[i];
    const prev = sql[i - 1] ?? "";
    let end = -1;
    let piece: Piece | null = null;
    if (c === "-" && sql[i + 1] === "-") {
      end = i + 2;
      while (end < n && sql[end] !== "\n" && sql[end] !== "\r") end++;
      piece = { kind: "comment", text: " ", raw: sql.slice(i, end) };
    } else if (c === "/" && sql[i + 1] === "*") {
      end = skipBlockComment(sql, i);
      piece = { kind: "comment", text: " ", raw: sql.slice(i, end) };
    } else if (c === "'") {
      const escapes = /[eE]/.test(prev) && !IDENT_CHAR.test(sql[i - 2] ?? "");
      end = skipQuoted(sql, i, "'", escapes);
      piece = { kind: "string", text: unquote(sql.slice(i + 1, end - 1), "'"), raw: sql.slice(i, end) };
    } else if (c === '"') {
      end = skipQuoted(sql, i, '"', false);
      let text = unquote(sql.slice(i + 1, end - 1), '"');
      if (/^[uU]&$/.test(sql.slice(i - 2, i)) && !IDENT_CHAR.test(sql[i - 3] ?? "")) text = decodeUnicode(text);
      piece = { kind: "identifier", text, raw: sql.slice(i, end) };
    } else if (c === "$" && !IDENT_CHAR.test(prev)) {
      const tag = DOLLAR_TAG.exec(sql.slice(i, i + 64))?.[0];
      if (tag) {
        const close = sql.indexOf(tag, i + tag.length);
        end = close < 0 ? n : close + tag.length;
        piece = { kind: "string", text: sql.slice(i + tag.length, close < 0 ? n : close), raw: sql.slice(i, end) };
      }
    }
    if (piece) {
      yield* flush(i);
      yield piece;
      i = code = end;
    } else i++;
  }
  yield* flush(n);
}

/** Splits a SQL script into statements at the semicolons PostgreSQL would split it at; empty ones are dropped. */
export function splitStatements(script: string): string[] {
  const out: string[] = [];
  let current = "";
  for (const piece of lex(script)) {
    if (piece.kind !== "code") {
      current += piece.raw;
      continue;
    }
    const parts = piece.raw.split(";");
    current += parts[0];
    for (const part of parts.slice(1)) {
      pushStatement(out, current);
      current = part;
    }
  }
  pushStatement(out, current);
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

/**
 * Lower-cases, drops comments and quotes: what the guard's patterns read. A string's content is read the same way
 * (one level deep), as a function body would be parsed.
 */
function normalize(text: string, depth = 0): string {
  let out = "";
  for (const piece of lex(text)) {
    if (piece.kind === "code") out += piece.text.toLowerCase();
    else if (piece.kind === "identifier") out += piece.text.toLowerCase();
    else if (piece.kind === "string") out += depth === 0 ? ` '${normalize(piece.text, 1)}' ` : " '' ";
    else out += " ";
  }
  return out;
}

/** A quoted text's content: the doubled quote read as one. */
function unquote(body: string, quote: string): string {
  return body.replaceAll(quote + quote, quote);
}

/** Decodes the `\XXXX` and `\+XXXXXX` escapes of a `U&"..."` identifier. */
function decodeUnicode(text: string): string {
  return text.replace(/\\(\\|[0-9A-Fa-f]{4}|\+[0-9A-Fa-f]{6})/g, (_, code: string) => {
    if (code === "\\") return "\\";
    const point = parseInt(code.replace("+", ""), 16);
    return point <= 0x10ffff ? String.fromCodePoint(point) : "";
  });
}

function skipQuoted(s: string, i: number, quote: string, escapes: boolean): number {
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
