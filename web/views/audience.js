// @ts-check
/// <reference lib="dom" />
/**
 * The "Audience" view, one page at a time (`#/audience/<page>`): users per RFM segment, revenue by device, the
 * distributions of session length and pages per session, and the videos watched. Each chart has its table beside it.
 * @module
 */
import { barChart, formatNumber } from "../charts.js";
import { h } from "../dom.js";
import { change, compared, keepRange, rangeQuery } from "../range.js";
import { note, pct, section, table } from "../widgets.js";
import { peopleHref } from "./people.js";

/** @import { ViewContext } from "../app.js" */

/** `GET /api/stats/segments`. @typedef {{ segments: { segment: string, users: number }[] }} Segments */
/** `GET /api/stats/revenue`. @typedef {{ rows: { key: string, revenue: number, purchases: number, users: number }[] }} Revenue */
/** A histogram bucket of `GET /api/stats/sessions`. @typedef {{ from: number, to: number | null, sessions: number }} Bucket */
/** `GET /api/stats/sessions`. @typedef {{ duration_s: Bucket[], pages: Bucket[] }} Sessions */
/**
 * `GET /api/stats/videos`.
 * @typedef {{ videos: { video_id: string, plays: number, views: number, completions: number, completion_rate: number,
 *   watch_time_s: number }[] }} Videos
 */

/** The pages, by their name in the hash, with their titles. */
const PAGES = { segments: "Segments", devices: "Devices", sessions: "Sessions", videos: "Videos" };

/**
 * The page `arg` names (segments by default), under links to the others.
 * @param {ViewContext} ctx
 * @param {string} [arg]
 * @returns {Promise<Node[]>}
 */
export async function audienceView(ctx, arg) {
  const page = arg !== undefined && Object.hasOwn(PAGES, arg) ? /** @type {keyof typeof PAGES} */ (arg) : "segments";
  const tabs = h(
    "nav",
    { class: "filters", "aria-label": "Audience pages" },
    Object.entries(PAGES).map(([name, title]) =>
      h("a", { href: keepRange(`#/audience/${name}`), "aria-current": name === page ? "page" : undefined }, title)
    ),
  );
  return [tabs, ...await PAGE_VIEWS[page](ctx)];
}

