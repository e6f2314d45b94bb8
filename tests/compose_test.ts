import assert from "node:assert/strict";
import { mockClusterAvailable, startMockCluster } from "./support/kafka_mock_cluster.ts";
import {
  BACKENDS,
  pluginsFolder,
  postJson,
  REPO,
  scrape,
  startTestRuntime,
  waitFor,
  waitForCatchUp,
} from "./support/harness.ts";

const available = await new Deno.Command("docker-compose", { args: ["version"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success, () => false);

const read = (path: string) => Deno.readTextFile(new URL(path, REPO));
const compose = (...args: string[]) =>
  new Deno.Command("docker-compose", { args, cwd: REPO, stdout: "piped", stderr: "piped" }).output();

Deno.test({
  name: "docker-compose.yml is valid and wires the runtime to Kafka and Postgres, Prometheus to it, Grafana to both",
  // No Docker engine runs here: `config` validates the file; CI installs docker-compose for it.
  ignore: !available && Deno.env.get("CI") !== "true",
  async fn() {
    const out = await compose("config", "-q");
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const services = new TextDecoder().decode((await compose("config", "--services")).stdout).trim().split("\n");
    for (const s of ["kafka", "postgres", "runtime", "prometheus", "grafana"]) assert.ok(services.includes(s), s);
    const file = await read("docker-compose.yml");
    for (
      const wiring of [
        "KAFKA_BROKERS: kafka:9092",
        "DATABASE_URL: postgres://",
        "KAFKA_PROCESS_ROLES: broker,controller",
        "./ops/prometheus:/etc/prometheus:ro",
        "./ops/grafana/provisioning:/etc/grafana/provisioning:ro",
        "./ops/grafana/dashboards:/var/lib/grafana/dashboards:ro",
      ]
    ) {
      assert.ok(file.includes(wiring), wiring);
    }
    // Every file the services mount is in the repository.
    for (const [, source] of file.matchAll(/^\s+- (\.\/[^:]+):/gm)) await Deno.stat(new URL(source, REPO));
    // Prometheus finds every runtime process through Docker's DNS and loads the alerts it mounts.
    const prometheus = await read("ops/prometheus/prometheus.yml");
    assert.match(prometheus, /dns_sd_configs:\s+- names: \[runtime\]\s+type: A\s+port: 8000/);
    assert.match(prometheus, /rule_files:\s+- \/etc\/prometheus\/alerts\.yml/);
    // Grafana's data source is the one the dashboard names, and its provider reads where the dashboard is mounted.
    const datasource = await read("ops/grafana/provisioning/datasources/prometheus.yml");
    assert.match(datasource, /uid: prometheus\s+type: prometheus\s+access: proxy\s+url: http:\/\/prometheus:9090/);
    assert.match(
      await read("ops/grafana/provisioning/dashboards/runtime.yml"),
      /path: \/var\/lib\/grafana\/dashboards/,
    );
    const dashboard = JSON.parse(await read("ops/grafana/dashboards/runtime.json"));
    const uids = new Set(dashboard.panels.flatMap((p: Panel) => p.targets?.map((t) => t.datasource.uid) ?? []));
    assert.deepEqual([...uids], ["prometheus"]);
  },
});

interface Panel {
  title: string;
  targets?: { expr: string; datasource: { uid: string } }[];
}

/** The metric names a PromQL expression selects (functions, keywords, labels, strings and numbers left out). */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "")
    .replace(/(?<![\w:])\d[\d.]*(e[+-]?\d+)?/gi, "0");
  const keywords = new Set(["by", "without", "on", "ignoring", "and", "or", "unless", "bool", "offset", "inf", "nan"]);
  const names = [];
  for (const m of bare.matchAll(/[a-zA-Z_:][\w:]*/g)) {
    if (keywords.has(m[0].toLowerCase()) || bare.slice(m.index + m[0].length).trimStart().startsWith("(")) continue;
    names.push(m[0]);
  }
  return names;
}

Deno.test("metricNames() finds the selected metrics of a PromQL expression", () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.99, sum by (plugin, le) (rate(plugin_batch_seconds_bucket{op="x"}[$__rate_interval])))',
    ),
    ["plugin_batch_seconds_bucket"],
  );
  assert.deepEqual(metricNames("sum(rate(a_total[5m])) / sum(rate(b_total[5m])) > 1.5e9 or vector(0)"), [
    "a_total",
    "b_total",
  ]);
  assert.deepEqual(metricNames('max by (plugin) (m_bytes / limit_bytes) > 0.8 and on (x) up{job="runtime"} == 0'), [
    "m_bytes",
    "limit_bytes",
    "up",
  ]);
});

Deno.test({
  name: "every metric the Grafana dashboard and the Prometheus alerts query is one a started runtime exports",
  // The source's metrics need Kafka: the mock cluster, as in the Kafka tests.
  ignore: Deno.env.get("CI") !== "true" && !await mockClusterAvailable(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dashboard = JSON.parse(await read("ops/grafana/dashboards/runtime.json"));
    const queried = new Map<string, string>(); // metric → where
    for (const panel of dashboard.panels as Panel[]) {
      for (const t of panel.targets ?? []) {
        for (const m of metricNames(t.expr)) queried.set(m, `panel '${panel.title}'`);
      }
    }
    const alerts = await read("ops/prometheus/alerts.yml");
    for (const [, name, expr] of alerts.matchAll(/- alert: (\w+)\s+expr: (.+)$/gm)) {
      for (const m of metricNames(expr)) queried.set(m, `alert ${name}`);
    }
    assert.ok(queried.size >= 25, `${queried.size} metrics queried`);

    const cluster = await startMockCluster(1, { "user-events": 2 });
    const kafka = {
      brokers: [cluster.bootstrap],
      topics: ["user-events"],
      group: `g-${crypto.randomUUID().slice(0, 8)}`,
      idempotent: false, // the mock cluster cannot give a producer id
      sessionTimeoutMs: 6000,
      fetchMinBytes: 65_536,
      fetchMaxWaitMs: 100,
      transforms: new Map(),
    };
    const rt = await startTestRuntime(BACKENDS[0], { pluginsDir: await pluginsFolder([{ name: "counter" }]), kafka });
    try {
      const events = [1, 2, 3].map((i) => ({
        event_id: `m${i}`,
        type: "login",
        user_id: `u${i}`,
        timestamp: "2026-01-01T00:00:00Z",
      }));
      assert.equal((await postJson(rt, "/v1/events", events)).body.accepted, 3);
      await waitFor("the events through Kafka into the log", () => rt.eventLog.head === 3, 60_000);
      await waitForCatchUp(rt);
      await waitFor("a sandbox memory reading", () => rt.metrics.value("plugin_memory_bytes", { plugin: "counter" }));
      await waitFor("partition lag", () => rt.source!.partitions().length === 2);
      const exported = new Set([...(await scrape(rt.app)).keys()].map((series) => series.replace(/\{.*$/, "")));
      exported.add("up"); // made by Prometheus for each scrape
      const missing = [...queried].filter(([m]) => !exported.has(m)).map(([m, where]) => `${m} (${where})`);
      assert.deepEqual(missing, []);
    } finally {
      await rt.stop();
      await cluster.stop();
    }
  },
});
