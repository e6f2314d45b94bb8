/**
 * Start-up configuration: the environment parsed once, at the edge, into one resolved value.
 * @module
 */
import { z } from "zod";
import { type Money, parseRates } from "./money.ts";

/** A fetch's minimum stays below what one fetch may return (kafkajs' `maxBytes`, 10 MB), by a wide margin. */
const MAX_FETCH_MIN_BYTES = 1_048_576;
const list = z.string().transform((s) => s.split(",").map((x) => x.trim()).filter((x) => x !== ""));

const EnvSchema = z.object({
  PORT: z.coerce.number({ error: "must be a number 1..65535" }).int("must be an integer 1..65535")
    .min(1, "must be 1..65535").max(65535, "must be 1..65535").default(8000),
  HOST: z.string().min(1, "must be a host name or address").default("127.0.0.1"),
  DATA_DIR: z.string().min(1, "must be a directory path").default("./data"),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL").optional(),
  KAFKA_BROKERS: z.string().optional(),
  KAFKA_TOPICS: list.default(["user-events"]),
  KAFKA_GROUP: z.string().min(1).default("analytics-runtime"),
  KAFKA_TRANSFORMS: list.optional(),
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number({ error: "must be a number of milliseconds" }).int()
    .min(1000, "must be ≥ 1000 ms").max(300_000, "must be ≤ 300000 ms").default(10_000),
  KAFKA_IDEMPOTENT: z.enum(["true", "false"], { error: "must be true or false" }).default("true"),
  KAFKA_FETCH_MIN_BYTES: z.coerce.number({ error: "must be a number of bytes" }).int()
    .min(1, "must be ≥ 1 byte").max(MAX_FETCH_MIN_BYTES, `must be ≤ ${MAX_FETCH_MIN_BYTES} bytes`).default(65_536),
  KAFKA_FETCH_MAX_WAIT_MS: z.coerce.number({ error: "must be a number of milliseconds" }).int()
    .min(0, "must be ≥ 0 ms").max(10_000, "must be ≤ 10000 ms").default(100),
  SIMULATE: z.coerce.number({ error: "must be a number of events per second" })
    .min(0, "must be ≥ 0 events per second").max(100_000, "must be ≤ 100000 events per second").optional(),
  PLUGINS_DIR: z.string().min(1, "must be a directory path").default("./plugins"),
  PLUGINS_BATCH_WAIT_MS: z.coerce.number({ error: "must be a number of milliseconds" })
    .int("must be a whole number of milliseconds")
    .min(0, "must be ≥ 0 ms").max(10_000, "must be ≤ 10000 ms").default(250),
  PLUGINS_WATCH: z.enum(["true", "false"], { error: "must be true or false" }).default("false"),
  INGEST_KEYS: list.optional(),
  API_TOKENS: list.optional(),
  ADMIN_TOKENS: list.optional(),
  WEBHOOK_ALLOW_HOSTS: list.optional(),
  RATE_LIMIT: z.coerce.number({ error: "must be a number of requests per second" })
    .min(0, "must be ≥ 0 requests per second").max(1_000_000, "must be ≤ 1000000 requests per second").default(0),
  CORS_ORIGINS: list.optional(),
  BASE_CURRENCY: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code like EUR").default("EUR"),
  CURRENCY_RATES: z.string().optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"], { error: "must be debug, info, warn or error" })
    .default("info"),
  WEBHOOK_RETRY_BASE_MS: z.coerce.number({ error: "must be a number of milliseconds 1..3600000" })
    .int("must be a whole number of milliseconds 1..3600000").min(1, "must be 1..3600000 ms")
    .max(3_600_000, "must be 1..3600000 ms").default(5000),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number({ error: "must be a number of attempts 1..100" })
    .int("must be a whole number of attempts 1..100").min(1, "must be 1..100 attempts")
    .max(100, "must be 1..100 attempts").default(15),
  DEAD_LETTER_RETRIES: z.coerce.number({ error: "must be a number of retries 0..100" })
    .int("must be a whole number of retries 0..100").min(0, "must be 0..100 retries")
    .max(100, "must be 0..100 retries").default(5),
  DEAD_LETTER_RETRY_BASE_MS: z.coerce.number({ error: "must be a number of milliseconds 1000..86400000" })
    .int("must be a whole number of milliseconds 1000..86400000").min(1000, "must be 1000..86400000 ms")
    .max(86_400_000, "must be 1000..86400000 ms").default(60_000),
});

