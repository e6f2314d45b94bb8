import { type Logger, throttledLogger } from "../observability/logger.ts";
import type { MetricsRegistry } from "../observability/metrics.ts";
import { clampLimits, DEFAULT_LIMITS, type Limits } from "../sdk/mod.ts";
import { sandboxEnv } from "./confine.ts";
import { type Manifest, parseManifest } from "./protocol.ts";
import { Sandbox } from "./sandbox.ts";
import { processUsage } from "./usage.ts";

/** How often a sandbox's resident memory and CPU time are read. */
const USAGE_CHECK_MS = 100;
/** Lines a plugin may log per second (stderr and `env.log` together); the rest are counted and dropped. */
const LOG_LINES_PER_SECOND = 100;
/** Distinct counters a plugin may export on `/metrics`, and the names they may have. */
const MAX_CUSTOM_METRICS = 100;
const CUSTOM_METRIC = /^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/;

/**
 * The resident memory a sandbox may use before it is stopped: twice its V8 heap cap (`memoryMb`) plus 128 MiB for
 * the Deno runtime itself. It bounds what the heap cap does not: ArrayBuffers, typed arrays, workers.
 */
export function memoryCapBytes(memoryMb: number): number {
  return (2 * memoryMb + 128) * 1024 * 1024;
}

/** What a supervisor needs to (re)start a plugin's sandbox. */
export interface SupervisorOptions {
  name: string;
  modPath: string;
  settings: unknown;
  logger: Logger;
  metrics: MetricsRegistry;
  /** Delay before the n-th restart (ms). */
  backoff: (restarts: number) => number;
}

/**
 * Keeps one plugin's sandbox alive: starts it on first use, restarts it with backoff after it dies
 * (crash, heap cap, time limit), and knows the plugin's manifest and limits from its `init` answer.
 */
export class Supervisor {
  manifest: Manifest | null = null;
  limits: Limits = DEFAULT_LIMITS;
  readonly #opts: SupervisorOptions;
  #sandbox: Sandbox | null = null;
  #starting: Promise<Sandbox> | null = null;
  #restarts = 0;
  #watching: Promise<void> = Promise.resolve();
  readonly #output: Logger;
  readonly #customMetrics = new Set<string>();

  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
    this.#output = throttledLogger(opts.logger, {
      linesPerSecond: LOG_LINES_PER_SECOND,
      maxFieldChars: 2000,
      onDrop: () =>
        opts.metrics.inc("plugin_log_lines_dropped_total", "Plugin log lines dropped over the rate limit", {
          plugin: opts.name,
        }),
    });
  }

  /** The live sandbox, started (after a backoff when the last one died) if need be. */
  sandbox(): Promise<Sandbox> {
    if (this.#sandbox?.alive) return Promise.resolve(this.#sandbox);
    this.#starting ??= this.#start().finally(() => this.#starting = null);
    return this.#starting;
  }

  /** Records a healthy call: the next crash restarts without the accumulated backoff. */
  succeeded(): void {
    this.#restarts = 0;
  }

  /** Stops the sandbox (a later {@linkcode sandbox} call starts a new one) and waits for it to exit. */
  async kill(reason: string): Promise<void> {
    this.#sandbox?.kill(reason);
    await this.#sandbox?.closed;
    await this.#watching;
  }

  async #start(): Promise<Sandbox> {
    const { name, metrics } = this.#opts;
    if (this.#sandbox) {
      this.#restarts++;
      metrics.inc("plugin_restarts_total", "Plugin sandbox restarts", { plugin: name });
      await new Promise((r) => setTimeout(r, this.#opts.backoff(this.#restarts)));
    }
    const memoryMb = this.limits.memoryMb;
    const sandbox = new Sandbox({
      name,
      modPath: this.#opts.modPath,
      memoryMb,
      env: await sandboxEnv(),
      log: this.#output,
      onMetric: (metric, by) => this.#count(metric, by),
    });
    this.#sandbox = sandbox;
    this.#watching = this.#watch(sandbox, memoryCapBytes(memoryMb));
    const answer = await sandbox.call({ op: "init", name, settings: this.#opts.settings }, {
      timeoutMs: this.limits.timeoutMs,
    });
    try {
      this.manifest = parseManifest(name, answer);
    } catch (e) {
      sandbox.kill((e as Error).message);
      throw new Error(`plugin ${name}: ${(e as Error).message}`);
    }
    this.limits = clampLimits(this.manifest.limits);
    if (this.limits.memoryMb !== memoryMb) {
      // The heap cap is a process flag: start again with the plugin's own, without counting a restart.
      sandbox.kill("restarting with the plugin's memory limit");
      await sandbox.closed;
      this.#sandbox = null;
      return await this.#start();
    }
    return sandbox;
  }

  /**
   * Reads the sandbox's resident memory and CPU time while it lives: exported per plugin, and the sandbox is
   * stopped once its memory passes `capBytes`. Where the process cannot be read (no /proc), it is not watched.
   */
  async #watch(sandbox: Sandbox, capBytes: number): Promise<void> {
    const { name, metrics, logger } = this.#opts;
    const labels = { plugin: name };
    metrics.set(
      "plugin_memory_limit_bytes",
      "Resident memory a plugin's sandbox may use before it is stopped",
      labels,
      capBytes,
    );
    let cpu = 0;
    while (sandbox.alive) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([sandbox.closed, new Promise((r) => timer = setTimeout(r, USAGE_CHECK_MS))]);
      clearTimeout(timer);
      if (!sandbox.alive) break;
      const usage = await processUsage(sandbox.pid);
      if (usage === null) {
        // Gone meanwhile, or no /proc here: say so once, for the first reading.
        if (cpu === 0 && sandbox.alive) logger.warn("cannot read the sandbox's memory use: it is not watched");
        return;
      }
      metrics.set("plugin_memory_bytes", "Resident memory of each plugin's sandbox process", labels, usage.rssBytes);
      metrics.inc(
        "plugin_cpu_seconds_total",
        "CPU time used by each plugin's sandbox processes",
        labels,
        usage.cpuSeconds - cpu,
      );
      cpu = usage.cpuSeconds;
      if (usage.rssBytes > capBytes) {
        const mib = (n: number) => Math.round(n / 1024 / 1024);
        sandbox.kill(`sandbox used ${mib(usage.rssBytes)} MiB of memory, over its limit of ${mib(capBytes)} MiB`);
      }
    }
    metrics.set("plugin_memory_bytes", "Resident memory of each plugin's sandbox process", labels, 0);
  }

  /** A plugin's own counter: a bounded set of well-formed names, counting up only. */
  #count(metric: string, by: number): void {
    const { name, metrics } = this.#opts;
    if (!Number.isFinite(by) || by < 0) return;
    if (!this.#customMetrics.has(metric)) {
      const full = this.#customMetrics.size >= MAX_CUSTOM_METRICS;
      if (full || !CUSTOM_METRIC.test(metric)) {
        metrics.inc("plugin_custom_dropped_total", "Plugin counter increments refused: a bad name, or too many", {
          plugin: name,
        });
        const why = full
          ? `a plugin has at most ${MAX_CUSTOM_METRICS} counters`
          : `names match ${CUSTOM_METRIC.source}`;
        return this.#output.warn(`plugin counter refused: ${why}`, { metric: metric.slice(0, 100) });
      }
      this.#customMetrics.add(metric);
    }
    metrics.inc("plugin_custom_total", "Counters incremented by plugins", { plugin: name, metric }, by);
  }
}
