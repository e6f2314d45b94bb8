import assert from "node:assert/strict";
import { ConfigError, DEFAULT_SIMULATE_RATE, loadConfig } from "./config.ts";

Deno.test("loadConfig() resolves the documented defaults for fully embedded mode", () => {
  assert.deepEqual(loadConfig({}), {
    port: 8000,
    host: "127.0.0.1",
    dataDir: "./data",
    databaseUrl: undefined,
    kafka: undefined,
    simulate: DEFAULT_SIMULATE_RATE,
    pluginsDir: "./plugins",
    watchPlugins: false,
    batchWaitMs: 250,
    ingestKeys: [],
    apiTokens: [],
    adminTokens: [],
    rateLimit: 0,
    corsOrigins: [],
    money: { base: "EUR", rates: {} },
    logLevel: "info",
    webhooks: { retryBaseMs: 5000, maxAttempts: 15, allowHosts: [] },
    deadLetters: { retries: 5, baseMs: 60_000 },
    pluginSettings: {},
  });
});

Deno.test("loadConfig() reads the webhook settings and ADMIN_TOKENS, and refuses bad ones in one line", () => {
  const env = {
    WEBHOOK_RETRY_BASE_MS: "20",
    WEBHOOK_MAX_ATTEMPTS: "3",
    WEBHOOK_ALLOW_HOSTS: "Hooks.Internal, 10.0.0.7",
  };
  assert.deepEqual(loadConfig(env).webhooks, {
    retryBaseMs: 20,
    maxAttempts: 3,
    allowHosts: ["hooks.internal", "10.0.0.7"],
  });
  assert.deepEqual(loadConfig({ ADMIN_TOKENS: "a-token, another" }).adminTokens, ["a-token", "another"]);
  const cases: [Record<string, string>, string][] = [
    [
      { WEBHOOK_RETRY_BASE_MS: "soon" },
      "Cannot start: WEBHOOK_RETRY_BASE_MS must be a number of milliseconds 1..3600000, got 'soon'",
    ],
    [{ WEBHOOK_RETRY_BASE_MS: "0" }, "Cannot start: WEBHOOK_RETRY_BASE_MS must be 1..3600000 ms, got '0'"],
    [
      { WEBHOOK_RETRY_BASE_MS: "1.5" },
      "Cannot start: WEBHOOK_RETRY_BASE_MS must be a whole number of milliseconds 1..3600000, got '1.5'",
    ],
    [{ WEBHOOK_MAX_ATTEMPTS: "0" }, "Cannot start: WEBHOOK_MAX_ATTEMPTS must be 1..100 attempts, got '0'"],
    [
      { WEBHOOK_MAX_ATTEMPTS: "many" },
      "Cannot start: WEBHOOK_MAX_ATTEMPTS must be a number of attempts 1..100, got 'many'",
    ],
  ];
  for (const [env, message] of cases) assert.throws(() => loadConfig(env), new ConfigError(message));
});

Deno.test("loadConfig() reads BASE_CURRENCY and CURRENCY_RATES, and refuses bad ones in one line", () => {
  assert.deepEqual(loadConfig({ BASE_CURRENCY: "USD", CURRENCY_RATES: "EUR=1.08, GBP=1.27" }).money, {
    base: "USD",
    rates: { EUR: 1.08, GBP: 1.27 },
  });
  assert.throws(
    () => loadConfig({ BASE_CURRENCY: "euro" }),
    new ConfigError("Cannot start: BASE_CURRENCY must be an ISO 4217 code like EUR, got 'euro'"),
  );
  assert.throws(
    () => loadConfig({ CURRENCY_RATES: "USD:0.9" }),
    new ConfigError(
      "Cannot start: CURRENCY_RATES must be a comma list of CODE=rate with positive rates, like USD=0.92,GBP=1.17; " +
        "got 'USD:0.9'",
    ),
  );
  assert.throws(
    () => loadConfig({ CURRENCY_RATES: "EUR=1" }),
    new ConfigError("Cannot start: CURRENCY_RATES names the base currency EUR, whose rate is 1"),
  );
});

Deno.test("loadConfig() turns the simulator off by default with a server database", () => {
  const c = loadConfig({ DATABASE_URL: "postgres://u@h/db", INGEST_KEYS: "a, b", API_TOKENS: "r" });
  assert.equal(c.simulate, 0);
  assert.deepEqual(c.ingestKeys, ["a", "b"]);
  assert.deepEqual(c.apiTokens, ["r"]);
  assert.equal(loadConfig({ DATABASE_URL: "postgres://u@h/db", SIMULATE: "50" }).simulate, 50);
});

