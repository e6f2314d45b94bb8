/**
 * `deno task simulate [--url URL] [--rate N] [--count N] [--seed N] [--key KEY]`: posts simulated traffic
 * to a running runtime.
 */
import { parseArgs } from "node:util";
import { drive, httpSink, Simulator } from "./mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    url: { type: "string", default: "http://127.0.0.1:8000" },
    rate: { type: "string", default: "200" },
    count: { type: "string" },
    seed: { type: "string", default: String(Date.now() % 1_000_000_000) },
    key: { type: "string" },
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
const controller = new AbortController();
Deno.addSignalListener("SIGINT", () => controller.abort());
console.error(`simulate: ${rate} events/s to ${values.url} (seed ${seed}${count ? `, ${count} events` : ""})`);
const sent = await drive(new Simulator({ seed, live: true }), {
  rate,
  count,
  sink: httpSink(values.url, values.key),
  signal: controller.signal,
});
console.error(`simulate: sent ${sent} events`);
Deno.exit(0);
