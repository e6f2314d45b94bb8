/**
 * `?format=csv` on any `GET /api/...` that answers JSON, the host's routes and every plugin's alike: the answer's
 * table (its first list of objects, or the one `table=` names; an answer without one is a single row) streamed as
 * CSV, with every other parameter passed on, so an export has the view's filters. A paged list is followed to its
 * end, one page at a time as the reader takes them: `next` is passed on as `after`, `next_offset` as `offset`,
 * `next_before` as `before`. Each later page is asked for as the reader would ask, through the token check and the
 * rate limit (the export waits out a 429), so an export costs the server no more than paging by hand.
 * `?format=json` answers the route's own JSON.
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { HttpError } from "../errors.ts";
import { csvHeader, type JsonValue, Table, tablesOf } from "../csv.ts";
import type { Logger } from "../../observability/logger.ts";

/** The parameters this middleware reads; the route is asked without them. */
const OWN = ["format", "table"];
/** A page's field naming the next page, and the parameter it is passed as. */
const CURSORS = [["next", "after"], ["next_offset", "offset"], ["next_before", "before"]] as const;
/** Most pages one export follows, and the longest cursor it passes on. */
export const MAX_PAGES = 100_000;
const MAX_CURSOR = 1024;
/** Rows written per chunk of the stream. */
const CHUNK_ROWS = 500;
/** Longest wait for one page the rate limit or a reloading plugin deferred (ms), and how many such waits in a row. */
const MAX_WAIT_MS = 10_000;
const MAX_WAITS = 30;

/** How the middleware asks a route for an answer. */
export interface Exporter {
  /** Answers `request` as the app would, from its first middleware; `env` is the export's own (its address). */
  dispatch(request: Request, env: unknown): Response | Promise<Response>;
  /** Requests the rate limit has counted already: the middleware adds the first page's, counted as the export. */
  counted: WeakSet<Request>;
  /** Where an export that stops half-way is told. */
  logger: Logger;
}

/** The middleware; it runs after the token checks and the rate limit. */
export function csvExport(exporter: Exporter): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    const format = url.searchParams.get("format")?.toLowerCase();
    if ((c.req.method !== "GET" && c.req.method !== "HEAD") || format === undefined) return await next();
    if (format !== "csv" && format !== "json") {
      throw new HttpError(400, `format must be 'csv' or 'json', got '${format.slice(0, 40)}'`);
    }
    const table = url.searchParams.get("table");
    if (table !== null && format !== "csv") throw new HttpError(400, "table applies only to format=csv");
    for (const name of OWN) url.searchParams.delete(name);
    const stop = new AbortController();
    const ask = (at: URL, counted: boolean) => {
      const request = new Request(at, { headers: c.req.raw.headers, signal: stop.signal });
      if (counted) exporter.counted.add(request);
      return exporter.dispatch(request, c.env);
    };
    const first = await ask(url, true);
    if (format === "json" || !first.ok) return first;
    if (!/^application\/([a-z.+-]+\+)?json\b/i.test(first.headers.get("content-type") ?? "")) {
      await first.body?.cancel();
      throw new HttpError(400, `format=csv needs a JSON answer; GET ${url.pathname} answers something else`);
    }
    let answer: JsonValue;
    let rows: Table;
    try {
      answer = await first.json() as JsonValue;
      rows = chosenTable(answer, table, url.pathname);
    } catch (e) {
      if (e instanceof HttpError) throw e;
      return c.json(
        { error: `GET ${url.pathname} answered JSON that cannot be exported: ${String(e).slice(0, 200)}` },
        502,
      );
    }
    const pages = followPages(answer, rows.name, url, (at) => askPatiently(() => ask(at, false), stop.signal));
    return csvResponse(c, rows, pages, () => stop.abort(), (e) => {
      exporter.logger.warn("csv export stopped", { path: url.pathname, error: String(e).slice(0, 500) });
    }, fileName(url.pathname, table));
  };
}

/** The table `name` of `answer` (its first by default), or a 400 naming the ones it has. */
function chosenTable(answer: JsonValue, name: string | null, path: string): Table {
  const tables = tablesOf(answer);
  if (name !== null && !tables.includes(name)) {
    throw new HttpError(
      400,
      tables.length
        ? `table must be one of ${tables.join(", ")}; got '${name.slice(0, 40)}'`
        : `GET ${path} answers one table; table is not needed`,
    );
  }
  return Table.of(answer, name ?? tables[0] ?? null, isPaged(answer) ? "json" : "columns");
}