Deno.test("loadConfig() reads RATE_LIMIT and CORS_ORIGINS, and refuses a bad rate in one line", () => {
  const c = loadConfig({ RATE_LIMIT: "50", CORS_ORIGINS: "https://a.example, https://b.example" });
  assert.equal(c.rateLimit, 50);
  assert.deepEqual(c.corsOrigins, ["https://a.example", "https://b.example"]);
  assert.throws(
    () => loadConfig({ RATE_LIMIT: "-1" }),
    (e) => e instanceof ConfigError && /RATE_LIMIT/.test(e.message),
  );
});

Deno.test("loadConfig() treats empty variables as unset", () => {
  assert.equal(loadConfig({ SIMULATE: "", PORT: " " }).simulate, DEFAULT_SIMULATE_RATE);
  assert.equal(loadConfig({ PORT: "" }).port, 8000);
});

Deno.test("loadConfig() makes Kafka the source when KAFKA_BROKERS is set", () => {
  const c = loadConfig({ KAFKA_BROKERS: "k1:9092, k2:9092", KAFKA_TOPICS: "a,b" });
  assert.deepEqual(c.kafka, {
    brokers: ["k1:9092", "k2:9092"],
    topics: ["a", "b"],
    group: "analytics-runtime",
    idempotent: true,
    sessionTimeoutMs: 10_000,
    fetchMinBytes: 65_536,
    fetchMaxWaitMs: 100,
    transforms: new Map(),
  });
  const fetch = loadConfig({ KAFKA_BROKERS: "k:1", KAFKA_FETCH_MIN_BYTES: "1", KAFKA_FETCH_MAX_WAIT_MS: "500" }).kafka;
  assert.deepEqual([fetch?.fetchMinBytes, fetch?.fetchMaxWaitMs], [1, 500]);
  // An idle fetch may wait a third of the session timeout at most: kafkajs heartbeats between fetches.
  assert.throws(
    () => loadConfig({ KAFKA_BROKERS: "k:1", KAFKA_FETCH_MAX_WAIT_MS: "5000" }),
    {
      message:
        "Cannot start: KAFKA_FETCH_MAX_WAIT_MS must be at most a third of KAFKA_SESSION_TIMEOUT_MS (3333 ms), got '5000'",
    },
  );
  const kafkajs = { KAFKA_BROKERS: "k:1", KAFKA_FETCH_MAX_WAIT_MS: "5000", KAFKA_SESSION_TIMEOUT_MS: "30000" };
  assert.equal(loadConfig(kafkajs).kafka?.fetchMaxWaitMs, 5000);
  assert.equal(c.simulate, 0); // not fully embedded
  assert.equal(loadConfig({ KAFKA_BROKERS: "k:1", KAFKA_IDEMPOTENT: "false" }).kafka?.idempotent, false);
  const orders = { KAFKA_BROKERS: "k:1", KAFKA_TOPICS: "events,orders", KAFKA_TRANSFORMS: "orders=shop_orders" };
  assert.deepEqual(loadConfig(orders).kafka?.transforms, new Map([["orders", "shop_orders"]]));
});

Deno.test("loadConfig() turns hot reload on with PLUGINS_WATCH=true (deno task dev)", () => {
  assert.equal(loadConfig({ PLUGINS_WATCH: "true" }).watchPlugins, true);
  assert.equal(loadConfig({ PLUGINS_WATCH: "false" }).watchPlugins, false);
});

Deno.test("loadConfig() reads how long plugins gather a batch (PLUGINS_BATCH_WAIT_MS), 250 ms unless set", () => {
  assert.equal(loadConfig({}).batchWaitMs, 250);
  assert.equal(loadConfig({ PLUGINS_BATCH_WAIT_MS: "0" }).batchWaitMs, 0);
  assert.equal(loadConfig({ PLUGINS_BATCH_WAIT_MS: "1000" }).batchWaitMs, 1000);
  // One plugin setting is PLUGIN_<NAME>; PLUGINS_ names the runtime's own.
  assert.deepEqual(loadConfig({ PLUGINS_BATCH_WAIT_MS: "10" }).pluginSettings, {});
});

Deno.test("loadConfig() reads how dead letters are retried, and refuses bad settings in one line", () => {
  assert.deepEqual(loadConfig({ DEAD_LETTER_RETRIES: "0", DEAD_LETTER_RETRY_BASE_MS: "1000" }).deadLetters, {
    retries: 0,
    baseMs: 1000,
  });
  const cases: [Record<string, string>, string][] = [
    [{ DEAD_LETTER_RETRIES: "-1" }, "Cannot start: DEAD_LETTER_RETRIES must be 0..100 retries, got '-1'"],
    [
      { DEAD_LETTER_RETRIES: "2.5" },
      "Cannot start: DEAD_LETTER_RETRIES must be a whole number of retries 0..100, got '2.5'",
    ],
    [
      { DEAD_LETTER_RETRY_BASE_MS: "999" },
      "Cannot start: DEAD_LETTER_RETRY_BASE_MS must be 1000..86400000 ms, got '999'",
    ],
    [
      { DEAD_LETTER_RETRY_BASE_MS: "hourly" },
      "Cannot start: DEAD_LETTER_RETRY_BASE_MS must be a number of milliseconds 1000..86400000, got 'hourly'",
    ],
  ];
  for (const [env, message] of cases) assert.throws(() => loadConfig(env), new ConfigError(message));
});

