/**
 * A small metrics registry (counter, gauge, histogram with label sets) and its Prometheus text exposition
 * (format 0.0.4). Written here rather than taken from prom-client, which needs Node's runtime; this one uses
 * nothing but the language, so it runs the same on workerd, Bun, Deno and Node.
 *
 * One registry per app: tests and several apps in one process never share counts.
 */

export type MetricType = "counter" | "gauge" | "histogram";

/** One exposed sample: what `/metrics` prints and what the self-remote-write sends. */
export interface Sample {
  name: string;
  labels: [string, string][];
  value: number;
}

interface Options<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

abstract class Metric<L extends string, S> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  /** Label values joined by NUL (never part of a sane label value) → that series' state. */
  protected readonly series = new Map<string, { values: string[]; state: S }>();
  abstract readonly type: MetricType;

  constructor(o: Options<L>) {
    if (!METRIC_NAME.test(o.name)) throw new Error(`invalid metric name ${o.name}`);
    for (const l of o.labelNames ?? []) {
      if (!LABEL_NAME.test(l) || l.startsWith("__") || l === "le") throw new Error(`invalid label name ${l} on ${o.name}`);
    }
    this.name = o.name;
    this.help = o.help;
    this.labelNames = o.labelNames ?? [];
  }

  protected abstract initial(): S;

  protected state(labels: Partial<Record<L, string>>): S {
    const values = this.labelNames.map((n) => labels[n] ?? "");
    const key = values.join("\u0000");
    let s = this.series.get(key);
    if (!s) {
      s = { values, state: this.initial() };
      this.series.set(key, s);
    }
    return s.state;
  }

  /** Drops one series (a gauge for a state that no longer holds: exposing it as 0 forever would grow). */
  remove(labels: Partial<Record<L, string>>): void {
    this.series.delete(this.labelNames.map((n) => labels[n] ?? "").join("\u0000"));
  }

  protected labelPairs(values: string[]): [string, string][] {
    return this.labelNames.map((n, i) => [n, values[i]!]);
  }

  abstract samples(): Sample[];
}

export class Counter<L extends string = never> extends Metric<L, { v: number }> {
  readonly type = "counter";
  protected initial() {
    return { v: 0 };
  }
  inc(labels: Partial<Record<L, string>> = {}, by = 1): void {
    // A counter only goes up: a negative or NaN increment is a programming error, dropped rather than
    // corrupting every rate() computed from it.
    if (!(by >= 0)) return;
    this.state(labels).v += by;
  }
  get(labels: Partial<Record<L, string>> = {}): number {
    return this.state(labels).v;
  }
  samples(): Sample[] {
    return [...this.series.values()].map((s) => ({ name: this.name, labels: this.labelPairs(s.values), value: s.state.v }));
  }
}

export class Gauge<L extends string = never> extends Metric<L, { v: number }> {
  readonly type = "gauge";
  protected initial() {
    return { v: 0 };
  }
  set(labels: Partial<Record<L, string>>, value: number): void {
    this.state(labels).v = value;
  }
  get(labels: Partial<Record<L, string>> = {}): number {
    return this.state(labels).v;
  }
  samples(): Sample[] {
    return [...this.series.values()].map((s) => ({ name: this.name, labels: this.labelPairs(s.values), value: s.state.v }));
  }
}

interface HistogramState {
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram<L extends string = never> extends Metric<L, HistogramState> {
  readonly type = "histogram";
  readonly buckets: readonly number[];

  constructor(o: Options<L> & { buckets: readonly number[] }) {
    super(o);
    const b = [...o.buckets].filter((x) => x !== Number.POSITIVE_INFINITY);
    for (let i = 1; i < b.length; i++) if (!(b[i]! > b[i - 1]!)) throw new Error(`buckets of ${o.name} must increase`);
    this.buckets = b;
  }
  protected initial(): HistogramState {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }
  observe(labels: Partial<Record<L, string>>, value: number): void {
    if (Number.isNaN(value)) return;
    const s = this.state(labels);
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++; // `le` is inclusive
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  samples(): Sample[] {
    const out: Sample[] = [];
    for (const { values, state } of this.series.values()) {
      const labels = this.labelPairs(values);
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += state.counts[i]!;
        const le = i < this.buckets.length ? formatValue(this.buckets[i]!) : "+Inf";
        out.push({ name: `${this.name}_bucket`, labels: [...labels, ["le", le]], value: cumulative });
      }
      out.push({ name: `${this.name}_sum`, labels, value: state.sum });
      out.push({ name: `${this.name}_count`, labels, value: state.count });
    }
    return out;
  }
}

/** What the registry needs of a metric family to expose it. */
interface Family {
  name: string;
  help: string;
  type: MetricType;
  samples(): Sample[];
}

export class Registry {
  private readonly metrics = new Map<string, Family>();

  private add<M extends Family>(m: M): M {
    if (this.metrics.has(m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.metrics.set(m.name, m);
    return m;
  }
  counter<L extends string = never>(o: Options<L>): Counter<L> {
    return this.add(new Counter<L>(o));
  }
  gauge<L extends string = never>(o: Options<L>): Gauge<L> {
    return this.add(new Gauge<L>(o));
  }
  histogram<L extends string = never>(o: Options<L> & { buckets: readonly number[] }): Histogram<L> {
    return this.add(new Histogram<L>(o));
  }

  /** Every sample of every metric, in registration order. */
  samples(): Sample[] {
    return [...this.metrics.values()].flatMap((m) => m.samples());
  }

  /** The text exposition format 0.0.4: HELP and TYPE once per metric family, then its samples. */
  expose(): string {
    const lines: string[] = [];
    for (const m of this.metrics.values()) {
      lines.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`);
      for (const s of m.samples()) lines.push(formatSample(s));
    }
    return lines.length > 0 ? `${lines.join("\n")}\n` : "";
  }
}

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

// Exposition format: in HELP only backslash and newline are escaped; label values also escape the quote.
const escapeHelp = (s: string): string => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escapeLabelValue = (s: string): string => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

export function formatSample(s: Sample): string {
  const labels = s.labels.length > 0 ? `{${s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}` : "";
  return `${s.name}${labels} ${formatValue(s.value)}`;
}
