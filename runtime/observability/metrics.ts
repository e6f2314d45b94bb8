/**
 * Metrics in the Prometheus text format: counters, gauges and histograms with labels.
 * @module
 */

type Labels = Record<string, string>;

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Family {
  help: string;
  type: "counter" | "gauge" | "histogram";
  series: Map<string, { labels: Labels; value: number; counts?: number[]; sum?: number }>;
}

/** A set of metric families rendered together on `/metrics`. */
export class MetricsRegistry {
  readonly #families = new Map<string, Family>();
  readonly #collectors: (() => void)[] = [];

  /** Adds `by` to a counter. */
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    this.#series(name, help, "counter", labels).value += by;
  }

  /** Sets a gauge. */
  set(name: string, help: string, labels: Labels, value: number): void {
    this.#series(name, help, "gauge", labels).value = value;
  }

  /** Records one observation (seconds) in a histogram. */
  observe(name: string, help: string, labels: Labels, seconds: number): void {
    const s = this.#series(name, help, "histogram", labels);
    s.counts ??= BUCKETS.map(() => 0);
    s.sum = (s.sum ?? 0) + seconds;
    s.value++;
    BUCKETS.forEach((b, i) => {
      if (seconds <= b) s.counts![i]++;
    });
  }

  /** Removes every series of a family (before a collector sets the current ones). */
  clear(name: string): void {
    this.#families.get(name)?.series.clear();
  }

  /** Registers a function that refreshes gauges just before rendering. */
  collect(fn: () => void): void {
    this.#collectors.push(fn);
  }

  /** The current value of a counter or gauge series, or a histogram's count (0 when absent). */
  value(name: string, labels: Labels = {}): number {
    return this.#families.get(name)?.series.get(key(labels))?.value ?? 0;
  }

  /** Renders every family in the Prometheus text exposition format. */
  render(): string {
    for (const fn of this.#collectors) fn();
    const out: string[] = [];
    for (const [name, f] of this.#families) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      for (const s of f.series.values()) {
        if (f.type !== "histogram") {
          out.push(`${name}${fmt(s.labels)} ${s.value}`);
          continue;
        }
        BUCKETS.forEach((b, i) => out.push(`${name}_bucket${fmt({ ...s.labels, le: String(b) })} ${s.counts![i]}`));
        out.push(`${name}_bucket${fmt({ ...s.labels, le: "+Inf" })} ${s.value}`);
        out.push(`${name}_sum${fmt(s.labels)} ${s.sum}`, `${name}_count${fmt(s.labels)} ${s.value}`);
      }
    }
    return out.join("\n") + "\n";
  }

  #series(name: string, help: string, type: Family["type"], labels: Labels) {
    let f = this.#families.get(name);
    if (!f) this.#families.set(name, f = { help, type, series: new Map() });
    const k = key(labels);
    let s = f.series.get(k);
    if (!s) f.series.set(k, s = { labels, value: 0 });
    return s;
  }
}

function key(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort());
}

function fmt(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) =>
    `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`
  );
  return parts.length ? `{${parts.join(",")}}` : "";
}
