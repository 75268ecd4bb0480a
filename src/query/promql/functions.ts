import { HttpError } from "../../http/errors.js";
import { badData, type Labels, re2ToJs } from "../matchers.js";
import { dropName, formatValue, type InstantSample, labelsKey, type RangeSeries, type Value } from "./values.js";

/**
 * Function implementations, one calling convention for all: the evaluated arguments and the context of
 * the call (evaluation time; for range functions the range's bounds). Semantics follow Prometheus'
 * promql/functions.go; signatures are in signatures.ts.
 */
export interface CallContext {
  /** Evaluation time in ms. */
  t: number;
  /** For range functions: the selected range (rangeStart, rangeEnd] in ms. */
  rangeStart: number;
  rangeEnd: number;
  /** Equality matchers of the selector (for absent / absent_over_time). */
  absentLabels: Labels;
}

type Impl = (args: Value[], ctx: CallContext) => Value;

const vec = (v: InstantSample[]): Value => ({ type: "vector", v });
const scalar = (v: number): Value => ({ type: "scalar", v });
const argVector = (a: Value | undefined): InstantSample[] => (a?.type === "vector" ? a.v : []);
const argMatrix = (a: Value | undefined): RangeSeries[] => (a?.type === "matrix" ? a.v : []);
const argScalar = (a: Value | undefined): number => (a?.type === "scalar" ? a.v : Number.NaN);
const argString = (a: Value | undefined): string => (a?.type === "string" ? a.v : "");

function mapValues(f: (x: number) => number): Impl {
  return (args) => vec(argVector(args[0]).map((s) => ({ labels: dropName(s.labels), value: f(s.value) })));
}

function overTime(f: (vs: number[], ts: number[]) => number, keepName = false): Impl {
  return (args) =>
    vec(
      argMatrix(args[0])
        .filter((s) => s.vs.length > 0)
        .map((s) => ({ labels: keepName ? s.labels : dropName(s.labels), value: f(s.vs, s.ts) })),
    );
}

/** Prometheus' extrapolatedRate: rate, increase, delta. */
function extrapolated(isCounter: boolean, isRate: boolean): Impl {
  return (args, ctx) => {
    const out: InstantSample[] = [];
    const rangeSeconds = (ctx.rangeEnd - ctx.rangeStart) / 1000;
    for (const s of argMatrix(args[0])) {
      const n = s.vs.length;
      if (n < 2) continue;
      const first = s.vs[0]!;
      const last = s.vs[n - 1]!;
      let result = last - first;
      if (isCounter) {
        for (let i = 1; i < n; i++) if (s.vs[i]! < s.vs[i - 1]!) result += s.vs[i - 1]!;
      }
      let durationToStart = (s.ts[0]! - ctx.rangeStart) / 1000;
      let durationToEnd = (ctx.rangeEnd - s.ts[n - 1]!) / 1000;
      const sampled = (s.ts[n - 1]! - s.ts[0]!) / 1000;
      const avgBetween = sampled / (n - 1);
      const threshold = avgBetween * 1.1;
      let interval = sampled;
      if (durationToStart >= threshold) durationToStart = avgBetween / 2;
      if (isCounter && result > 0 && first >= 0) {
        const durationToZero = sampled * (first / result);
        if (durationToZero < durationToStart) durationToStart = durationToZero;
      }
      interval += durationToStart;
      if (durationToEnd >= threshold) durationToEnd = avgBetween / 2;
      interval += durationToEnd;
      let factor = interval / sampled;
      if (isRate) factor /= rangeSeconds;
      out.push({ labels: dropName(s.labels), value: result * factor });
    }
    return vec(out);
  };
}

