import type { EventLog, LoggedEvent } from "../event_log.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Panel } from "../sdk.ts";
import type { Sql, Store } from "../store/mod.ts";
import { discoverPlugins } from "./discover.ts";
import { DEFAULT_RETRY, PluginRunner, type RetryPolicy, type Status } from "./runner.ts";

/** One plugin as `/api/plugins` lists it. */
export interface PluginInfo {
  name: string;
  version: string | null;
  status: Status;
  processed: number;
  failed: number;
  lag: number;
  /** The last log position whose effects the plugin committed. */
  checkpoint: number;
  subscribes: string[] | "*";
  panels: Panel[];
  error: string | null;
}

/** What the host needs to run plugins. */
export interface PluginHostOptions {
  store: Store;
  log: EventLog;
  logger: Logger;
  metrics: Metrics;
  pluginsDir: string;
  /** Raw settings per plugin name, validated by each plugin's own schema. */
  settings?: Record<string, unknown>;
  retry?: Partial<RetryPolicy>;
}

const STATUSES: Status[] = ["starting", "running", "degraded", "disabled", "failed"];

/** Discovers the plugins under a folder, runs each in its own sandbox, and routes requests to them. */
export class PluginHost {
  readonly #opts: PluginHostOptions;
  readonly #runners = new Map<string, PluginRunner>();
  readonly #broken: PluginInfo[] = [];
  #started = false;

  constructor(opts: PluginHostOptions) {
    this.#opts = opts;
    opts.metrics.collect(() => {
      for (const r of this.#runners.values()) {
        opts.metrics.set(
          "plugin_lag_events",
          "Events accepted but not yet committed by the plugin",
          { plugin: r.name },
          r.lag,
        );
        for (const s of STATUSES) {
          opts.metrics.set(
            "plugin_status",
            "1 for the plugin's current status",
            { plugin: r.name, status: s },
            r.status === s ? 1 : 0,
          );
        }
      }
    });
  }

  /** Loads every plugin found; a plugin that fails to load is listed as `failed`, the others run. */
  async start(): Promise<void> {
    const { plugins, problems } = await discoverPlugins(this.#opts.pluginsDir);
    for (const p of problems) {
      this.#opts.logger.error("plugin folder skipped", { plugin: p.name, error: p.error });
      this.#broken.push({
        name: p.name,
        version: null,
        status: "failed",
        processed: 0,
        failed: 0,
        lag: 0,
        checkpoint: 0,
        subscribes: [],
        panels: [],
        error: p.error,
      });
    }
    const retry = { ...DEFAULT_RETRY, ...this.#opts.retry };
    for (const source of plugins) {
      const runner = new PluginRunner(source, {
        store: this.#opts.store,
        log: this.#opts.log,
        logger: this.#opts.logger,
        metrics: this.#opts.metrics,
        retry,
        settings: this.#opts.settings?.[source.name] ?? {},
      });
      this.#runners.set(source.name, runner);
    }
    // Sandboxes start in parallel; provisioning serializes on a database lock.
    await Promise.all([...this.#runners.values()].map((r) => r.start()));
    this.#started = true;
  }

  /** True once every plugin has been loaded (or has failed to load). */
  get ready(): boolean {
    return this.#started;
  }

  /** The largest lag of any running plugin: the source pauses while it is too large. */
  get maxLag(): number {
    let lag = 0;
    for (const r of this.#runners.values()) {
      if (r.status === "running" || r.status === "degraded") lag = Math.max(lag, r.lag);
    }
    return lag;
  }

  /** Every plugin with its status and counters. */
  list(): PluginInfo[] {
    const infos = [...this.#runners.values()].map((r): PluginInfo => ({
      name: r.name,
      version: r.manifest?.version ?? null,
      status: r.status,
      processed: r.processed,
      failed: r.failed,
      lag: r.lag,
      checkpoint: r.checkpoint,
      subscribes: r.manifest?.subscribes ?? [],
      panels: r.manifest?.panels ?? [],
      error: r.lastError,
    }));
    return [...infos, ...this.#broken].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Routes a request to plugin `name`; `path` is relative to `/api/<name>`. Undefined when unknown. */
  fetch(name: string, request: Request, path: string): Promise<Response> | undefined {
    return this.#runners.get(name)?.fetch(request, path);
  }

  /**
   * The OpenAPI paths of plugin `name`'s routes: null when it does not describe them, undefined when it is not
   * loaded.
   */
  api(name: string): Record<string, unknown> | null | undefined {
    const manifest = this.#runners.get(name)?.manifest;
    return manifest?.hasFetch ? manifest.api : undefined;
  }

  /**
   * Runs a logged event through plugin `name` again, between its batches (see {@linkcode PluginRunner.replay});
   * undefined when no such plugin is loaded.
   */
  replay(name: string, row: LoggedEvent, claim: (tx: Sql) => Promise<boolean>): Promise<void> | undefined {
    return this.#runners.get(name)?.replay(row, claim);
  }

  /** Stops every plugin. */
  async stop(): Promise<void> {
    await Promise.all([...this.#runners.values()].map((r) => r.stop()));
  }
}