/** @type {Record<keyof typeof PAGES, (ctx: ViewContext) => Promise<Node[]>>} */
const PAGE_VIEWS = {
  async segments(ctx) {
    const { segments } = /** @type {Segments} */ (await ctx.api("/api/stats/segments"));
    const all = segments.reduce((sum, s) => sum + s.users, 0);
    if (all === 0) return [note("empty", "No users yet.")];
    const rows = segments.map((s) => ({ ...s, share: s.users / all }));
    return [section(
      "Users per RFM segment",
      barChart("users per segment", rows.map((s) => ({ label: s.segment, value: s.users, note: pct(s.share) }))),
      table(
        "recency, frequency and monetary tiers, best first (each count links to its users)",
        [
          ["segment", "segment"],
          [
            "users",
            "users",
            (/** @type {number} */ n, /** @type {{ segment: string }} */ s) =>
              h("a", { href: peopleHref(new URLSearchParams({ of: "segment", segment: s.segment })) }, formatNumber(n)),
          ],
          ["share", "share", pct],
        ],
        rows,
        { path: "/api/stats/segments" },
      ),
    )];
  },

  async devices(ctx) {
    const range = ctx.range ? rangeQuery(ctx.range) : "";
    const [{ rows }, before] = await Promise.all([
      /** @type {Promise<Revenue>} */ (ctx.api(`/api/stats/revenue?by=device&${range}`)),
      ctx.range?.previous
        ? /** @type {Promise<Revenue>} */ (ctx.api(`/api/stats/revenue?by=device&${rangeQuery(ctx.range.previous)}`))
        : null,
    ]);
    if (rows.length === 0) return [note("empty", "No purchases in this range.")];
    const shown = compared(rows, before?.rows ?? null, (r) => r.key, (r) => r.revenue, "revenue before");
    return [section(
      "Revenue by device",
      barChart(
        "revenue by device",
        rows.map((r) => ({ label: r.key, value: r.revenue, note: `${r.purchases} orders` })),
      ),
      table(
        "by the device of the purchase",
        [
          ["key", "device"],
          ["revenue", "revenue"],
          ["purchases", "purchases"],
          ["users", "buyers"],
          ...shown.columns,
        ],
        shown.rows,
        { path: `/api/stats/revenue?by=device&${range}` },
      ),
    )];
  },

  async sessions(ctx) {
    const range = ctx.range ? rangeQuery(ctx.range) : "";
    const [s, before] = await Promise.all([
      /** @type {Promise<Sessions>} */ (ctx.api(`/api/stats/sessions?${range}`)),
      ctx.range?.previous
        ? /** @type {Promise<Sessions>} */ (ctx.api(`/api/stats/sessions?${rangeQuery(ctx.range.previous)}`))
        : null,
    ]);
    if (s.duration_s.every((b) => b.sessions === 0)) return [note("empty", "No sessions in this range.")];
    /**
     * @param {Bucket[]} buckets
     * @param {Bucket[] | undefined} earlier the period before's, when compared
     * @param {string} unit
     */
    const labelled = (buckets, earlier, unit) =>
      buckets.map((b, k) => ({
        ...b,
        ...(earlier ? { before: earlier[k].sessions, change: change(b.sessions, earlier[k].sessions) } : {}),
        range: b.to === null
          ? `${b.from}+ ${unit}`
          : b.to - b.from === 1
          ? `${b.from} ${unit}`
          : `${b.from}–${b.to - 1} ${unit}`,
      }));
    const durations = labelled(s.duration_s, before?.duration_s, "s");
    const pages = labelled(s.pages, before?.pages, "pages");
    /** @type {([key: "before", label: string] | [key: "change", label: string])[]} */
    const compared = before ? [["before", "before"], ["change", "change"]] : [];
    return [
      section(
        "Session length",
        barChart("sessions by length", durations.map((b) => ({ label: b.range, value: b.sessions }))),
        table(
          "sessions by seconds from first to last event",
          [["range", "length"], ["sessions", "sessions"], ...compared],
          durations,
          { path: `/api/stats/sessions?${range}`, table: "duration_s" },
        ),
      ),
      section(
        "Pages per session",
        barChart("sessions by pages", pages.map((b) => ({ label: b.range, value: b.sessions }))),
        table("sessions by page views", [["range", "pages"], ["sessions", "sessions"], ...compared], pages, {
          path: `/api/stats/sessions?${range}`,
          table: "pages",
        }),
      ),
    ];
  },

  async videos(ctx) {
    const range = ctx.range ? rangeQuery(ctx.range) : "";
    const [{ videos }, before] = await Promise.all([
      /** @type {Promise<Videos>} */ (ctx.api(`/api/stats/videos?limit=20&${range}`)),
      ctx.range?.previous
        ? /** @type {Promise<Videos>} */ (ctx.api(`/api/stats/videos?limit=1000&${rangeQuery(ctx.range.previous)}`))
        : null,
    ]);
    if (videos.length === 0) return [note("empty", "No videos played in this range.")];
    const shown = compared(videos, before?.videos ?? null, (v) => v.video_id, (v) => v.plays, "plays before");
    return [section(
      "Videos, most played first",
      barChart(
        "completion rate per video",
        videos.map((v) => ({ label: v.video_id, value: v.completion_rate, note: pct(v.completion_rate) })),
      ),
      table(
        "plays, views and completions",
        [
          ["video_id", "video"],
          ["plays", "plays"],
          ["views", "views"],
          ["completions", "completions"],
          ["completion_rate", "completion", pct],
          ["watch_time_s", "watch time (s)"],
          ...shown.columns,
        ],
        shown.rows,
        { path: `/api/stats/videos?limit=1000&${range}` },
      ),
    )];
  },
};
