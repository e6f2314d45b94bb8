import type { Transform } from "../core/transform.ts";
import type { EventLog, LoggedEvent } from "../core/event_log.ts";
import type { Logger } from "../observability/logger.ts";
import type { MetricsRegistry } from "../observability/metrics.ts";
import type { Panel } from "../sdk/mod.ts";
import type { Sql, Store } from "../store/mod.ts";
import { discoverPlugin, discoverPlugins, type DiscoveryProblem, type PluginSource } from "./discover.ts";
import { DEFAULT_RETRY, PluginRunner, type RetryPolicy, type Status } from "./runner.ts";
import type { Ownership } from "./members.ts";
import { QUIET_MS, watchPluginFolders } from "./watch.ts";

/** One plugin as `/api/plugins` lists it. */
export interface PluginInfo {
  /** The plugin's name: its folder's, its schema's and its route prefix's. */
  name: string;
  /** Its version, null before its manifest is known. */
  version: string | null;
  /** Where it stands; `degraded` and `disabled` after failures, `failed` when it cannot load. */
  status: Status;
  /** Events it committed. */
  processed: number;
  /** Events it dead-lettered. */
  failed: number;
  /** Events accepted but not yet committed by it. */
  lag: number;
  /** The last log position up to which the plugin committed every log partition's events. */
  checkpoint: number;
  /** The log partitions this process runs of the plugin (`core/partitions.ts`). */
  partitions: number[];
  /** The event types it is handed, or "*" for all. */
  subscribes: string[] | "*";
  /** What the dashboard shows of it. */
  panels: Panel[];
  /** Why it is not running, when it is not. */
  error: string | null;
  /** The size of its schema's tables and indexes and of its stored notices, last measured. */
  storage_bytes: number;
  /** Its storage quota (schema and stored notices), in bytes. */
  storage_limit_bytes: number;
}

/** What the host needs to run plugins. */
export interface PluginHostOptions {
  store: Store;
  eventLog: EventLog;
  logger: Logger;
  metrics: MetricsRegistry;
  pluginsDir: string;
  /** Raw settings per plugin name, validated by each plugin's own schema. */
  settings?: Record<string, unknown>;
  retry?: Partial<RetryPolicy>;
  /** Check plugin SQL with the text guard first (default true); see `scope.ts`. */
  sqlTripwire?: boolean;
  /** Called after a plugin's notices were committed in this process. */
  notified?: () => void;
  /** Which log partitions of each plugin this process runs (default: all, alone on its database). */
  ownership?: Ownership;
  /** How long a runner gathers events for its next batch after it took one (ms; 0 takes what is there at once). */
  batchWaitMs?: number;
}

const STATUSES: Status[] = ["starting", "running", "degraded", "disabled", "failed"];

