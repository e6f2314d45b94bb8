// @ts-check
/// <reference lib="dom" />
/**
 * The HTTP API as the dashboard reads it: {@link getJson}, {@link ApiError}, and the types of the answers the views
 * share (only the fields they use; `/api/openapi.json` has the rest, and each view the types only it reads).
 * @module
 */

/** An API answer that was not a 2xx, with the server's message. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   * @param {string} path
   */
  constructor(status, message, path) {
    super(message);
    /** The answer's HTTP status. */
    this.status = status;
    /** The path asked for. */
    this.path = path;
  }
}

/**
 * The JSON answer to `GET path`, with the read token when there is one; throws {@link ApiError} unless a 2xx.
 * The caller casts the answer to the type its route documents.
 * @param {string} path
 * @param {string | null} token
 * @returns {Promise<unknown>}
 */
export async function getJson(path, token) {
  /** @type {Record<string, string>} */
  const headers = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, { headers });
  /** @type {{ error?: string } | null} */
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body?.error ?? res.statusText, path);
  return body;
}

/**
 * Saves the CSV export of `GET path` (`?format=csv`, `table` one of its answer's lists) as a file, with the read
 * token when there is one; throws {@link ApiError} unless a 2xx.
 * @param {string} path
 * @param {string | undefined} table
 * @param {string | null} token
 * @returns {Promise<void>}
 */
export async function downloadCsv(path, table, token) {
  const url = new URL(path, location.href);
  url.searchParams.set("format", "csv");
  if (table) url.searchParams.set("table", table);
  /** @type {Record<string, string>} */
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const res = await fetch(url, { headers });
  if (!res.ok) {
    /** @type {{ error?: string } | null} */
    const body = await res.json().catch(() => null);
    throw new ApiError(res.status, body?.error ?? res.statusText, path);
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? "export.csv";
  const href = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = href;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

/**
 * What `/api/stream` sends on each `update`: where the log and each plugin stand.
 * @typedef {object} Snapshot
 * @property {number} head the last position written to the log
 * @property {string | null} watermark the latest event time in the log
 * @property {{ name: string, status: string, lag: number, processed: number }[]} plugins
 */

/**
 * A panel a plugin declares: the dashboard renders its route's answer by `kind`.
 * @typedef {object} Panel
 * @property {string} title
 * @property {string} route under `/api/<plugin>`
 * @property {"tiles" | "timeseries" | "bar" | "table"} kind
 */

/**
 * A plugin as `GET /api/plugins` lists it.
 * @typedef {object} Plugin
 * @property {string} name
 * @property {string} status
 * @property {number} lag
 * @property {number} processed
 * @property {number} failed
 * @property {Panel[]} panels
 * @property {string | null} error
 * @property {number} storage_bytes
 * @property {number} storage_limit_bytes
 */

/**
 * `GET /api/plugins`.
 * @typedef {{ plugins: Plugin[], source: { kind: "http" | "kafka" } }} PluginList
 */

/**
 * A flagged purchase, as `GET /api/fraud/alerts` lists it, newest first.
 * @typedef {object} FraudAlert
 * @property {string} event_time
 * @property {string} user_id
 * @property {number} amount
 * @property {number} score
 * @property {string[]} reasons
 */
