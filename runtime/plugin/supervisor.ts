import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { clampLimits, DEFAULT_LIMITS, type Limits } from "../sdk.ts";
import type { Manifest } from "./protocol.ts";
import { Sandbox } from "./sandbox.ts";

/** What a supervisor needs to (re)start a plugin's sandbox. */
export interface SupervisorOptions {
  name: string;
  modPath: string;
  settings: unknown;
  logger: Logger;
  metrics: Metrics;
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

  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
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
      log: this.#opts.logger,
      onMetric: (metric, by) =>
        metrics.inc("plugin_custom_total", "Counters incremented by plugins", { plugin: name, metric }, by),
    });
    this.#sandbox = sandbox;
    this.manifest = await sandbox.call({ op: "init", name, settings: this.#opts.settings }, {
      timeoutMs: this.limits.timeoutMs,
    }) as Manifest;
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
}
