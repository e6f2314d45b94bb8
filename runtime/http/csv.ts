/**
 * JSON answers as CSV (RFC 4180): which of an answer's lists is its table, the columns its rows flatten to, and the
 * lines they make. Text cells are always quoted, and one a spreadsheet would run as a formula is made inert, since
 * event properties come from strangers.
 * @module
 */

/** A JSON value, as the routes answer. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
type JsonObject = { [key: string]: JsonValue };

/**
 * How a row's lists and objects become cells: `columns` flattens an object's fields to `field.key` and a list of
 * numbers to `field.0`, `field.1`… (any other list, an empty one too, stays one cell, as JSON); `json` keeps every
 * list and object as one JSON cell, for paged lists, whose later pages could hold fields the first page did not.
 */
export type Nested = "columns" | "json";

/** Most columns a table has; past it (or past {@linkcode MAX_CELLS}) its nested values stay JSON cells. */
export const MAX_COLUMNS = 1000;
/** Most cells (rows × columns) a first page is flattened to. */
export const MAX_CELLS = 2_000_000;
/** Objects nested deeper than this stay one JSON cell. */
const MAX_DEPTH = 8;

/** Whether `v` is a list of objects (an empty list counts). */
const isList = (v: JsonValue | undefined): boolean => Array.isArray(v) && v.every(isObject);

/**
 * The answer's tables, in its order: its top-level fields that hold a list of objects, then such lists one level down
 * (`breakdown.rows`).
 */
export function tablesOf(answer: JsonValue): string[] {
  if (!isObject(answer)) return [];
  const nested = Object.keys(answer).flatMap((k) => {
    const v = answer[k];
    return isObject(v) ? Object.keys(v).filter((n) => isList(v[n])).map((n) => `${k}.${n}`) : [];
  });
  return [...Object.keys(answer).filter((k) => isList(answer[k])), ...nested];
}

/** A table of an answer: its rows, its columns, and its lines. */
export class Table {
  private constructor(
    /** The answer's list it is, or null for the answer itself. */
    readonly name: string | null,
    readonly rows: JsonObject[],
    readonly columns: string[],
    readonly nested: Nested,
  ) {}

  /**
   * The table `name` of `answer` (from {@linkcode tablesOf}); with `name` null, the answer itself when it is a list of
   * objects, else the answer as one row. Throws when even its top-level fields are past {@linkcode MAX_COLUMNS}.
   */
  static of(answer: JsonValue, name: string | null, nested: Nested): Table {
    const rows = Table.rowsOf(answer, name);
    let columns = columnsOf(rows, nested);
    if (nested === "columns" && (columns.length > MAX_COLUMNS || columns.length * rows.length > MAX_CELLS)) {
      nested = "json";
      columns = columnsOf(rows, nested);
    }
    if (columns.length > MAX_COLUMNS) throw new Error(`its rows have ${columns.length} fields, over ${MAX_COLUMNS}`);
    return new Table(name, rows, columns, nested);
  }

  /** The rows of `answer`'s list `name`, as {@linkcode Table.of} reads them. */
  static rowsOf(answer: JsonValue, name: string | null): JsonObject[] {
    if (Array.isArray(answer)) return name === null ? answer.filter(isObject) : [];
    if (!isObject(answer)) return [];
    if (name === null) return [answer];
    const [outer, inner] = Object.hasOwn(answer, name) ? [name, null] : name.split(/\.(.*)/s);
    const holder = inner === null ? answer : answer[outer];
    const rows = isObject(holder) ? holder[inner ?? name] : undefined;
    return Array.isArray(rows) ? rows.filter(isObject) : [];
  }

  /** One CSV line (with its CRLF) of `row`; a column the row lacks is empty, a field outside the columns left out. */
  line(row: JsonValue): string {
    const flat = isObject(row) ? flatten(row, this.nested) : new Map();
    return this.columns.map((c) => cell(flat.get(c))).join(",") + "\r\n";
  }
}

/** The header line of `columns`. */
export function csvHeader(columns: readonly string[]): string {
  return columns.map(cell).join(",") + "\r\n";
}

/** The columns of `rows`, in order of first appearance, nested values as `nested` says. */
function columnsOf(rows: readonly JsonObject[], nested: Nested): string[] {
  const columns = new Set<string>();
  for (const row of rows) {
    for (const key of flatten(row, nested).keys()) {
      columns.add(key);
      if (columns.size > MAX_COLUMNS && nested === "columns") return [...columns]; // the caller falls back to JSON
    }
  }
  return [...columns];
}

/** `row` as one level of cells, by the rules of {@linkcode Nested}. */
function flatten(
  row: JsonObject,
  nested: Nested,
  prefix = "",
  into = new Map<string, JsonValue>(),
  depth = 0,
): Map<string, JsonValue> {
  for (const [key, value] of Object.entries(row)) {
    const name = prefix + key;
    if (nested === "json" || depth >= MAX_DEPTH) into.set(name, value);
    else if (isObject(value)) flatten(value, nested, `${name}.`, into, depth + 1);
    else if (Array.isArray(value) && value.length > 0 && value.every((v) => v === null || typeof v === "number")) {
      value.forEach((v, i) => into.set(`${name}.${i}`, v));
    } else into.set(name, value);
  }
  return into;
}

/** Text a spreadsheet reads as a formula (OWASP's list: =, +, -, @, tab, carriage return). */
const FORMULA = /^[=+\-@\t\r]/;

/**
 * One cell: empty for null or missing; numbers and booleans as they are, negative ones included; text, and lists and
 * objects as JSON, always quoted, so that no separator a spreadsheet might use (`;` in many locales) splits it, and
 * with a leading `'` when a spreadsheet would read it as a formula.
 */
function cell(value: JsonValue | undefined): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  let text = typeof value === "string" ? value : JSON.stringify(value);
  if (FORMULA.test(text)) text = `'${text}`;
  return `"${text.replaceAll('"', '""')}"`;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
