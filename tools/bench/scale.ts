/**
 * Scale-out on one machine: 1, 2 and 4 runtime processes on one PostgreSQL database, sharing the plugins' log
 * partitions. Each run warms the processes up (a fifth as many events, committed first: every process and sandbox has
 * compiled its hot code), then posts the events to the processes in turn, and measures the time until every plugin
 * committed them all and the CPU time spent meanwhile by every process involved (the runtimes, their plugins'
 * sandboxes, and PostgreSQL's), from `/proc`, and the log entries the runners read from the database rather than
 * from memory. The events are posted as fast as the processes take them, then again at a fixed rate that every count
 * of processes keeps up with: there the same work is done in the same time, so the CPU that grows with the count is
 * what each process adds, not the contention of more processes than cores. Then the same with no plugin (the host
 * alone, the log's appends), whose one lock per commit is what saturates first as processes are added.
 * @module
 */
import { type Backend, tempDir, waitFor } from "../../tests/support/harness.ts";
import { LOG_PARTITIONS } from "../../runtime/core/partitions.ts";
import { openPostgres } from "../../runtime/store/mod.ts";
import { postAll, postPaced } from "./load.ts";
import { BenchRuntime, commOf, cpuOf, round, seriesValue, TICKS, treePids } from "./process.ts";
import { freshEnv, type Row } from "./scenarios.ts";

/**
 * Runs the scenario with each count of `processes`: with the four plugins, posting as fast as they take it; with them,
 * posting `rate` events per second (every count does the same work in the same time, so what grows is what each
 * process adds); and with no plugin. One row per run.
 */
export async function scaleOut(backend: Backend, events: number, processes: number[], rate: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of processes) rows.push(await scaleRun(backend, events, n, true, null));
  for (const n of processes) rows.push(await scaleRun(backend, events, n, true, rate));
  for (const n of processes) rows.push(await scaleRun(backend, events, n, false, null));
  return rows;
}

async function scaleRun(
  backend: Backend,
  events: number,
  n: number,
  plugins: boolean,
  rate: number | null,
): Promise<Row> {
  const env = await freshEnv(backend);
  if (!plugins) env.PLUGINS_DIR = await tempDir("no-plugins-");
  const runtimes = await Promise.all(Array.from({ length: n }, () => BenchRuntime.start(env)));
  const store = await openPostgres(env.DATABASE_URL, 1);
  let measured;
  try {
    await split(runtimes);
    const urls = runtimes.map((rt) => rt.url);
    const committed = async (position: number) => {
      for (;;) {
        const [row] = await store.query<{ committed: number }>(
          plugins
            ? "select coalesce(min(committed), 0)::int8 as committed from host.checkpoints"
            : "select coalesce(max(position), 0)::int8 as committed from host.events",
        );
        if (row.committed >= position) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const warmUp = Math.ceil(events / 5);
    await postAll(urls, warmUp, 4 * n, 7);
    await committed(warmUp);
    const before = cpu(runtimes);
    const readBefore = await readFromDatabase(runtimes);
    const started = performance.now();
    await (rate === null ? postAll(urls, events, 4 * n) : postPaced(urls, events, rate));
    const ingestSeconds = (performance.now() - started) / 1000;
    await committed(warmUp + events);
    const seconds = (performance.now() - started) / 1000;
    const after = cpu(runtimes);
    measured = {
      seconds,
      ingestSeconds,
      runtimes: after.runtimes - before.runtimes,
      sandboxes: after.sandboxes - before.sandboxes,
      postgres: after.postgres - before.postgres,
      readFromDatabase: await readFromDatabase(runtimes) - readBefore,
    };
  } finally {
    await store.close();
    await Promise.all(runtimes.map((rt) => rt.stop()));
  }
  const per100k = (s: number) => round(s * 100_000 / events);
  const { seconds, ingestSeconds } = measured;
  const cpuRuntimes = per100k(measured.runtimes);
  const cpuSandboxes = per100k(measured.sandboxes);
  const cpuPostgres = per100k(measured.postgres);
  const read = Math.round(measured.readFromDatabase * 100_000 / events);
  return {
    scenario: `scale-out postgres${plugins ? "" : ", host only"}${rate === null ? "" : ` at ${rate}/s`}, ${n} process${
      n === 1 ? "" : "es"
    }`,
    events,
    seconds: round(seconds),
    eventsPerSecond: Math.round(events / seconds),
    summary: `CPU per 100k events ${round(cpuRuntimes + cpuSandboxes + cpuPostgres)} s (runtimes ${cpuRuntimes}, ` +
      `sandboxes ${cpuSandboxes}, PostgreSQL ${cpuPostgres}); ingest ${Math.round(events / ingestSeconds)}/s; ` +
      `${read} log entries per 100k read from the database`,
    details: {
      processes: n,
      rate,
      ingestSeconds: round(ingestSeconds),
      cpuPer100k: { runtimes: cpuRuntimes, sandboxes: cpuSandboxes, postgres: cpuPostgres },
      logEntriesReadFromDatabasePer100k: read,
    },
  };
}

/** Waits until the runtimes run disjoint shares of every plugin's partitions, which cover the log, each a share. */
async function split(runtimes: BenchRuntime[]): Promise<void> {
  await waitFor(`${runtimes.length} runtimes to split the plugins' partitions`, async () => {
    const shares = new Map<string, number[][]>();
    for (const rt of runtimes) {
      for (const p of (await rt.progress()).plugins) shares.set(p.name, [...shares.get(p.name) ?? [], p.partitions]);
    }
    return [...shares.values()].every((s) =>
      s.length === runtimes.length && s.flat().length === LOG_PARTITIONS && new Set(s.flat()).size === LOG_PARTITIONS
    );
  }, 30_000);
}

/**
 * CPU seconds so far of the runtimes' process trees, their plugins' sandboxes apart (processes run from a `data:`
 * module, `confine.ts`), and of every PostgreSQL process (with those it reaped).
 */
function cpu(runtimes: BenchRuntime[]): { runtimes: number; sandboxes: number; postgres: number } {
  let own = 0;
  let sandboxes = 0;
  for (const rt of runtimes) {
    for (const pid of treePids(rt.pid)) {
      if (isSandbox(pid)) sandboxes += cpuOf(pid, false);
      else own += cpuOf(pid, false);
    }
  }
  let postgres = 0;
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    if (commOf(pid) === "postgres") postgres += cpuOf(pid, true);
  }
  return { runtimes: own / TICKS, sandboxes: sandboxes / TICKS, postgres: postgres / TICKS };
}

function isSandbox(pid: number): boolean {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes("\0data:application/typescript,");
  } catch {
    return false;
  }
}

/** Log entries the runtimes' plugin runners read so far from the database (not from memory), from `/metrics`. */
async function readFromDatabase(runtimes: BenchRuntime[]): Promise<number> {
  let total = 0;
  for (const rt of runtimes) {
    total += seriesValue(await rt.metrics(), 'log_entries_read_total{from="database"}');
  }
  return total;
}
