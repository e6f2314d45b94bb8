/**
 * The alerts plugin on the other world (`support/other_world.ts`: sign-up waves, a sale week, a slow week, nights,
 * duplicates and late deliveries), against a recomputation from the raw events in delivery order; and its alerts
 * delivered to a real webhook receiver, checked with the Standard Webhooks reference library.
 * @module
 */
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import type { Event } from "../runtime/core/event.ts";
import { otherWorld } from "./support/other_world.ts";
import {
  getJson,
  type Json,
  pluginsFolder,
  postJson,
  REPO,
  testEachBackend,
  waitFor,
  waitForCatchUp,
  withRuntime,
} from "./support/harness.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface TestRule {
  name: string;
  enabled?: boolean;
  kpi: string;
  window: "hour" | "day";
  condition: "above" | "below" | "rises_by" | "falls_by";
  threshold: number;
  min_events: number;
  grace_minutes: number;
}

const RULES: TestRule[] = [
  {
    name: "conversion-drop",
    kpi: "conversion_rate",
    window: "hour",
    condition: "falls_by",
    threshold: 0.3,
    min_events: 40,
    grace_minutes: 5,
  },
  {
    name: "quiet-hour",
    kpi: "events",
    window: "hour",
    condition: "below",
    threshold: 15,
    min_events: 0,
    grace_minutes: 10,
  },
  {
    name: "big-day",
    kpi: "revenue",
    window: "day",
    condition: "above",
    threshold: 4000,
    min_events: 0,
    grace_minutes: 30,
  },
  {
    name: "search-surge",
    kpi: "events.search",
    window: "hour",
    condition: "rises_by",
    threshold: 1,
    min_events: 20,
    grace_minutes: 0,
  },
  { name: "aov-low", kpi: "aov", window: "day", condition: "below", threshold: 60, min_events: 100, grace_minutes: 60 },
  // Disabled: it would fire on every hour.
  {
    name: "off",
    enabled: false,
    kpi: "events",
    window: "hour",
    condition: "below",
    threshold: 1e9,
    min_events: 0,
    grace_minutes: 0,
  },
];

/**
 * What each rule fires on, recomputed from the events as delivered: the first of each event_id counts; the watermark is
 * the latest median time of the last 25 events; a window is judged when the watermark first reaches its end plus the
 * grace, with the events delivered up to then; windows that ended a week or more before the watermark are passed over.
 */
function expectedAlerts(events: Event[], rules: TestRule[]): string[] {
  const seen = new Set<string>();
  const perHour = new Map<number, Event[]>();
  let watermark = -Infinity;
  const recent: number[] = [];
  const next = new Map<string, number>();
  const out: string[] = [];
  const measure = (kpi: string, from: number, size: number): { value: number | null; events: number } => {
    const list: Event[] = [];
    for (let h = from; h < from + size; h += HOUR) list.push(...(perHour.get(h) ?? []));
    const n = (t: string) => list.filter((e) => e.type === t).length;
    const views = n("page_view") + n("product_view");
    const revenue = list.filter((e) => e.type === "purchase").reduce((s, e) => s + (e.properties.amount ?? 0), 0);
    const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
    const value = kpi === "conversion_rate"
      ? (views ? r4(n("purchase") / views) : null)
      : kpi === "events"
      ? list.length
      : kpi === "revenue"
      ? Math.round(revenue * 100) / 100
      : kpi === "aov"
      ? (n("purchase") ? Math.round(revenue / n("purchase") * 100) / 100 : null)
      : n(kpi.replace("events.", ""));
    return { value, events: list.length };
  };
  for (const e of events) {
    if (seen.has(e.event_id)) continue;
    seen.add(e.event_id);
    const t = Date.parse(e.timestamp);
    const hour = Math.floor(t / HOUR) * HOUR;
    perHour.set(hour, [...(perHour.get(hour) ?? []), e]);
    recent.push(t);
    if (recent.length > 25) recent.shift();
    const median = [...recent].sort((a, b) => a - b)[Math.floor((recent.length - 1) / 2)];
    if (median <= watermark) continue;
    watermark = median;
    for (const r of rules) {
      if (r.enabled === false) continue;
      const size = r.window === "hour" ? HOUR : DAY;
      let start = next.get(r.name) ?? Math.floor(watermark / size) * size;
      while (start + size <= watermark - 7 * DAY) start += size;
      for (; start + size + r.grace_minutes * 60_000 <= watermark; start += size) {
        const now = measure(r.kpi, start, size);
        if (now.value === null || now.events < r.min_events) continue;
        let fires = false;
        if (r.condition === "above") fires = now.value > r.threshold;
        else if (r.condition === "below") fires = now.value < r.threshold;
        else {
          const before = measure(r.kpi, start - size, size);
          if (before.value === null || before.value <= 0 || before.events < r.min_events) continue;
          const change = Math.round((now.value - before.value) / before.value * 1e4) / 1e4;
          fires = r.condition === "rises_by" ? change >= r.threshold : change <= -r.threshold;
        }
        const previous = r.condition.endsWith("_by") ? measure(r.kpi, start - size, size).value : null;
        const id = `${r.name}:${r.window}:${new Date(start).toISOString()}`;
        if (fires) out.push(`${id} ${now.value} ${previous} ${now.events}`);
      }
      next.set(r.name, start);
    }
  }
  return out.sort();
}

