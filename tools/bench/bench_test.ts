import assert from "node:assert/strict";
import { BACKENDS, REPO, tempDir } from "../../tests/support/harness.ts";

Deno.test({
  name: "deno task bench runs its scenarios at a small scale and writes the table and the JSON report",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const out = `${await tempDir("bench-")}/bench.json`;
    const args = ["--events", "3000", "--backlog", "2000", "--naive", "300", "--seconds", "1.5", "--rates", "400"];
    args.push("--score-history", "2000", "--query-events", "3000");
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "tools/bench/main.ts",
        ...args,
        "--only",
        "embedded,naive,latency,score,backlog,queries",
        "--out",
        out,
      ],
      cwd: REPO,
      env: { TEST_DATABASE_URL: "" }, // the embedded scenarios only: this is a smoke test, not a measurement
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(run.stdout);
    assert.ok(run.success, `bench failed:\n${new TextDecoder().decode(run.stderr)}`);
    const report = JSON.parse(await Deno.readTextFile(out));
    const scenarios = report.results.map((r: { scenario: string }) => r.scenario);
    assert.deepEqual(scenarios, [
      "throughput embedded",
      "naive embedded",
      "latency embedded @ 400/s",
      "fraud score embedded @ 200/s",
      "fraud score embedded @ 200/s, ingesting 1000 events/s",
      "ingest only (host, no plugins) embedded",
      "backlog catch-up embedded",
      "query embedded: retention, last 8 days",
      "query embedded: retention, 60 days by day, 30 periods",
      "query embedded: retention, 60 days by week",
      "query embedded: retention back with a purchase, 14 days",
      "query embedded: retention from the first purchase, by week",
      "query embedded: paths after a product view, 4 deep",
      "query embedded: paths before a purchase, 60 days, 6 deep",
      "query embedded: paths after a search, last 7 days",
      "query embedded: paths after a search, from a time of day",
      "query embedded: paths after a product view, 60 days from a time of day",
      "query embedded: overview by country, last 24 hours",
      "query embedded: overview by device, filtered, last 7 days",
      "query embedded: events per hour by country, last 7 days",
      "query embedded: overview by category, 60 days",
      "query embedded: top products by revenue, last 7 days from a time of day",
      "query embedded: top products by views, 60 days from a time of day",
      "query embedded: videos, last 7 days from a time of day",
      "query embedded: videos, 60 days",
      "query embedded: funnel report, view to purchase, last 24 hours",
      "query embedded: funnel report, view to purchase, last 7 days",
      "query embedded: funnel report by country, filtered by device, last 7 days",
      "query embedded: funnel report by country, 60 days",
    ]);
    const asked = report.results.filter((r: { scenario: string }) => r.scenario.startsWith("query"));
    for (const r of asked) assert.ok(r.events === 3000 && r.details.p95Ms >= r.details.p50Ms, r.scenario);
    const [idle, busy] = report.results.filter((r: { scenario: string }) => r.scenario.startsWith("fraud score"));
    const timed = (r: { scenario: string }) => !r.scenario.startsWith("fraud score") && !r.scenario.startsWith("query");
    for (const r of report.results.filter(timed)) {
      assert.ok(r.eventsPerSecond > 0, `${r.scenario}: ${r.eventsPerSecond} events/s`);
    }
    // Every scoring request answered (else the run throws), and timed.
    for (const r of [idle, busy]) assert.ok(r.details.requests === 300 && r.details.p99Ms >= r.details.p50Ms);
    const throughput = report.results[0];
    assert.equal(throughput.events, 3000);
    assert.deepEqual(Object.keys(throughput.details.plugins).sort(), ["alerts", "churn", "fraud", "funnel", "stats"]);
    assert.ok(throughput.details.peakRssBytes > 0);
    assert.equal(report.results[2].details.keptUp, true);
    assert.ok(report.results[2].details.p99Ms >= report.results[2].details.p50Ms);
    assert.ok(report.ratios.embeddedVsNaive > 0);
    assert.match(stdout, /^\| throughput embedded +\| 3000 +\|/m);
    assert.match(stdout, /^embedded: [\d.]+× the naive consumer$/m);
  },
});

Deno.test({
  name:
    "deno task bench --only scale runs 2 processes on one database, with the plugins at full speed and paced, and without",
  ignore: !BACKENDS[1].enabled,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const out = `${await tempDir("bench-")}/scale.json`;
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "tools/bench/main.ts", "--events", "2000", "--processes", "2", "--only", "scale"]
        .concat(["--scale-rate", "1000", "--out", out]),
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(run.success, `bench failed:\n${new TextDecoder().decode(run.stderr)}`);
    const { results } = JSON.parse(await Deno.readTextFile(out));
    assert.deepEqual(results.map((r: { scenario: string }) => r.scenario), [
      "scale-out postgres, 2 processes",
      "scale-out postgres at 1000/s, 2 processes",
      "scale-out postgres, host only, 2 processes",
    ]);
    for (const r of results) {
      assert.equal(r.events, 2000);
      // CPU time was read from /proc for the runtimes, their sandboxes (none with no plugin) and PostgreSQL's processes.
      const { runtimes, sandboxes, postgres } = r.details.cpuPer100k;
      assert.ok(runtimes > 0 && postgres > 0, JSON.stringify(r.details));
      assert.equal(sandboxes > 0, !r.scenario.includes("host only"), JSON.stringify(r.details));
    }
    // Paced, the 2,000 events took about two seconds to send.
    assert.equal(results[1].details.rate, 1000);
    assert.ok(results[1].details.ingestSeconds >= 1.9, JSON.stringify(results[1].details));
    // Each process's runners read the other's appends from the database; with no plugin, nobody reads.
    assert.ok(results[0].details.logEntriesReadFromDatabasePer100k > 0, JSON.stringify(results[0].details));
    assert.equal(results[2].details.logEntriesReadFromDatabasePer100k, 0);
  },
});
