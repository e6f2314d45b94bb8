/**
 * The runtime under benchmark, as its own process (`deno task start`): started on a fresh database, watched
 * through its HTTP API and `/proc`, stopped with SIGTERM.
 * @module
 */
import { type RuntimeProcess, spawnRuntime, waitFor } from "../../tests/support/harness.ts";

/** One plugin as `/api/plugins` lists it (the fields the benchmarks read). */
interface PluginProgress {
  name: string;
  status: string;
  checkpoint: number;
  /** The log partitions this process runs of it. */
  partitions: number[];
}

/** A started runtime process and what the benchmarks ask of it. */
export class BenchRuntime {
  readonly #process: RuntimeProcess;
  #peakRss = 0;
  #sampler: ReturnType<typeof setInterval> | undefined;

  private constructor(process: RuntimeProcess) {
    this.#process = process;
  }

  /** Starts the runtime with `env` (on top of the benchmark's quiet defaults) and waits until it is ready. */
  static async start(env: Record<string, string>): Promise<BenchRuntime> {
    const rt = new BenchRuntime(spawnRuntime({ LOG_LEVEL: "error", ...env }));
    await rt.#process.ready(120_000);
    return rt;
  }

  get url(): string {
    return this.#process.url;
  }

  /** The runtime's process id. */
  get pid(): number {
    return this.#process.child.pid;
  }

  /** The lowest checkpoint of the running plugins (what every plugin has committed) and the log's head. */
  async progress(): Promise<{ committed: number; head: number; plugins: PluginProgress[] }> {
    const body = await (await fetch(`${this.url}/api/plugins`)).json();
    const plugins = (body.plugins as PluginProgress[]).filter((p) => p.status === "running" || p.status === "degraded");
    const committed = plugins.length === 0 ? body.log.head : Math.min(...plugins.map((p) => p.checkpoint));
    return { committed, head: body.log.head, plugins };
  }

  /** Waits until every running plugin has committed `position`; answers when that was seen (ms, performance.now). */
  async committed(position: number, timeoutMs = 900_000): Promise<number> {
    await waitFor(
      `plugins to commit position ${position}`,
      async () => (await this.progress()).committed >= position,
      timeoutMs,
    );
    return performance.now();
  }

  /** The runtime's metrics in the Prometheus text format. */
  async metrics(): Promise<string> {
    return await (await fetch(`${this.url}/metrics`)).text();
  }

  /** Samples the resident memory of the runtime and its plugins' sandboxes every `everyMs`, keeping the peak. */
  sampleRss(everyMs = 200): void {
    const sample = () => {
      this.#peakRss = Math.max(this.#peakRss, treeRss(this.#process.child.pid));
    };
    sample();
    this.#sampler = setInterval(sample, everyMs);
  }

  /** The peak resident memory seen by {@linkcode sampleRss} (bytes). */
  get peakRss(): number {
    return this.#peakRss;
  }

  /** Stops the runtime gracefully (SIGTERM) and waits for it to exit. */
  async stop(): Promise<void> {
    clearInterval(this.#sampler);
    this.#process.child.kill("SIGTERM");
    await this.#process.child.status;
  }
}

/** Resident memory of a process and its children (bytes), from `/proc`; 0 where it cannot be read. */
export function treeRss(pid: number): number {
  return treePids(pid).reduce((total, p) => total + rss(p), 0);
}

/** A process and its descendants, from `/proc`. */
export function treePids(pid: number): number[] {
  return [pid, ...children(pid).flatMap(treePids)];
}

function rss(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

function children(pid: number): number[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The value of one series (`name{labels}` as `/metrics` writes it) in a `/metrics` text; 0 when absent. */
export function seriesValue(metrics: string, series: string): number {
  const line = metrics.split("\n").find((l) => l.startsWith(`${series} `));
  return Number(line?.slice(series.length + 1) ?? 0);
}

/** Per plugin, the mean batch cost (ms) and cost per event (µs), from `/metrics`. */
export function batchCosts(
  metrics: string,
): Record<string, { batches: number; msPerBatch: number; usPerEvent: number }> {
  const value = (name: string, plugin: string) => seriesValue(metrics, `${name}{plugin="${plugin}"}`);
  const plugins = [...metrics.matchAll(/^plugin_batch_seconds_count\{plugin="([^"]+)"\}/gm)].map((m) => m[1]);
  return Object.fromEntries(plugins.map((p) => {
    const batches = value("plugin_batch_seconds_count", p);
    const seconds = value("plugin_batch_seconds_sum", p);
    const events = value("plugin_events_processed_total", p);
    return [p, {
      batches,
      msPerBatch: round(batches ? seconds * 1000 / batches : 0),
      usPerEvent: round(events ? seconds * 1e6 / events : 0),
    }];
  }));
}

/** Rounds to 3 significant decimals, for reports. */
export function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** USER_HZ: the unit of `/proc`'s CPU times on Linux. */
export const TICKS = 100;

/** A process's CPU time in ticks: user and system, and with `reaped` its waited-for children's too. */
export function cpuOf(pid: number, reaped: boolean): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // after "pid (comm) ": state is field 3
    const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
    return utime + stime + (reaped ? cutime + cstime : 0);
  } catch {
    return 0; // it ended between the listing and the read
  }
}

/** A process's command name (`/proc/<pid>/comm`); empty when it is gone. */
export function commOf(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
  } catch {
    return "";
  }
}