testEachBackend(
  "alerts fire on the windows a recomputation from the raw events finds, and reach a webhook signed",
  async (backend) => {
    const { events } = otherWorld({ seed: 31, users: 220, start: new Date("2026-05-04T00:00:00Z"), days: 24 });
    const pluginsDir = await pluginsFolder([{ name: "alerts", from: new URL("plugins/", REPO) }]);
    const got: { headers: Record<string, string>; body: string }[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      got.push({ headers: Object.fromEntries(req.headers), body: await req.text() });
      return new Response(null, { status: 204 });
    });
    const webhooks = { retryBaseMs: 20, maxAttempts: 3, allowHosts: ["127.0.0.1"] };
    try {
      await withRuntime(backend, { pluginsDir, money: { base: "USD", rates: {} }, webhooks }, async (rt) => {
        const secret = `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
        const hook = { url: `http://127.0.0.1:${server.addr.port}/hook`, secret, plugin: "alerts", channel: "alert" };
        const put = (path: string, body: unknown) =>
          rt.app.request(path, {
            method: "PUT",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          });
        assert.equal((await put("/api/webhooks/kpis", hook)).status, 200);
        for (const { name, ...rule } of RULES) {
          const res = await put(`/api/alerts/rules/${name}`, rule);
          assert.equal(res.status, 201, await res.text());
        }
        // In batches of up to 1,000 on one backend, of up to 389 on the other: the verdicts must not care.
        const chunk = backend.name === "postgres" ? 389 : 1000;
        for (let i = 0; i < events.length; i += chunk) {
          assert.deepEqual((await postJson(rt, "/v1/events", events.slice(i, i + chunk))).body.rejected, []);
          if (chunk < 1000) await waitForCatchUp(rt);
        }
        await waitForCatchUp(rt);

        const expected = expectedAlerts(events, RULES);
        for (const r of RULES) {
          const mine = expected.filter((a) => a.startsWith(`${r.name}:`)).length;
          assert.ok(
            r.enabled === false ? mine === 0 : mine > 0,
            `${r.name}: fires somewhere, unless disabled (${mine})`,
          );
        }
        const fired: Json[] = [];
        for (let before = "";;) {
          const { status, body } = await getJson(rt, `/api/alerts/fired?limit=100${before}`);
          assert.equal(status, 200, JSON.stringify(body));
          fired.push(...body.alerts);
          if (body.next_before === null) break;
          before = `&before=${body.next_before}`;
        }
        assert.deepEqual(fired.map((a) => `${a.alert_id} ${a.value} ${a.previous} ${a.events}`).sort(), expected);
        // Not every window fires: the rules tell windows apart.
        const hours = (Date.parse(events.at(-1)!.timestamp) - Date.parse(events[0].timestamp)) / HOUR;
        assert.ok(expected.filter((a) => a.startsWith("quiet-hour:")).length < hours * 0.9);

        // The KPI series counts every event, late ones included.
        const day = "2026-05-20T00:00:00.000Z";
        const series =
          (await getJson(rt, `/api/alerts/kpis?kpi=events&window=day&from=${day}&to=2026-05-21T00:00:00Z`)).body;
        const seen = new Set<string>();
        const onDay = events.filter((e) =>
          !seen.has(e.event_id) && seen.add(e.event_id) && e.timestamp.startsWith("2026-05-20")
        );
        assert.deepEqual(series.points, [{ start: day, value: onDay.length, events: onDay.length }]);

        // Every alert reached the webhook exactly once (a receiver answering 204 gets no retry), signed.
        await waitFor("every alert delivered", () => got.length >= fired.length);
        await new Promise((r) => setTimeout(r, 300)); // none more
        const delivered = got.map((g) => new Webhook(secret).verify(g.body, g.headers) as Json);
        assert.equal(new Set(got.map((g) => g.headers["webhook-id"])).size, got.length);
        assert.deepEqual(
          delivered.map((d) => `${d.type} ${d.data.alert_id} ${d.data.value} ${d.data.change}`).sort(),
          fired.map((a) => `alerts.alert ${a.alert_id} ${a.value} ${a.change}`).sort(),
        );
      });
    } finally {
      await server.shutdown();
    }
  },
);