/** The fully resolved configuration the runtime runs with. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  /** Kafka as the source (and the target of `POST /v1/events`), when `KAFKA_BROKERS` is set. */
  kafka?: KafkaConfig;
  simulate: number;
  pluginsDir: string;
  /** Development: reload a plugin when its folder changes. */
  watchPlugins: boolean;
  /** How long a plugin's runner gathers events for its next batch after it took one, unless a full batch is there. */
  batchWaitMs: number;
  ingestKeys: string[];
  apiTokens: string[];
  /** Tokens for what reaches past reading: managing webhooks (`/api/webhooks`). They pass as API tokens too. */
  adminTokens: string[];
  /** Requests per second allowed per key (or per client address without keys) on /v1 and /api; 0 = no limit. */
  rateLimit: number;
  /** Origins allowed to call /v1 and /api from a browser ("*" for any); none by default. */
  corsOrigins: string[];
  /** The currency every amount is converted to at ingest, and the rates into it. */
  money: Money;
  logLevel: "debug" | "info" | "warn" | "error";
  /** How webhook deliveries are retried: the first wait (ms, doubling after each failure) and the attempts in all. */
  webhooks: { retryBaseMs: number; maxAttempts: number; allowHosts: string[] };
  /** How dead letters are retried: the retries before a letter is dead, and the first wait (ms, fourfold after each). */
  deadLetters: { retries: number; baseMs: number };
  /** Raw per-plugin settings (`PLUGIN_<NAME>` holding JSON), validated by each plugin's own schema. */
  pluginSettings: Record<string, unknown>;
}

/** Where the runtime consumes and produces events when Kafka is the source. */
export interface KafkaConfig {
  brokers: string[];
  topics: string[];
  group: string;
  /** Idempotent producer (on by default; off only for brokers that lack it). */
  idempotent: boolean;
  /** How long the group waits for a silent member before handing its partitions to the others. */
  sessionTimeoutMs: number;
  /**
   * A fetch is answered once this much is there to read, or after `fetchMaxWaitMs`: under a steady stream, fewer and
   * larger batches (each is one append); when idle, one request per `fetchMaxWaitMs`.
   */
  fetchMinBytes: number;
  fetchMaxWaitMs: number;
  /** Topics whose messages go through a plugin's transform first: topic → plugin. */
  transforms: Map<string, string>;
}

/** Raised for invalid configuration; its message is the one line printed before exiting. */
export class ConfigError extends Error {}

/** Default simulator rate in fully embedded mode: enough to make the dashboard move. */
export const DEFAULT_SIMULATE_RATE = 20;

/** `topic=plugin` pairs, each topic one of `topics`: the plugin whose transform a topic's messages go through. */
function parseTransforms(pairs: string[], topics: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of pairs) {
    const [topic, plugin, ...rest] = pair.split("=").map((x) => x.trim());
    if (!topic || !plugin || rest.length > 0 || !/^[a-z][a-z0-9_]{0,30}$/.test(plugin)) {
      throw new ConfigError(`Cannot start: KAFKA_TRANSFORMS must be a comma list of topic=plugin, got '${pair}'`);
    }
    if (!topics.includes(topic)) {
      throw new ConfigError(`Cannot start: KAFKA_TRANSFORMS names topic '${topic}', which KAFKA_TOPICS does not list`);
    }
    out.set(topic, plugin);
  }
  return out;
}

