// @ts-check
/// <reference lib="dom" />
/**
 * Small SVG charts: a line chart of time series, a horizontal bar chart and a flow chart. No library, no network.
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
 * A step of a flow: its column (`level`), its name and how many went through it.
 * @typedef {{ level: number, step: string, sessions: number, drop_off: number }} FlowNode
 */

/**
 * What went from a step at `level - 1` to one at `level`.
 * @typedef {{ level: number, from: string, to: string, sessions: number }} FlowLink
 */

/**
 * A flow (Sankey-style) chart: a column per level, each step a bar as tall as its count, and bands between columns as
 * wide as what went from one step to the next. `reverse` draws level 0 on the right (paths leading to it). Every bar
 * and band shows its count on hover; the steps' `data-step` is `<level> <step>`.
 * @param {string} title
 * @param {FlowNode[]} nodes in drawing order within each level
 * @param {FlowLink[]} links
 * @param {boolean} [reverse]
 * @returns {SVGElement}
 */
export function flowChart(title, nodes, links, reverse = false) {
  const levels = Math.max(0, ...nodes.map((n) => n.level)) + 1;
  const colW = 160, barW = 12, gap = 10, h = 320, top = 6;
  const w = Math.max(640, levels * colW);
  const svg = el("svg", { class: "chart flow", viewBox: `0 0 ${w} ${h + top * 2}`, role: "img", "aria-label": title });
  const total = Math.max(1, ...nodes.filter((n) => n.level === 0).map((n) => n.sessions));
  const most = Math.max(1, ...Array.from({ length: levels }, (_, l) => nodes.filter((n) => n.level === l).length));
  const scale = (h - gap * (most - 1)) / total;
  /** @param {number} level */
  const x = (level) =>
    reverse ? w - barW - 130 - level * ((w - barW - 130) / Math.max(1, levels - 1)) : 2 +
      level * ((w - barW - 130) / Math.max(1, levels - 1));
  /** Where each node's bar starts, and how much of it its bands in and out have taken. */
  const place = new Map();
  for (let level = 0; level < levels; level++) {
    let y = top;
    for (const n of nodes.filter((n) => n.level === level)) {
      const height = Math.max(1, n.sessions * scale);
      place.set(`${level} ${n.step}`, { y, height, in: 0, out: 0 });
      y += height + gap;
    }
  }
  for (const l of links) {
    const a = place.get(`${l.level - 1} ${l.from}`), b = place.get(`${l.level} ${l.to}`);
    if (!a || !b) continue;
    const band = Math.max(1, l.sessions * scale);
    const [x0, x1] = reverse ? [x(l.level - 1), x(l.level) + barW] : [x(l.level - 1) + barW, x(l.level)];
    const [y0, y1] = [a.y + a.out, b.y + b.in];
    a.out += band;
    b.in += band;
    const mid = (x0 + x1) / 2;
    const d = `M${x0},${y0}C${mid},${y0} ${mid},${y1} ${x1},${y1}L${x1},${y1 + band}` +
      `C${mid},${y1 + band} ${mid},${y0 + band} ${x0},${y0 + band}Z`;
    const path = el("path", { class: "band", d, fill: COLORS[0], "fill-opacity": 0.25 });
    path.append(el("title", {}, `${l.from} → ${l.to}: ${formatNumber(l.sessions)}`));
    svg.append(path);
  }
  for (const n of nodes) {
    const p = place.get(`${n.level} ${n.step}`);
    const g = el("g", { "data-step": `${n.level} ${n.step}` });
    const bar = el("rect", {
      x: x(n.level),
      y: p.y,
      width: barW,
      height: p.height,
      fill: COLORS[n.level % COLORS.length],
    });
    bar.append(el("title", {}, `${n.step}: ${formatNumber(n.sessions)}, ${formatNumber(n.drop_off)} ended here`));
    const label = el("text", { x: x(n.level) + barW + 4, y: p.y + Math.min(p.height / 2, 10) + 4 });
    label.textContent = `${n.step.slice(0, 16)} ${formatNumber(n.sessions)}`;
    g.append(bar, label);
    svg.append(g);
  }
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
