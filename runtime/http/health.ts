/**
 * The host's own state over HTTP: liveness (`/healthz`), readiness (`/readyz`), Prometheus metrics (`/metrics`) and
 * every plugin's status and progress (`/api/plugins`).
 * @module
 */
import type { Hono } from "hono";
import type { RuntimeParts } from "./context.ts";
import { describeRoute } from "./openapi.ts";
import * as api from "./schemas.ts";

/** Adds the health, metrics and plugin-list routes to `app`. */
export function mountHealth(app: Hono, ctx: RuntimeParts): void {
  app.get("/healthz", describeRoute({ summary: "Liveness", response: api.Health }), (c) => c.json({ status: "ok" }));
  const readiness = describeRoute({
    summary: "Readiness: 200 only when the store, the source and every plugin are ready",
    response: api.Ready,
    errors: [503],
  });
  app.get("/readyz", readiness, async (c) => {
    const problems: string[] = [];
    try {
      await ctx.store.query("select 1");
    } catch (e) {
      problems.push(`store: ${(e as Error).message}`);
    }
    if (ctx.source && !ctx.source.ready) problems.push("source: the Kafka consumer has not joined its group");
    if (!ctx.plugins.ready) problems.push("plugins: still loading");
    for (const p of ctx.plugins.list()) if (p.status === "failed") problems.push(`plugin ${p.name} failed: ${p.error}`);
    return problems.length ? c.json({ status: "not ready", problems }, 503) : c.json({ status: "ready" });
  });
  const metricsSpec = describeRoute({ summary: "Prometheus metrics", contentType: "text/plain; version=0.0.4" });
  app.get(
    "/metrics",
    metricsSpec,
    (c) => c.text(ctx.metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" }),
  );
  const pluginList = describeRoute({ summary: "Every plugin with its status and progress", response: api.PluginList });
  app.get("/api/plugins", pluginList, (c) =>
    c.json({
      plugins: ctx.plugins.list(),
      log: { head: ctx.eventLog.head, watermark: ctx.eventLog.watermark },
      source: ctx.source ? { kind: "kafka", partitions: ctx.source.partitions() } : { kind: "http" },
    }));
}
