/**
 * stats' products and videos over ranges of event time, against a recomputation in plain TypeScript from the raw events
 * of the other world (`support/other_world.ts`): a history the simulator did not make, delivered with duplicates and
 * late events, read over ranges that cut days at any minute.
 * @module
 */
import assert from "node:assert/strict";
import type { Event } from "../runtime/core/event.ts";
import { otherWorld } from "./support/other_world.ts";
import {
  getJson,
  pluginsFolder,
  postJson,
  REPO,
  testEachBackend,
  waitForCatchUp,
  withRuntime,
} from "./support/harness.ts";

const MINUTE = 60_000;

/** Whether `ts` is in `[from, to)` taken in whole minutes (`from` down, `to` up to its minute's end), ends open when null. */
function inMinutes(ts: string, from: string | null, to: string | null): boolean {
  const t = Date.parse(ts);
  return (from === null || t >= Math.floor(Date.parse(from) / MINUTE) * MINUTE) &&
    (to === null || t < Math.ceil(Date.parse(to) / MINUTE) * MINUTE);
}

/** Each product's views, adds to cart, purchases and revenue (cents) from the events in range, by product id. */
function products(events: Event[], from: string | null, to: string | null) {
  const rows = new Map<string, { views: number; adds: number; bought: Set<string>; cents: number }>();
  const row = (id: string) => rows.get(id) ?? rows.set(id, { views: 0, adds: 0, bought: new Set(), cents: 0 }).get(id)!;
  for (const e of events.filter((e) => inMinutes(e.timestamp, from, to))) {
    const id = e.properties.product_id;
    if (e.type === "product_view" && typeof id === "string") row(id).views++;
    if (e.type === "add_to_cart" && typeof id === "string") row(id).adds++;
    if (e.type !== "purchase") continue;
    for (const item of e.properties.items ?? []) {
      if (item.product_id === undefined) continue;
      const r = row(item.product_id);
      r.bought.add(e.event_id);
      r.cents += Math.round(item.price * 100) * item.quantity;
    }
  }
  return [...rows].sort(([a], [b]) => a < b ? -1 : 1).map(([id, r]) => [id, r.views, r.adds, r.bought.size, r.cents]);
}

/** Per video, of the views (a user's plays within a session) whose first event is in range: plays, views, completions. */
function videos(events: Event[], from: string | null, to: string | null) {
  const views = new Map<string, { video: string; first: string; plays: number; done: boolean }>();
  for (const e of events.filter((e) => e.type.startsWith("video_"))) {
    const video = String(e.properties.video_id);
    const key = JSON.stringify([video, e.user_id, e.session_id ?? ""]);
    const v = views.get(key) ?? views.set(key, { video, first: e.timestamp, plays: 0, done: false }).get(key)!;
    if (e.timestamp < v.first) v.first = e.timestamp;
    if (e.type === "video_play") v.plays++;
    if (e.type === "video_complete") v.done = true;
  }
  const rows = new Map<string, [number, number, number]>();
  for (const v of [...views.values()].filter((v) => inMinutes(v.first, from, to))) {
    const [plays, n, done] = rows.get(v.video) ?? [0, 0, 0];
    rows.set(v.video, [plays + v.plays, n + 1, done + Number(v.done)]);
  }
  return [...rows].sort(([a], [b]) => a < b ? -1 : 1).map(([id, r]) => [id, ...r]);
}

testEachBackend(
  "stats' products and videos over ranges equal a recomputation from the other world's events",
  async (backend) => {
    const { events } = otherWorld({ seed: 31, users: 160, start: new Date("2026-01-05T00:00:00Z"), days: 30 });
    const seen = new Set<string>();
    const unique = events.filter((e) => !seen.has(e.event_id) && seen.add(e.event_id));
    assert.ok(unique.length < events.length, "the world holds duplicates");
    const pluginsDir = await pluginsFolder([{ name: "stats", from: new URL("plugins/", REPO) }]);
    await withRuntime(backend, { pluginsDir, money: { base: "USD", rates: {} } }, async (rt) => {
      for (let i = 0; i < events.length; i += 1000) {
        assert.deepEqual((await postJson(rt, "/v1/events", events.slice(i, i + 1000))).body.rejected, []);
      }
      await waitForCatchUp(rt);
      const ranges: [string | null, string | null][] = [
        [null, null],
        ["2026-01-12T00:00:00Z", "2026-01-19T00:00:00Z"], // whole days
        ["2026-01-09T13:17:45Z", "2026-01-23T08:02:10Z"], // whole days and the parts around them
        ["2026-01-20T06:00:00Z", "2026-01-20T21:30:00Z"], // within one day
        [null, "2026-01-15T12:00:00Z"],
        ["2026-01-28T18:45:00Z", null],
      ];
      for (const [from, to] of ranges) {
        const q = new URLSearchParams({ limit: "1000", ...(from ? { from } : {}), ...(to ? { to } : {}) });
        const label = `${from ?? "…"} to ${to ?? "…"}`;
        const expected = products(unique, from, to);
        assert.ok(expected.some((p) => (p[3] as number) > 0), `${label}: purchases in range`);
        const answered = (await getJson(rt, `/api/stats/products?${q}`)).body.products
          .map((
            p: Record<string, number>,
          ) => [p.product_id, p.views, p.adds_to_cart, p.purchases, Math.round(p.revenue * 100)])
          .sort((a: string[], b: string[]) => a[0] < b[0] ? -1 : 1);
        assert.deepEqual(answered, expected, `products, ${label}`);
        const plays = videos(unique, from, to);
        assert.ok(plays.length > 0, `${label}: videos in range`);
        const watched = (await getJson(rt, `/api/stats/videos?${q}`)).body.videos
          .map((v: Record<string, number>) => [v.video_id, v.plays, v.views, v.completions])
          .sort((a: string[], b: string[]) => a[0] < b[0] ? -1 : 1);
        assert.deepEqual(watched, plays, `videos, ${label}`);
      }
    });
  },
);
