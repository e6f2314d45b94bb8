/**
 * JSON answers as CSV (RFC 4180): which of an answer's arrays is its table, the columns its rows flatten to, and the
 * lines they make. A cell a spreadsheet would run as a formula is made inert, since event properties come from
 * strangers.
 * @module
 */

/** A JSON value, as the routes answer. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
type JsonObject = { [key: string]: JsonValue };

/**
 * The answer's tables: its top-level fields that hold a list of objects (an empty list counts), in the answer's
 * order. An answer with none is a table of one row, itself.
 */
export function tablesOf(answer: JsonValue): string[] {
  if (!isObject(answer)) return [];
  return Object.keys(answer).filter((k) => {
    const v = answer[k];
    return Array.isArray(v) && v.every(isObject);
  });
}

/** The rows of `answer`'s table `name` (from {@linkcode tablesOf}), or the answer as one row when `name` is null. */
export function rowsOf(answer: JsonValue, name: string | null): JsonObject[] {
  if (name === null) return isObject(answer) ? [answer] : [];
  const rows = isObject(answer) ? answer[name] : undefined;
  return Array.isArray(rows) ? rows.filter(isObject) : [];
}

/**
 * How a row's lists and objects become cells: `columns` flattens an object's fields to `field.key` and a list of
 * numbers to `field.0`, `field.1`… (any other list, an empty one too, stays one cell, as JSON); `json` keeps every list and object as
 * one JSON cell, for paged lists, whose later pages could hold fields the first page did not.
 */
export type Nested = "columns" | "json";

/** The columns of `rows`, in order of first appearance, nested values as `nested` says. */
export function columnsOf(rows: readonly JsonObject[], nested: Nested): string[] {
  const columns = new Set<string>();
  for (const row of rows) for (const key of Object.keys(flatten(row, nested))) columns.add(key);
  return [...columns];
}

/** One CSV line (with its CRLF) of `row`'s values in `columns`; a column the row lacks is empty. */
export function csvLine(row: JsonObject, columns: readonly string[], nested: Nested): string {
  const flat = flatten(row, nested);
  return columns.map((c) => cell(flat[c])).join(",") + "\r\n";
}

/** The header line of `columns`. */
export function csvHeader(columns: readonly string[]): string {
  return columns.map(cell).join(",") + "\r\n";
}

/** `row` as one level of cells, by the rules of {@linkcode Nested}. */
function flatten(
  row: JsonObject,
  nested: Nested,
  prefix = "",
  into: Record<string, JsonValue> = {},
): Record<string, JsonValue> {
  for (const [key, value] of Object.entries(row)) {
    const name = prefix + key;
    if (nested === "json") into[name] = value;
    else if (isObject(value)) flatten(value, nested, `${name}.`, into);
    else if (Array.isArray(value) && value.length > 0 && value.every((v) => v === null || typeof v === "number")) {
      value.forEach((v, i) => into[`${name}.${i}`] = v);
    } else into[name] = value;
  }
  return into;
}

/** Text a spreadsheet reads as a formula (OWASP's list: =, +, -, @, tab, carriage return). */
const FORMULA = /^[=+\-@\t\r]/;

/**
 * One cell: empty for null or missing, JSON for a list or object, quoted when it holds a comma, quote or line break. Text that
 * a spreadsheet would read as a formula gets a leading `'`; numbers are written as they are, negative ones included.
 */
function cell(value: JsonValue | undefined): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  let text = typeof value === "string" ? value : JSON.stringify(value);
  if (FORMULA.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
