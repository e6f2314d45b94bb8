/**
 * `deno task bench`: the runtime end to end, each scenario on a fresh database with the shipped plugins.
 * Prints a table and writes the figures as JSON (default `test-results/bench.json`).
 *
 *   deno run -A tools/bench/main.ts [--events 100000] [--backlog 1000000] [--seconds 10]
 *     [--rates 1000,5000,20000] [--naive 5000] [--score-rate 200] [--score-history 50000]
 *     [--processes 1,2,4] [--scale-rate 3000] [--query-events 1000000] [--query-events-postgres 10000000]
 *     [--only embedded,postgres,kafka,kafka-live,latency,score,backlog,naive,scale,queries] [--out FILE]
 *
 * Server-Postgres scenarios need `TEST_DATABASE_URL` (a superuser URL: each scenario creates its own database);
 * the Kafka scenario needs librdkafka's mock cluster (gcc and librdkafka-dev). Missing ones are skipped, and
 * the report says so.
 * @module
 */
import { parseArgs } from "node:util";
import { mockClusterAvailable } from "../../tests/support/kafka_mock_cluster.ts";
import { BACKENDS } from "../../tests/support/harness.ts";
import { kafkaLive } from "./kafka_live.ts";
import { backlog, freshEnv, kafkaThroughput, latency, naive, type Row, throughput } from "./scenarios.ts";
import { fraudScore } from "./fraud_score.ts";
import { queries } from "./queries.ts";
import { scaleOut } from "./scale.ts";

const { values: flags } = parseArgs({
  options: {
    events: { type: "string", default: "100000" },
    backlog: { type: "string", default: "1000000" },
    seconds: { type: "string", default: "10" },
    rates: { type: "string", default: "1000,5000,20000" },
    naive: { type: "string", default: "5000" },
    "score-rate": { type: "string", default: "200" },
    "score-history": { type: "string", default: "50000" },
    processes: { type: "string", default: "1,2,4" },
    "scale-rate": { type: "string", default: "3000" },
    "query-events": { type: "string", default: "1000000" },
    "query-events-postgres": { type: "string", default: "10000000" },
    only: { type: "string", default: "embedded,postgres,kafka,kafka-live,latency,score,backlog,naive,scale,queries" },
    out: { type: "string", default: "test-results/bench.json" },
  },
});
const only = new Set(flags.only.split(","));
const events = Number(flags.events);
const rates = flags.rates.split(",").map(Number);
const scaleRate = Number(flags["scale-rate"]);
if (!(scaleRate >= 1)) {
  console.error(`--scale-rate must be a number of events per second ≥ 1, got '${flags["scale-rate"]}'`);
  Deno.exit(2);
}
const postgres = Deno.env.get("TEST_DATABASE_URL") ? BACKENDS[1] : null;
const kafka = postgres !== null && await mockClusterAvailable();

const rows: Row[] = [];
const skipped: string[] = [];
const run = async (name: string, enabled: boolean, why: string, fn: () => Promise<Row | Row[]>) => {
  if (!enabled) return void (only.has(name.split(":")[0]) && skipped.push(`${name}: ${why}`));
  console.error(`[bench] ${name} ...`);
  const result = await fn();
  for (const row of [result].flat()) {
    rows.push(row);
    console.error(`[bench]   ${row.scenario}: ${row.summary}`);
  }
};
const noPg = "TEST_DATABASE_URL is not set";
await run("embedded", only.has("embedded"), "", () => throughput("embedded", BACKENDS[0], events));
await run("naive:embedded", only.has("naive"), "", () => naive("embedded", BACKENDS[0], Number(flags.naive)));
await run("postgres", only.has("postgres") && postgres !== null, noPg, () => throughput("postgres", postgres!, events));
await run(
  "naive:postgres",
  only.has("naive") && postgres !== null,
  noPg,
  () => naive("postgres", postgres!, Number(flags.naive)),
);
await run(
  "kafka",
  only.has("kafka") && kafka,
  `${noPg}, or the mock cluster cannot be built`,
  () => kafkaThroughput(postgres!, events),
);
await run(
  "kafka-live",
  only.has("kafka-live") && kafka,
  `${noPg}, or the mock cluster cannot be built`,
  () => kafkaLive(postgres!, 5_000, Number(flags.seconds)), // the rate of the latency target
);
for (const backend of [BACKENDS[0], postgres]) {
  if (backend === null) continue;
  const name = backend.name === "pglite" ? "embedded" : "postgres";
  await run(`latency:${name}`, only.has("latency"), "", () => latency(name, backend, rates, Number(flags.seconds)));
  const score = {
    history: Number(flags["score-history"]),
    rate: Number(flags["score-rate"]),
    seconds: Number(flags.seconds),
    ingestRate: 1000,
  };
  await run(
    `score:${name}`,
    only.has("score"),
    "",
    async () => fraudScore(name, backend, await freshEnv(backend), score),
  );
}
await run("backlog", only.has("backlog"), "", () => backlog(BACKENDS[0], Number(flags.backlog)));
for (const backend of [BACKENDS[0], postgres]) {
  if (backend === null) continue;
  const name = backend.name === "pglite" ? "embedded" : "postgres";
  const history = Number(flags[backend.name === "pglite" ? "query-events" : "query-events-postgres"]);
  await run(`queries:${name}`, only.has("queries"), "", () => queries(name, backend, history));
}
await run(
  "scale",
  only.has("scale") && postgres !== null,
  noPg,
  () => scaleOut(postgres!, events, flags.processes.split(",").map(Number), scaleRate),
);

const ratio = (ours: string, base: string) => {
  const a = rows.find((r) => r.scenario === ours)?.eventsPerSecond;
  const b = rows.find((r) => r.scenario === base)?.eventsPerSecond;
  return a && b ? Math.round(a / b * 10) / 10 : null;
};
const report = {
  date: new Date().toISOString(),
  commit: await gitCommit(),
  machine: {
    cores: navigator.hardwareConcurrency,
    memoryBytes: Deno.systemMemoryInfo().total,
    deno: Deno.version.deno,
  },
  flags,
  results: rows,
  ratios: {
    embeddedVsNaive: ratio("throughput embedded", "naive embedded"),
    postgresVsNaive: ratio("throughput postgres", "naive postgres"),
  },
  skipped,
};
console.log(table(rows));
if (report.ratios.embeddedVsNaive) console.log(`embedded: ${report.ratios.embeddedVsNaive}× the naive consumer`);
if (report.ratios.postgresVsNaive) console.log(`postgres: ${report.ratios.postgresVsNaive}× the naive consumer`);
for (const s of skipped) console.log(`skipped ${s}`);
await Deno.mkdir(new URL(".", new URL(flags.out, `file://${Deno.cwd()}/`)), { recursive: true });
await Deno.writeTextFile(flags.out, JSON.stringify(report, null, 2) + "\n");
console.log(`figures written to ${flags.out}`);

function table(rows: Row[]): string {
  const header = ["scenario", "events", "seconds", "events/s", "details"];
  const cells = rows.map((
    r,
  ) => [r.scenario, String(r.events), r.seconds.toFixed(1), String(r.eventsPerSecond ?? "-"), r.summary]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

async function gitCommit(): Promise<string | null> {
  try {
    const out = await new Deno.Command("git", {
      args: ["rev-parse", "--short", "HEAD"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}
