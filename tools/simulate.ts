/**
 * `deno task simulate [--url URL] [--rate N] [--count N] [--seed N] [--key KEY]`: posts simulated traffic
 * to a running runtime. With `--history DAYS [--users N] [--labels FILE]` it posts a history of that many
 * days instead (churners, injected fraud) and writes its ground truth to FILE, beside the run.
 */
import { parseArgs } from "node:util";
import { drive, type EventSource, httpSink, simulateHistory, Simulator } from "../runtime/sources/simulator/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    url: { type: "string", default: "http://127.0.0.1:8000" },
    rate: { type: "string", default: "200" },
    count: { type: "string" },
    seed: { type: "string", default: String(Date.now() % 1_000_000_000) },
    key: { type: "string" },
    history: { type: "string" },
    users: { type: "string", default: "1000" },
    labels: { type: "string", default: "labels.json" },
  },
});
const rate = Number(values.rate);
const count = values.count === undefined ? undefined : Number(values.count);
const seed = Number(values.seed);
for (const [name, v] of [["rate", rate], ["seed", seed], ["count", count ?? 1]] as const) {
  if (!Number.isFinite(v) || v < 0) {
    console.error(`simulate: --${name} must be a number ≥ 0`);
    Deno.exit(2);
  }
}
let source: EventSource = new Simulator({ seed, live: true });
let total = count;
if (values.history !== undefined) {
  const days = Number(values.history);
  const users = Number(values.users);
  if (!Number.isInteger(days) || days < 1 || !Number.isInteger(users) || users < 1) {
    console.error("simulate: --history and --users must be whole numbers ≥ 1");
    Deno.exit(2);
  }
  const start = new Date(Math.floor(Date.now() / 86_400_000 - days) * 86_400_000);
  // Its own population (h0, h1, …): the in-process simulator's users (u0, …) have other homes and devices.
  const { events, labels } = simulateHistory({ seed, users, days, start, userPrefix: "h" });
  await Deno.writeTextFile(values.labels, JSON.stringify(labels, null, 1));
  console.error(`simulate: ${events.length} events over ${days} days; ground truth in ${values.labels}`);
  let at = 0;
  source = { take: (n) => events.slice(at, at += n) };
  total = Math.min(count ?? Infinity, events.length);
}
const controller = new AbortController();
Deno.addSignalListener("SIGINT", () => controller.abort());
console.error(`simulate: ${rate} events/s to ${values.url} (seed ${seed}${count ? `, ${count} events` : ""})`);
const sent = await drive(source, {
  rate,
  count: total,
  sink: httpSink(values.url, values.key),
  signal: controller.signal,
});
console.error(`simulate: sent ${sent} events`);
Deno.exit(0);
