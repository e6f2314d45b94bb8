// @ts-check
/// <reference lib="dom" />
/**
 * Small SVG charts: a line chart of time series and a horizontal bar chart. No library, no network.
 * @module
 */

const NS = "http://www.w3.org/2000/svg";
const COLORS = ["#1f6feb", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285"];

/**
 * A moment of a time series: `t` in ms since the epoch, and each series' value then.
 * @typedef {{ t: number, values: Record<string, number> }} Point
 */

/**
 * A bar: its label, its length, and text shown after the value.
 * @typedef {{ label: string, value: number, note?: string }} Bar
 */

/**
 * An SVG element with attributes and, optionally, text.
 * @param {string} name
 * @param {Record<string, string | number>} [attrs]
 * @param {string} [text]
 * @returns {SVGElement}
 */
function el(name, attrs = {}, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * A legend for series names, colored as the chart draws them.
 * @param {string[]} names
 * @returns {HTMLDivElement}
 */
function legend(names) {
  const div = document.createElement("div");
  div.className = "legend";
  names.forEach((name, i) => {
    const span = document.createElement("span");
    span.style.setProperty("--swatch", COLORS[i % COLORS.length]);
    span.textContent = name;
    div.append(span);
  });
  return div;
}

/**
 * A line chart: `points` are `{ t: ms, values: { series: number } }`, `series` the names to draw; a value that is
 * not a finite number leaves a gap. Each point shows its value on hover. `xLabel` writes a `t` (by default as the UTC
 * time of day). Returns a figure with the chart and its legend.
 * @param {string} title
 * @param {Point[]} points
 * @param {string[]} series
 * @param {(t: number) => string} [xLabel]
 * @returns {HTMLElement}
 */
export function lineChart(title, points, series, xLabel = (t) => new Date(t).toISOString().slice(11, 16)) {
  const figure = document.createElement("figure");
  figure.style.margin = "0";
  const w = 640, h = 220, left = 64, bottom = 22, top = 8;
  const svg = el("svg", { class: "chart", viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title });
  const max = Math.max(1, ...points.flatMap((p) => series.map((s) => p.values[s] ?? 0)).filter(Number.isFinite));
  const t0 = points[0]?.t ?? 0, t1 = points.at(-1)?.t ?? 1;
  /** @param {number} t */
  const x = (t) => left + ((t - t0) / Math.max(1, t1 - t0)) * (w - left - 8);
  /** @param {number} v */
  const y = (v) => top + (1 - v / max) * (h - top - bottom);
  svg.append(el("line", { class: "axis", x1: left, y1: h - bottom, x2: w - 8, y2: h - bottom }));
  for (const v of [0, max / 2, max]) {
    svg.append(el("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, formatNumber(v)));
  }
  if (points.length) {
    svg.append(el("text", { x: left, y: h - 6 }, xLabel(t0)));
    svg.append(el("text", { x: w - 8, y: h - 6, "text-anchor": "end" }, xLabel(t1)));
  }
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    let d = "";
    let gap = true;
    for (const p of points) {
      const v = p.values[s] ?? 0;
      if (!Number.isFinite(v)) {
        gap = true;
        continue;
      }
      d += `${gap ? "M" : "L"}${x(p.t).toFixed(1)},${y(v).toFixed(1)}`;
      gap = false;
      const dot = el("circle", { class: "point", cx: x(p.t).toFixed(1), cy: y(v).toFixed(1), r: 3, fill: color });
      dot.append(el("title", {}, `${s}, ${xLabel(p.t)}: ${formatNumber(v)}`));
      svg.append(dot);
    }
    svg.append(el("path", { d, fill: "none", stroke: color, "stroke-width": 2 }));
  });
  figure.append(svg, legend(series));
  return figure;
}

/**
 * A horizontal bar chart of `rows` (`{ label, value, note? }`), with the values as text beside the bars and on hover.
 * @param {string} title
 * @param {Bar[]} rows
 * @returns {SVGElement}
 */
export function barChart(title, rows) {
  const w = 640, rowH = 26, left = 150, right = 130;
  const h = rows.length * rowH + 4;
  const svg = el("svg", { class: "chart", viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title });
  const max = Math.max(1, ...rows.map((r) => r.value));
  rows.forEach((r, i) => {
    const y = i * rowH + 2;
    svg.append(el("text", { x: left - 8, y: y + 17, "text-anchor": "end" }, String(r.label).slice(0, 22)));
    const bar = el("rect", {
      x: left,
      y: y + 3,
      width: Math.max(1, (r.value / max) * (w - left - right)),
      height: rowH - 8,
      fill: COLORS[0],
      rx: 3,
    });
    bar.append(el("title", {}, `${r.label}: ${formatNumber(r.value)}${r.note ? ` (${r.note})` : ""}`));
    svg.append(bar);
    const note = r.note ? `  ${r.note}` : "";
    svg.append(el("text", { x: w - right + 6, y: y + 17 }, `${formatNumber(r.value)}${note}`));
  });
  return svg;
}

/**
 * A number for people: thousands separated, at most 2 decimals; anything else as a string.
 * @param {unknown} v
 * @returns {string}
 */
export function formatNumber(v) {
  if (typeof v !== "number" || !Number.isFinite(v)) return String(v);
  return v.toLocaleString("en-US", { maximumFractionDigits: Math.abs(v) < 1 && v !== 0 ? 4 : 2 });
}