/** Parses the environment (or any string map) into a {@linkcode Config}; throws {@linkcode ConfigError}. */
export function loadConfig(raw: Record<string, string | undefined>): Config {
  // An empty variable counts as unset, as shells and compose files often pass them.
  const env = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v.trim() !== ""));
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0]);
    throw new ConfigError(`Cannot start: ${name} ${issue.message}, got '${redact(env[name] ?? "")}'`);
  }
  const e = parsed.data;
  const kafka = e.KAFKA_BROKERS === undefined ? undefined : {
    brokers: e.KAFKA_BROKERS.split(",").map((b) => b.trim()).filter((b) => b !== ""),
    topics: e.KAFKA_TOPICS,
    group: e.KAFKA_GROUP,
    idempotent: e.KAFKA_IDEMPOTENT === "true",
    sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
    fetchMinBytes: e.KAFKA_FETCH_MIN_BYTES,
    fetchMaxWaitMs: e.KAFKA_FETCH_MAX_WAIT_MS,
    transforms: parseTransforms(e.KAFKA_TRANSFORMS ?? [], e.KAFKA_TOPICS),
  };
  if (kafka && kafka.brokers.some((b) => !/^[^\s:/]+:\d{1,5}$/.test(b))) {
    throw new ConfigError(`Cannot start: KAFKA_BROKERS must be a comma list of host:port, got '${e.KAFKA_BROKERS}'`);
  }
  if (kafka && kafka.topics.length === 0) {
    throw new ConfigError("Cannot start: KAFKA_TOPICS must name at least one topic");
  }
  // kafkajs heartbeats between fetches: an idle fetch that waits near the session timeout gets the process evicted.
  if (kafka && kafka.fetchMaxWaitMs * 3 > kafka.sessionTimeoutMs) {
    throw new ConfigError(
      `Cannot start: KAFKA_FETCH_MAX_WAIT_MS must be at most a third of KAFKA_SESSION_TIMEOUT_MS ` +
        `(${Math.floor(kafka.sessionTimeoutMs / 3)} ms), got '${kafka.fetchMaxWaitMs}'`,
    );
  }
  let rates: Record<string, number>;
  try {
    rates = parseRates(e.CURRENCY_RATES ?? "", e.BASE_CURRENCY);
  } catch (err) {
    throw new ConfigError(`Cannot start: CURRENCY_RATES ${(err as Error).message}`);
  }
  const embedded = e.DATABASE_URL === undefined && kafka === undefined;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: e.DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    kafka,
    simulate: e.SIMULATE ?? (embedded ? DEFAULT_SIMULATE_RATE : 0),
    pluginsDir: e.PLUGINS_DIR,
    watchPlugins: e.PLUGINS_WATCH === "true",
    batchWaitMs: e.PLUGINS_BATCH_WAIT_MS,
    ingestKeys: e.INGEST_KEYS ?? [],
    apiTokens: e.API_TOKENS ?? [],
    adminTokens: e.ADMIN_TOKENS ?? [],
    rateLimit: e.RATE_LIMIT,
    corsOrigins: e.CORS_ORIGINS ?? [],
    money: { base: e.BASE_CURRENCY, rates },
    logLevel: e.LOG_LEVEL,
    webhooks: {
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      allowHosts: (e.WEBHOOK_ALLOW_HOSTS ?? []).map((h) => h.toLowerCase()),
    },
    deadLetters: { retries: e.DEAD_LETTER_RETRIES, baseMs: e.DEAD_LETTER_RETRY_BASE_MS },
    pluginSettings: pluginSettings(env),
  };
}

/** A value as error messages may show it: the password of a URL (`scheme://user:password@host`) masked. */
function redact(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/i, "$1***@");
}

function pluginSettings(env: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(env)) {
    const m = /^PLUGIN_([A-Z][A-Z0-9_]*)$/.exec(key);
    if (!m || value === undefined) continue;
    try {
      out[m[1].toLowerCase()] = JSON.parse(value);
    } catch {
      // Not echoed: settings may hold secrets (an API key), and the one line goes to the logs.
      throw new ConfigError(`Cannot start: ${key} must be a JSON object of plugin settings, got text that is not JSON`);
    }
  }
  return out;
}
