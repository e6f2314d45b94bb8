/**
 * Request bodies read within a byte limit (of the body decoded, when it arrives gzip- or deflate-encoded), as text,
 * as JSON, or as JSON checked by a zod schema: 413 past the limit (refused before parsing), 400 for what is not
 * UTF-8, not JSON or not what the schema asks.
 * @module
 */
import type { ZodType } from "zod";
import { HttpError } from "./errors.ts";
import { storableStrings } from "../core/event.ts";

/** The content codings a body may arrive in (`Content-Encoding`), as the streams that decode them. */
const DECODERS: Record<string, () => DecompressionStream> = {
  gzip: () => new DecompressionStream("gzip"),
  "x-gzip": () => new DecompressionStream("gzip"),
  deflate: () => new DecompressionStream("deflate"),
};

/**
 * Reads a request body as UTF-8 text, decoding `Content-Encoding: gzip` or `deflate` (415 for another coding),
 * refusing more than `maxBytes` of it decoded (413: reading stops there, so a small zip bomb costs the cap and no
 * more), a coding that does not decode (400) and invalid UTF-8 (400).
 */
export async function readTextBody(request: Request, maxBytes: number): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw new HttpError(413, `body is ${declared} bytes, over the ${maxBytes} byte limit`);
  const coding = (request.headers.get("content-encoding") ?? "").trim().toLowerCase();
  if (coding !== "" && coding !== "identity" && !Object.hasOwn(DECODERS, coding)) {
    throw new HttpError(415, `Content-Encoding must be gzip, deflate or identity, got '${coding.slice(0, 64)}'`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const decoder = Object.hasOwn(DECODERS, coding) ? DECODERS[coding]() : null;
    const body = decoder ? request.body.pipeThrough(decoder) : request.body;
    try {
      for await (const chunk of body) {
        size += chunk.byteLength;
        if (size > maxBytes) {
          throw new HttpError(413, `body is over the ${maxBytes} byte limit${decoder ? " once decoded" : ""}`);
        }
        chunks.push(chunk);
      }
    } catch (e) {
      if (e instanceof HttpError || !decoder) throw e;
      throw new HttpError(400, `body is not valid ${coding}: ${(e as Error).message}`);
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, "body is not valid UTF-8");
  }
}

/** Reads a request body as JSON, refusing more than `maxBytes` before parsing (413) and non-JSON (400). */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const text = await readTextBody(request, maxBytes);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `body is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Parses a request body as JSON checked by a zod `schema`: 413 over `maxBytes` (1 MiB by default, refused before
 * parsing), 400 when it is not JSON, or naming each problem.
 */
export async function parseBody<T>(request: Request, schema: ZodType<T>, maxBytes = 1024 * 1024): Promise<T> {
  const text = await readTextBody(request, maxBytes);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new HttpError(400, "body must be JSON");
  }
  // JSON escapes can spell what PostgreSQL text cannot hold; refused here, not by the database as a server error.
  if (!storableStrings(raw)) {
    throw new HttpError(400, "body: strings must be well-formed Unicode without NUL characters");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new HttpError(400, parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
  }
  return parsed.data;
}