function instantDelta(isRate: boolean): Impl {
  return (args) => {
    const out: InstantSample[] = [];
    for (const s of argMatrix(args[0])) {
      const n = s.vs.length;
      if (n < 2) continue;
      const last = s.vs[n - 1]!;
      const prev = s.vs[n - 2]!;
      let value = isRate && last < prev ? last : last - prev; // irate: a counter reset restarts from 0
      if (isRate) {
        const dt = (s.ts[n - 1]! - s.ts[n - 2]!) / 1000;
        if (dt === 0) continue;
        value /= dt;
      }
      out.push({ labels: dropName(s.labels), value });
    }
    return vec(out);
  };
}

/** Prometheus' quantile over a list (linear interpolation between closest ranks). */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return Number.NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight;
}

/** Least squares slope and intercept at `interceptTime` (ms), as Prometheus' linearRegression. */
function linearRegression(ts: number[], vs: number[], interceptTime: number): [number, number] {
  let n = 0;
  let sumX = 0;
  let sumY = 0;
  let sumXY = 0;
  let sumX2 = 0;
  let constY = true;
  for (let i = 0; i < ts.length; i++) {
    if (vs[i] !== vs[0]) constY = false;
    const x = (ts[i]! - interceptTime) / 1000;
    n++;
    sumX += x;
    sumY += vs[i]!;
    sumXY += x * vs[i]!;
    sumX2 += x * x;
  }
  if (constY) return [0, vs[0]!];
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return [slope, sumY / n - (slope * sumX) / n];
}

/** Population variance (Welford's method, numerically stable). */
export function variance(vs: number[]): number {
  let mean = 0;
  let m2 = 0;
  vs.forEach((v, i) => {
    const d = v - mean;
    mean += d / (i + 1);
    m2 += d * (v - mean);
  });
  return m2 / vs.length;
}

/** A copy of `labels` with `name` set to `value`, or removed when `value` is empty (Prometheus' rule). */
function withLabel(labels: Labels, name: string, value: string): Labels {
  const out = { ...labels };
  if (value === "") delete out[name];
  else out[name] = value;
  return out;
}

function dateFn(f: (d: Date) => number): Impl {
  return (args, ctx) => {
    const input = args.length === 0 ? [{ labels: {}, value: ctx.t / 1000 }] : argVector(args[0]);
    return vec(input.map((s) => ({ labels: dropName(s.labels), value: f(new Date(s.value * 1000)) })));
  };
}

function bucketQuantile(q: number, buckets: { upper: number; count: number }[]): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  buckets.sort((a, b) => a.upper - b.upper);
  if (buckets.length === 0 || buckets[buckets.length - 1]!.upper !== Infinity) return Number.NaN;
  // Merge buckets with the same upper bound, then force counts to be monotonic (Prometheus does both).
  const merged: { upper: number; count: number }[] = [];
  for (const b of buckets) {
    const last = merged[merged.length - 1];
    if (last && last.upper === b.upper) last.count += b.count;
    else merged.push({ ...b });
  }
  let max = Number.NEGATIVE_INFINITY;
  for (const b of merged) {
    if (b.count > max) max = b.count;
    else b.count = max;
  }
  if (merged.length < 2) return Number.NaN;
  const observations = merged[merged.length - 1]!.count;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  let b = merged.findIndex((x, i) => i < merged.length - 1 && x.count >= rank);
  if (b < 0) b = merged.length - 1;
  if (b === merged.length - 1) return merged[merged.length - 2]!.upper;
  if (b === 0 && merged[0]!.upper <= 0) return merged[0]!.upper;
  let start = 0;
  const end = merged[b]!.upper;
  let count = merged[b]!.count;
  if (b > 0) {
    start = merged[b - 1]!.upper;
    count -= merged[b - 1]!.count;
    rank -= merged[b - 1]!.count;
  }
  return start + (end - start) * (rank / count);
}

