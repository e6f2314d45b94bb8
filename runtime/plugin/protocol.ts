/**
 * The wire between the host and a plugin's sandbox process: newline-delimited JSON over stdin/stdout.
 * The host calls the sandbox (`init`, `queue`, `fetch`); while serving a call the sandbox asks the
 * host to run SQL (`sql`), and hands it the notices the plugin emits (`notice`), each tagged with that call's id so
 * the host runs the SQL, and stores the notices, in the right transaction.
 */
import { z } from "zod";
import type { Event } from "../core/event.ts";
import type { Limits, Panel } from "../sdk/mod.ts";

/** An HTTP request or response as it crosses the wire. */
export interface WireRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: string | null;
}
export interface WireResponse {
  status: number;
  headers: [string, string][];
  body: string;
}

/** What `init` answers: the plugin's manifest. */
export interface Manifest {
  name: string;
  version: string;
  subscribes: string[] | "*";
  panels: Panel[];
  limits: Partial<Limits>;
  hasQueue: boolean;
  /** It handles identity merges (the SDK's `merge`). */
  hasMerge: boolean;
  /** It maps foreign items to events (the SDK's `transform`), for `/v1/sources/<name>` and Kafka topics. */
  hasTransform: boolean;
  hasFetch: boolean;
  /** Its routes as OpenAPI paths (under `/api/<name>`), or null when `fetch` is a bare function. */
  api: Record<string, unknown> | null;
  /** How often its scheduled work runs (ms), or null without any. */
  scheduleMs: number | null;
  /** Its batches may run on several runners at once, each on its own users (the SDK's `partitioned`). */
  partitioned: boolean;
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/**
 * The manifest a sandbox answers `init` with, as the host takes it: the sandbox's output is the plugin's to forge
 * (its code can write to stdout), so nothing of it is trusted unchecked. The OpenAPI paths must lie under the
 * plugin's own prefix; their operations are tagged with the plugin, whatever they said.
 */
export function parseManifest(name: string, value: unknown): Manifest {
  const prefix = `/api/${name}`;
  const operation = z.record(z.string(), z.unknown());
  const schema = z.strictObject({
    name: z.literal(name, `must be '${name}'`),
    version: z.string().min(1).max(64),
    subscribes: z.union([z.literal("*"), z.array(z.string().regex(/^[a-z][a-z0-9_.]{0,63}$/)).max(1000)]),
    panels: z.array(z.strictObject({
      title: z.string().min(1).max(200),
      route: z.string().regex(/^\/[^\s]{0,500}$/, "must be a path under the plugin's prefix"),
      kind: z.enum(["tiles", "timeseries", "bar", "table"]),
    })).max(50),
    limits: z.object({
      timeoutMs: z.number().optional(),
      memoryMb: z.number().optional(),
      batchSize: z.number().optional(),
      storageMb: z.number().optional(),
    }),
    hasQueue: z.boolean(),
    hasMerge: z.boolean(),
    hasTransform: z.boolean(),
    hasFetch: z.boolean(),
    api: z.record(z.string().max(1000), z.partialRecord(z.enum(METHODS), operation)).nullable(),
    scheduleMs: z.number().int().min(1000).max(2 ** 31 - 1).nullable(),
    partitioned: z.boolean(),
  });
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid manifest: ${issue.path.join(".") || "(the whole)"}: ${issue.message}`);
  }
  const manifest = parsed.data as Manifest;
  const foreign = Object.keys(manifest.api ?? {}).find((p) => p !== prefix && !p.startsWith(`${prefix}/`));
  if (foreign !== undefined) throw new Error(`invalid manifest: api: the path ${foreign} does not lie under ${prefix}`);
  if (manifest.api) {
    for (const [path, item] of Object.entries(manifest.api) as [string, Record<string, Record<string, unknown>>][]) {
      for (const [method, op] of Object.entries(item)) {
        const id = op.operationId;
        const operationId = typeof id === "string" && id.startsWith(`${name}_`) ? id : `${name}_${method}_${path}`;
        item[method] = { ...op, tags: [name], operationId };
      }
    }
  }
  return manifest;
}

/** Host → sandbox. */
export type HostMessage =
  | { kind: "call"; id: number; op: "init"; name: string; settings: unknown }
  | { kind: "call"; id: number; op: "queue"; batch: Event[]; watermark: string | null }
  | { kind: "call"; id: number; op: "fetch"; request: WireRequest; watermark: string | null }
  | { kind: "call"; id: number; op: "scheduled"; watermark: string | null }
  | { kind: "call"; id: number; op: "transform"; items: unknown[] }
  | { kind: "sql-reply"; id: number; ok: true; rows: unknown[] }
  | { kind: "sql-reply"; id: number; ok: false; error: string };

/** Sandbox → host. */
export type ChildMessage =
  | { kind: "reply"; id: number; ok: true; result: unknown }
  | { kind: "reply"; id: number; ok: false; error: string }
  | { kind: "sql"; id: number; call: number; text: string; params: unknown[] }
  | { kind: "notice"; call: number; channel: string; payload: Record<string, unknown> }
  | { kind: "metric"; name: string; by: number }
  | { kind: "log"; level: "debug" | "info" | "warn" | "error"; msg: string; fields?: Record<string, unknown> };

/** The longest message accepted on the wire (characters). */
export const MAX_MESSAGE = 16 * 1024 * 1024;

/**
 * Reads newline-delimited JSON values from a byte stream. Throws on a line longer than `maxLength`,
 * so a peer cannot make the reader buffer without bound.
 */
export async function* readMessages<T>(
  stream: ReadableStream<Uint8Array>,
  maxLength = MAX_MESSAGE,
): AsyncGenerator<T> {
  let parts: string[] = [];
  let pending = 0;
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf("\n", start)) >= 0) {
      parts.push(chunk.slice(start, nl));
      const line = parts.join("");
      parts = [];
      pending = 0;
      start = nl + 1;
      if (line.length > maxLength) throw new Error(`message over ${maxLength} characters`);
      if (line.trim() !== "") yield JSON.parse(line) as T;
    }
    const rest = chunk.slice(start);
    pending += rest.length;
    if (pending > maxLength) throw new Error(`message over ${maxLength} characters`);
    if (rest !== "") parts.push(rest);
  }
}

/** Writes newline-delimited JSON values to a byte stream, in order. */
export function messageWriter<T>(stream: WritableStream<Uint8Array>): (message: T) => Promise<void> {
  const write = lineWriter(stream);
  return (message) => write(JSON.stringify(message));
}

/** Writes lines (each one JSON text without a newline) to a byte stream, in order. */
export function lineWriter(stream: WritableStream<Uint8Array>): (line: string) => Promise<void> {
  const writer = stream.getWriter();
  const encoder = new TextEncoder();
  return (line) => writer.write(encoder.encode(line + "\n"));
}

/**
 * The `queue` call's line, from events already in JSON text (as the log keeps them): the host passes
 * them through without parsing or serializing them again.
 */
export function queueCallLine(id: number, watermark: string | null, events: string[]): string {
  return `{"kind":"call","id":${id},"op":"queue","watermark":${JSON.stringify(watermark)},"batch":[${
    events.join(",")
  }]}`;
}