/** Discovers the plugins under a folder, runs each in its own sandbox, and routes requests to them. */
export class PluginHost {
  readonly #opts: PluginHostOptions;
  readonly #runners = new Map<string, PluginRunner>();
  #broken: PluginInfo[] = [];
  #started = false;
  #root = "";
  #unwatch: (() => void) | null = null;
  /** Per plugin: the reload under way (or the last one), and whether another is due after it. */
  readonly #reloads = new Map<string, Promise<void>>();
  readonly #due = new Set<string>();
  readonly #reloading = new Set<string>();

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
        const labels = { plugin: r.name };
        const help = "Size of each plugin's tables and indexes, and of its stored notices";
        opts.metrics.set("plugin_storage_bytes", help, labels, r.storageBytes);
        opts.metrics.set("plugin_storage_limit_bytes", "Each plugin's storage quota", labels, r.storageLimitBytes);
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
    this.#root = await Deno.realPath(this.#opts.pluginsDir);
    const { plugins, problems } = await discoverPlugins(this.#root);
    for (const p of problems) this.#skip(p);
    for (const source of plugins) this.#runners.set(source.name, this.#runner(source));
    // Sandboxes start in parallel; provisioning serializes on a database lock.
    await Promise.all([...this.#runners.values()].map((r) => r.start()));
    this.#started = true;
  }

  #runner(source: PluginSource): PluginRunner {
    return new PluginRunner(source, {
      store: this.#opts.store,
      eventLog: this.#opts.eventLog,
      logger: this.#opts.logger,
      metrics: this.#opts.metrics,
      retry: { ...DEFAULT_RETRY, ...this.#opts.retry },
      settings: this.#opts.settings?.[source.name] ?? {},
      sqlTripwire: this.#opts.sqlTripwire,
      notified: this.#opts.notified,
      ownership: this.#opts.ownership,
      batchWaitMs: this.#opts.batchWaitMs,
    });
  }

  #skip(p: DiscoveryProblem): void {
    this.#opts.logger.error("plugin folder skipped", { plugin: p.name, error: p.error });
    this.#broken.push({
      name: p.name,
      version: null,
      status: "failed",
      processed: 0,
      failed: 0,
      lag: 0,
      checkpoint: 0,
      partitions: [],
      subscribes: [],
      panels: [],
      error: p.error,
      storage_bytes: 0,
      storage_limit_bytes: 0,
    });
  }

  /**
   * Development: reloads a plugin whenever its folder changes, `quietMs` after the last change, until
   * {@linkcode stop}. A new folder is loaded (and backfills from the log), a removed one unloaded.
   */
  watch(quietMs = QUIET_MS): void {
    if (this.#unwatch) return;
    this.#unwatch = watchPluginFolders(this.#root, (name) => void this.reload(name), quietMs);
    this.#opts.logger.info("watching plugin folders: a changed folder reloads its plugin", { dir: this.#root });
  }

  /**
   * Stops plugin `name` (its current batch commits first), reads its folder again and starts it on its new code
   * and migrations, from its checkpoint. Reloads of one plugin run one at a time, and changes made while one
   * runs make at most one more.
   */
  reload(name: string): Promise<void> {
    if (this.#due.has(name)) return this.#reloads.get(name)!;
    this.#due.add(name);
    const next = (this.#reloads.get(name) ?? Promise.resolve()).then(async () => {
      this.#due.delete(name);
      await this.#reloadNow(name);
    }).catch((e) => this.#opts.logger.error("plugin reload failed", { plugin: name, error: (e as Error).message }));
    this.#reloads.set(name, next);
    return next;
  }

  async #reloadNow(name: string): Promise<void> {
    this.#reloading.add(name);
    try {
      await this.#swap(name);
    } finally {
      this.#reloading.delete(name);
    }
  }

  async #swap(name: string): Promise<void> {
    const found = await discoverPlugin(this.#root, name);
    const old = this.#runners.get(name);
    this.#broken = this.#broken.filter((b) => b.name !== name);
    if (old) {
      this.#runners.delete(name);
      await old.stop();
    }
    if (found === null) {
      if (old) this.#opts.logger.info("plugin unloaded: its folder has no mod.ts", { plugin: name });
      return;
    }
    if ("error" in found) return this.#skip(found);
    const runner = this.#runner(found);
    // Its counters are this process's, as /metrics' are: a reload does not reset them.
    runner.processed = old?.processed ?? 0;
    runner.failed = old?.failed ?? 0;
    this.#runners.set(name, runner);
    await runner.start();
    this.#opts.metrics.inc("plugin_reloads_total", "Plugins reloaded after their folder changed", { plugin: name });
    const level = runner.status === "failed" ? "error" : "info";
    this.#opts.logger[level](old ? "plugin reloaded" : "plugin loaded", {
      plugin: name,
      status: runner.status,
      checkpoint: runner.checkpoint,
    });
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

  /** The plugins this process runs: loaded, and neither disabled nor failed. */
  running(): string[] {
    return [...this.#runners.values()].filter((r) => r.status === "running" || r.status === "degraded").map((r) =>
      r.name
    );
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
      partitions: r.status === "running" || r.status === "degraded" ? [...r.partitions] : [],
      subscribes: r.manifest?.subscribes ?? [],
      panels: r.manifest?.panels ?? [],
      error: r.lastError,
      storage_bytes: r.storageBytes,
      storage_limit_bytes: r.storageLimitBytes,
    }));
    return [...infos, ...this.#broken].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Plugin `name`'s transform, or undefined when no such plugin is loaded or it has no `transform`. */
  transform(name: string): Transform | undefined {
    const runner = this.#runners.get(name);
    if (!runner?.manifest?.hasTransform) return undefined;
    return { name, run: (items) => runner.transform(items) };
  }

  /** Routes a request to plugin `name`; `path` is relative to `/api/<name>`. Undefined when unknown. */
  fetch(name: string, request: Request, path: string): Promise<Response> | undefined {
    const runner = this.#runners.get(name);
    if (!runner && this.#reloading.has(name)) {
      const body = { error: `plugin ${name} is reloading; retry shortly` };
      return Promise.resolve(Response.json(body, { status: 503, headers: { "retry-after": "1" } }));
    }
    return runner?.fetch(request, path);
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

  /** Stops watching, lets reloads under way finish, then stops every plugin. */
  async stop(): Promise<void> {
    this.#unwatch?.();
    await Promise.all(this.#reloads.values());
    await Promise.all([...this.#runners.values()].map((r) => r.stop()));
  }
}