/**
 * The CSV answer: the first page's rows, a chunk at a time, then each later page's as the reader takes them. A
 * failure after the answer began cuts the transfer, so that the reader never takes a short file for a whole one.
 */
function csvResponse(
  c: Context,
  table: Table,
  pages: AsyncGenerator<JsonValue[]>,
  abort: () => void,
  failed: (e: unknown) => void,
  file: string,
): Response {
  const encoder = new TextEncoder();
  let pending: JsonValue[] = table.rows;
  let head: string | null = csvHeader(table.columns);
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (head !== null && pending.length === 0) { // an empty first page: its header, then the pages after
          controller.enqueue(encoder.encode(head));
          head = null;
          return;
        }
        while (pending.length === 0) {
          const page = await pages.next();
          if (page.done) return controller.close();
          pending = page.value;
        }
        const chunk = (head ?? "") + pending.slice(0, CHUNK_ROWS).map((r) => table.line(r)).join("");
        head = null;
        pending = pending.slice(CHUNK_ROWS);
        controller.enqueue(encoder.encode(chunk));
      } catch (e) {
        if (cancelled) return;
        failed(e);
        controller.error(e);
      }
    },
    async cancel() {
      cancelled = true;
      abort();
      await pages.return(undefined);
    },
  });
  return c.body(body, 200, {
    "content-type": "text/csv; charset=utf-8",
    "content-disposition": `attachment; filename="${file}"`,
    "x-content-type-options": "nosniff",
    "content-security-policy": "sandbox; default-src 'none'; frame-ancestors 'none'",
  });
}

/**
 * The rows of table `name` in the pages after `answer`, one page at a time: each asked with the previous page's
 * cursor. A cursor that repeats, one too long, an empty page that names another, or more than {@linkcode MAX_PAGES}
 * pages is a route that would loop: an error, which cuts the transfer.
 */
async function* followPages(
  answer: JsonValue,
  name: string | null,
  url: URL,
  ask: (at: URL) => Promise<Response>,
): AsyncGenerator<JsonValue[]> {
  if (name === null) return; // one row: nothing to page
  let cursor = cursorOf(answer);
  for (let page = 1; cursor !== null; page++) {
    if (page >= MAX_PAGES) throw new Error(`more than ${MAX_PAGES} pages`);
    const at = new URL(url);
    at.searchParams.set(cursor[0], cursor[1]);
    const res = await ask(at);
    if (!res.ok) throw new Error(`the page at ${cursor.join("=")} answered ${res.status}: ${await res.text()}`);
    const next = await res.json() as JsonValue;
    const rows = Table.rowsOf(next, name);
    const after = cursorOf(next);
    if (after !== null && (after[1] === cursor[1] || rows.length === 0)) {
      throw new Error(`the page at ${cursor.join("=")} names itself or is empty and names another: it would loop`);
    }
    cursor = after;
    yield rows;
  }
}

/** The answer to `ask()`, asked again after each 429 or 503 that says when to retry (the rate limit, a reload). */
async function askPatiently(ask: () => Response | Promise<Response>, signal: AbortSignal): Promise<Response> {
  for (let waits = 0;; waits++) {
    const res = await ask();
    const retry = Number(res.headers.get("retry-after"));
    if ((res.status !== 429 && res.status !== 503) || !(retry >= 0) || waits >= MAX_WAITS) return res;
    await res.body?.cancel();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, Math.min(retry * 1000, MAX_WAIT_MS));
      signal.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
    });
  }
}

/** Whether `answer` is a page of a list: it has a cursor field, null on the last page. */
function isPaged(answer: JsonValue): boolean {
  return typeof answer === "object" && answer !== null && CURSORS.some(([field]) => Object.hasOwn(answer, field));
}

/** The parameter and value asking for the page after `page`, if it names one. */
function cursorOf(page: JsonValue): [string, string] | null {
  if (typeof page !== "object" || page === null || Array.isArray(page)) return null;
  for (const [field, param] of CURSORS) {
    const value = page[field];
    if (typeof value !== "string" && typeof value !== "number") continue;
    if (String(value).length > MAX_CURSOR) throw new Error(`a ${field} longer than ${MAX_CURSOR} characters`);
    return [param, String(value)];
  }
  return null;
}

/** `stats-segments-lost-users.csv` for `/api/stats/segments/lost/users`; the table's name when one was asked for. */
function fileName(path: string, table: string | null): string {
  const parts = path.replace(/^\/api\//, "").split("/").filter(Boolean);
  if (table) parts.push(table);
  return `${parts.join("-").replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 120) || "export"}.csv`;
}