export const IMPLEMENTATIONS: Record<string, Impl> = {
  abs: mapValues(Math.abs),
  ceil: mapValues(Math.ceil),
  floor: mapValues(Math.floor),
  exp: mapValues(Math.exp),
  ln: mapValues(Math.log),
  log2: mapValues(Math.log2),
  log10: mapValues(Math.log10),
  sqrt: mapValues(Math.sqrt),
  sgn: mapValues((x) => (Number.isNaN(x) ? x : Math.sign(x))),
  sin: mapValues(Math.sin), cos: mapValues(Math.cos), tan: mapValues(Math.tan),
  asin: mapValues(Math.asin), acos: mapValues(Math.acos), atan: mapValues(Math.atan),
  sinh: mapValues(Math.sinh), cosh: mapValues(Math.cosh), tanh: mapValues(Math.tanh),
  asinh: mapValues(Math.asinh), acosh: mapValues(Math.acosh), atanh: mapValues(Math.atanh),
  deg: mapValues((x) => (x * 180) / Math.PI),
  rad: mapValues((x) => (x * Math.PI) / 180),
  round: (args) => {
    const toNearest = args.length > 1 ? argScalar(args[1]) : 1;
    const inverse = 1 / toNearest;
    return mapValues((x) => Math.floor(x * inverse + 0.5) / inverse)(args, {} as CallContext);
  },
  clamp: (args) => {
    const min = argScalar(args[1]);
    const max = argScalar(args[2]);
    if (max < min) return vec([]);
    return mapValues((x) => Math.max(min, Math.min(max, x)))(args, {} as CallContext);
  },
  clamp_min: (args) => mapValues((x) => Math.max(argScalar(args[1]), x))(args, {} as CallContext),
  clamp_max: (args) => mapValues((x) => Math.min(argScalar(args[1]), x))(args, {} as CallContext),

  rate: extrapolated(true, true),
  increase: extrapolated(true, false),
  delta: extrapolated(false, false),
  irate: instantDelta(true),
  idelta: instantDelta(false),
  avg_over_time: overTime((vs) => {
    let mean = 0;
    vs.forEach((v, i) => {
      mean += (v - mean) / (i + 1);
    });
    return mean;
  }),
  min_over_time: overTime((vs) => vs.reduce((m, v) => (v < m || Number.isNaN(m) ? v : m))),
  max_over_time: overTime((vs) => vs.reduce((m, v) => (v > m || Number.isNaN(m) ? v : m))),
  sum_over_time: overTime((vs) => vs.reduce((a, b) => a + b, 0)),
  count_over_time: overTime((vs) => vs.length),
  last_over_time: overTime((vs) => vs[vs.length - 1]!, true),
  present_over_time: overTime(() => 1),
  stddev_over_time: overTime((vs) => Math.sqrt(variance(vs))),
  stdvar_over_time: overTime((vs) => variance(vs)),
  quantile_over_time: (args) => {
    const q = argScalar(args[0]);
    return vec(argMatrix(args[1]).filter((s) => s.vs.length > 0).map((s) => ({ labels: dropName(s.labels), value: quantile(q, s.vs) })));
  },
  changes: overTime((vs) => vs.slice(1).filter((v, i) => v !== vs[i] && !(Number.isNaN(v) && Number.isNaN(vs[i]!))).length),
  resets: overTime((vs) => vs.slice(1).filter((v, i) => v < vs[i]!).length),
  deriv: (args) =>
    vec(argMatrix(args[0]).filter((s) => s.vs.length >= 2).map((s) => ({ labels: dropName(s.labels), value: linearRegression(s.ts, s.vs, s.ts[0]!)[0] }))),
  predict_linear: (args, ctx) => {
    const duration = argScalar(args[1]);
    return vec(
      argMatrix(args[0])
        .filter((s) => s.vs.length >= 2)
        .map((s) => {
          const [slope, intercept] = linearRegression(s.ts, s.vs, ctx.t);
          return { labels: dropName(s.labels), value: slope * duration + intercept };
        }),
    );
  },
  absent_over_time: (args, ctx) => (argMatrix(args[0]).some((s) => s.vs.length > 0) ? vec([]) : vec([{ labels: ctx.absentLabels, value: 1 }])),
  absent: (args, ctx) => (argVector(args[0]).length > 0 ? vec([]) : vec([{ labels: ctx.absentLabels, value: 1 }])),
  time: (_args, ctx) => scalar(ctx.t / 1000),
  pi: () => scalar(Math.PI),
  vector: (args) => vec([{ labels: {}, value: argScalar(args[0]) }]),
  scalar: (args) => {
    const v = argVector(args[0]);
    return scalar(v.length === 1 ? v[0]!.value : Number.NaN);
  },
  timestamp: (args, ctx) => vec(argVector(args[0]).map((s) => ({ labels: dropName(s.labels), value: (s.t ?? ctx.t) / 1000 }))),
  sort: (args) => vec([...argVector(args[0])].sort((a, b) => (Number.isNaN(a.value) ? 1 : Number.isNaN(b.value) ? -1 : a.value - b.value))),
  sort_desc: (args) => vec([...argVector(args[0])].sort((a, b) => (Number.isNaN(a.value) ? 1 : Number.isNaN(b.value) ? -1 : b.value - a.value))),
  label_replace: (args) => {
    const [dst, replacement, src, regex] = [argString(args[1]), argString(args[2]), argString(args[3]), argString(args[4])];
    const re = re2ToJs(regex);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(dst)) throw badData(`invalid destination label name in label_replace(): ${dst}`);
    return vec(
      argVector(args[0]).map((s) => {
        const m = re.exec(s.labels[src] ?? "");
        if (!m) return s;
        const value = replacement.replace(/\$(\d+|\{\w+\})/g, (_, g: string) => {
          const key = g.startsWith("{") ? g.slice(1, -1) : g;
          return (/^\d+$/.test(key) ? m[Number(key)] : m.groups?.[key]) ?? "";
        });
        return { labels: withLabel(s.labels, dst, value), value: s.value };
      }),
    );
  },
  label_join: (args) => {
    const dst = argString(args[1]);
    const sep = argString(args[2]);
    const srcs = args.slice(3).map(argString);
    return vec(
      argVector(args[0]).map((s) => {
        return { labels: withLabel(s.labels, dst, srcs.map((l) => s.labels[l] ?? "").join(sep)), value: s.value };
      }),
    );
  },
  histogram_quantile: (args) => {
    const q = argScalar(args[0]);
    const groups = new Map<string, { labels: Labels; buckets: { upper: number; count: number }[] }>();
    for (const s of argVector(args[1])) {
      const le = s.labels.le;
      if (le === undefined) continue;
      const upper = le === "+Inf" ? Infinity : Number(le);
      if (Number.isNaN(upper) && le !== "NaN") continue;
      const { le: _, ...rest } = dropName(s.labels);
      const key = labelsKey(rest);
      const g = groups.get(key) ?? { labels: rest, buckets: [] };
      g.buckets.push({ upper, count: s.value });
      groups.set(key, g);
    }
    return vec([...groups.values()].map((g) => ({ labels: g.labels, value: bucketQuantile(q, g.buckets) })));
  },
  day_of_month: dateFn((d) => d.getUTCDate()),
  day_of_week: dateFn((d) => d.getUTCDay()),
  day_of_year: dateFn((d) => Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1),
  days_in_month: dateFn((d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate()),
  hour: dateFn((d) => d.getUTCHours()),
  minute: dateFn((d) => d.getUTCMinutes()),
  month: dateFn((d) => d.getUTCMonth() + 1),
  year: dateFn((d) => d.getUTCFullYear()),
};

export function checkUniqueLabelsets(v: InstantSample[]): void {
  const seen = new Set<string>();
  for (const s of v) {
    const k = labelsKey(s.labels);
    if (seen.has(k)) throw new HttpError(422, "vector cannot contain metrics with the same labelset");
    seen.add(k);
  }
}

export { formatValue };
