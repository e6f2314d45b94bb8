/**
 * `?format=csv` on any `GET /api/...` that answers JSON, the host's routes and every plugin's alike: the answer's
 * table (its first list of objects, or the one `table=` names; an answer without one is a single row) streamed as
 * CSV, with every other parameter passed on, so an export has the view's filters. A paged list is followed to its
 * end, one page at a time as the reader takes them: `next` is passed on as `after`, `next_offset` as `offset`,
 * `next_before` as `before`. `?format=json` answers the route's own JSON.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { HttpError } from "../errors.ts";
import { columnsOf, csvHeader, csvLine, type JsonValue, rowsOf, tablesOf } from "../csv.ts";
import type { Logger } from "../../observability/logger.ts";

/** The parameters this middleware reads; the route is asked without them. */
const OWN = ["format", "table"];
/** A page's field naming the next page, and the parameter it is passed as. */
const CURSORS = [["next", "after"], ["next_offset", "offset"], ["next_before", "before"]] as const;

/** How the middleware asks a route for an answer, and which requests it made. */
export interface Exporter {
  /** Answers `request` as the app would, from its first middleware; `env` is the export's own (its address). */
  dispatch(request: Request, env: unknown): Response | Promise<Response>;
  /** The requests the middleware itself made (for the next pages): the rate limit has counted their export once. */
  made: WeakSet<Request>;
  logger: Logger;
}

/** The middleware; it runs after the token checks and the rate limit, which each export passes once. */
export function csvExport(exporter: Exporter): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    const format = url.searchParams.get("format");
    if (c.req.method !== "GET" || format === null) return await next();
    if (format !== "csv" && format !== "json") {
      throw new HttpError(400, `format must be 'csv' or 'json', got '${format.slice(0, 40)}'`);
    }
    const table = url.searchParams.get("table");
    if (table !== null && format !== "csv") throw new HttpError(400, "table applies only to format=csv");
    for (const name of OWN) url.searchParams.delete(name);
    const ask = (at: URL) => {
      const request = new Request(at, { headers: c.req.raw.headers });
      exporter.made.add(request);
      return exporter.dispatch(request, c.env);
    };
    const first = await ask(url);
    if (format === "json" || !first.ok) return first;
    if (!(first.headers.get("content-type") ?? "").startsWith("application/json")) {
      await first.body?.cancel();
      throw new HttpError(400, `format=csv needs a JSON answer; GET ${url.pathname} answers something else`);
    }
    const answer = await first.json() as JsonValue;
    const tables = tablesOf(answer);
    if (table !== null && !tables.includes(table)) {
      throw new HttpError(
        400,
        tables.length
          ? `table must be one of ${tables.join(", ")}; got '${table.slice(0, 40)}'`
          : `GET ${url.pathname} answers one row, not tables; table is not needed`,
      );
    }
    const name = table ?? tables[0] ?? null;
    const rows = rowsOf(answer, name);
    const nested = isPaged(answer) ? "json" : "columns";
    const columns = columnsOf(rows, nested);
    const pages = followPages(answer, name, url, ask);
    const encoder = new TextEncoder();
    let head: string | null = csvHeader(columns) + rows.map((r) => csvLine(r, columns, nested)).join("");
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (head !== null) {
          controller.enqueue(encoder.encode(head));
          head = null;
          return;
        }
        try {
          const page = await pages.next();
          if (page.done) controller.close();
          else controller.enqueue(encoder.encode(page.value.map((r) => csvLine(r, columns, nested)).join("")));
        } catch (e) {
          exporter.logger.warn("csv export stopped", { path: url.pathname, error: String(e) });
          controller.error(e); // the reader sees a cut transfer, not a short file that looks whole
        }
      },
      async cancel() {
        await pages.return(undefined);
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": `attachment; filename="${fileName(url.pathname, table)}"`,
      },
    });
  };
}

/**
 * The rows of table `name` in the pages after `answer`, one page at a time: each asked with the previous page's
 * cursor. Stops at a page without one, an empty page, or a cursor that repeats (a route that would loop).
 */
async function* followPages(
  answer: JsonValue,
  name: string | null,
  url: URL,
  ask: (at: URL) => Response | Promise<Response>,
): AsyncGenerator<Record<string, JsonValue>[]> {
  if (name === null) return; // one row: nothing to page
  const seen = new Set<string>();
  let page = answer;
  let count = rowsOf(page, name).length;
  for (;;) {
    const cursor = cursorOf(page);
    if (cursor === null || count === 0 || seen.has(cursor.join("="))) return;
    seen.add(cursor.join("="));
    const at = new URL(url);
    at.searchParams.set(cursor[0], cursor[1]);
    const res = await ask(at);
    if (!res.ok) throw new Error(`the page at ${cursor.join("=")} answered ${res.status}: ${await res.text()}`);
    page = await res.json() as JsonValue;
    const next = rowsOf(page, name);
    count = next.length;
    yield next;
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
    if (typeof value === "string" || typeof value === "number") return [param, String(value)];
  }
  return null;
}

/** `stats-segments-lost-users.csv` for `/api/stats/segments/lost/users`; the table's name when one was asked for. */
function fileName(path: string, table: string | null): string {
  const parts = path.replace(/^\/api\//, "").split("/").filter(Boolean);
  if (table) parts.push(table);
  return `${parts.join("-").replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 120) || "export"}.csv`;
}