Deno.test("loadConfig() reads PLUGIN_<NAME> JSON settings for each plugin", () => {
  assert.deepEqual(loadConfig({ PLUGIN_CHURN: '{"days":14}' }).pluginSettings, { churn: { days: 14 } });
});

Deno.test("loadConfig() refuses bad input with one line naming the variable, the expectation and the value", () => {
  const cases: [Record<string, string>, string][] = [
    [{ PORT: "abc" }, "Cannot start: PORT must be a number 1..65535, got 'abc'"],
    [{ PORT: "70000" }, "Cannot start: PORT must be 1..65535, got '70000'"],
    [{ DATABASE_URL: "mysql://x" }, "Cannot start: DATABASE_URL must be a postgres:// URL, got 'mysql://x'"],
    [{ SIMULATE: "-1" }, "Cannot start: SIMULATE must be ≥ 0 events per second, got '-1'"],
    [{ LOG_LEVEL: "loud" }, "Cannot start: LOG_LEVEL must be debug, info, warn or error, got 'loud'"],
    [{ KAFKA_FETCH_MIN_BYTES: "0" }, "Cannot start: KAFKA_FETCH_MIN_BYTES must be ≥ 1 byte, got '0'"],
    [
      { KAFKA_FETCH_MIN_BYTES: "2097152" },
      "Cannot start: KAFKA_FETCH_MIN_BYTES must be ≤ 1048576 bytes, got '2097152'",
    ],
    [
      { KAFKA_FETCH_MAX_WAIT_MS: "soon" },
      "Cannot start: KAFKA_FETCH_MAX_WAIT_MS must be a number of milliseconds, got 'soon'",
    ],
    [
      { KAFKA_BROKERS: "k:1", KAFKA_TRANSFORMS: "orders" },
      "Cannot start: KAFKA_TRANSFORMS must be a comma list of topic=plugin, got 'orders'",
    ],
    [
      { KAFKA_BROKERS: "k:1", KAFKA_TRANSFORMS: "orders=shop_orders" },
      "Cannot start: KAFKA_TRANSFORMS names topic 'orders', which KAFKA_TOPICS does not list",
    ],
    [
      { KAFKA_BROKERS: "not a broker" },
      "Cannot start: KAFKA_BROKERS must be a comma list of host:port, got 'not a broker'",
    ],
    [
      { KAFKA_BROKERS: "k:1", KAFKA_IDEMPOTENT: "yes" },
      "Cannot start: KAFKA_IDEMPOTENT must be true or false, got 'yes'",
    ],
    [{ PLUGINS_WATCH: "1" }, "Cannot start: PLUGINS_WATCH must be true or false, got '1'"],
    [{ PLUGINS_BATCH_WAIT_MS: "-1" }, "Cannot start: PLUGINS_BATCH_WAIT_MS must be ≥ 0 ms, got '-1'"],
    [{ PLUGINS_BATCH_WAIT_MS: "10001" }, "Cannot start: PLUGINS_BATCH_WAIT_MS must be ≤ 10000 ms, got '10001'"],
    [
      { PLUGINS_BATCH_WAIT_MS: "2.5" },
      "Cannot start: PLUGINS_BATCH_WAIT_MS must be a whole number of milliseconds, got '2.5'",
    ],
    [
      { PLUGINS_BATCH_WAIT_MS: "soon" },
      "Cannot start: PLUGINS_BATCH_WAIT_MS must be a number of milliseconds, got 'soon'",
    ],
    [
      { PLUGIN_STATS: "{" },
      "Cannot start: PLUGIN_STATS must be a JSON object of plugin settings, got text that is not JSON",
    ],
    // Secrets are not echoed: a URL's password is masked, plugin settings are not shown.
    [
      { DATABASE_URL: "mysql://app:hunter2@db:3306/x" },
      "Cannot start: DATABASE_URL must be a postgres:// URL, got 'mysql://app:***@db:3306/x'",
    ],
    [
      { PLUGIN_FRAUD: '{"apiKey": "sk-live-123"' },
      "Cannot start: PLUGIN_FRAUD must be a JSON object of plugin settings, got text that is not JSON",
    ],
  ];
  for (const [env, message] of cases) assert.throws(() => loadConfig(env), new ConfigError(message));
});

Deno.test("deno task start exits 1 with the one line for invalid configuration", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "start"],
    env: { PORT: "abc" },
    cwd: new URL("../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 1);
  assert.equal(new TextDecoder().decode(out.stderr).trim(), "Cannot start: PORT must be a number 1..65535, got 'abc'");
});
