// How soon alerts are written: replays a simulated history into an in-process runtime at a fixed rate and
// reports the time from an event being received to its alert being committed.
// `deno run -A tools/bench/fraud_alert_latency.ts [plugins, comma-separated] [events/s]`
import { simulateHistory } from "../../runtime/sources/simulator/mod.ts";
import {
  BACKENDS,
  pluginsFolder,
  postJson,
  REPO,
  startTestRuntime,
  waitForCatchUp,
} from "../../tests/support/harness.ts";
const names = (Deno.args[0] ?? "fraud").split(",");
const pluginsDir = await pluginsFolder(names.map((name) => ({ name, from: new URL("plugins/", REPO) })));
const rt = await startTestRuntime(BACKENDS[0], { pluginsDir });
const { events } = simulateHistory({ seed: 4, users: 500, start: new Date("2026-01-01T00:00:00Z"), days: 60 });
const rate = Number(Deno.args[1] ?? 2000);
const t0 = performance.now();
for (let i = 0; i < events.length; i += 100) {
  await postJson(rt, "/v1/events", events.slice(i, i + 100));
  const due = t0 + ((i + 100) / rate) * 1000;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
await waitForCatchUp(rt, 600_000);
const rows = await rt.store.query<{ ms: number }>(
  `select extract(epoch from a.created_at - e.received_at)::float8 * 1000 as ms from fraud.alerts a join host.events e using (event_id) order by 1`,
);
const q = (p: number) => rows[Math.min(rows.length - 1, Math.floor(p * rows.length))].ms.toFixed(0);
console.log(
  names.join("+"),
  `${rate} events/s:`,
  rows.length,
  "alerts; event received → alert written: p50",
  q(0.5),
  "ms, p99",
  q(0.99),
  "ms, max",
  q(1),
  "ms",
);
await rt.stop();
