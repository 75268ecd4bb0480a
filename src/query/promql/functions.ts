import { PromgateError } from "../../errors.js";
import type { Labels } from "../matchers.js";
import { type Replacer, replaceRegex, type Submatch } from "../regex/re2.js";
import { validLabelName, wellFormed } from "../selector.js";
import { type Annotations, goG } from "./annotations.js";
import { compareLabelSets, naturalLess } from "./order.js";
import { dropName, formatValue, type InstantSample, labelsKey, type RangeSeries, type Value } from "./values.js";
import { div as histogramDiv, equals as histogramEquals, type FloatHistogram, histogramString, mul as histogramMul } from "./histogram/float.js";
import { avgHistograms, type HistogramFold, sumHistograms } from "./histogram/aggregate.js";
import { histogramNotes as notes } from "./histogram/notes.js";
import { histogramInstantDelta, histogramRate } from "./histogram/rate.js";
import { detectReset } from "./histogram/reset.js";
import { histogramFraction, histogramQuantile, histogramVariance } from "./histogram/stats.js";
import { anchoredSamples, extendedRate } from "./extended-range.js";
import { extendedHistogramRate } from "./histogram/extended.js";

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
  /** Where warnings and infos go, and the character offset of each argument in the query (for their text). */
  annotations?: Annotations;
  argPos?: (number | undefined)[];
  /** The range argument is anchored or smoothed: it holds the samples around the range too. */
  extended?: "anchored" | "smoothed";
  /** Series carry `__type__` from metadata (type-and-unit-labels): counters are told by it, not by the name. */
  typeAndUnitLabels?: boolean;
}

type Impl = (args: Value[], ctx: CallContext) => Value;

const vec = (v: InstantSample[]): Value => ({ type: "vector", v });
const scalar = (v: number): Value => ({ type: "scalar", v });
const argVector = (a: Value | undefined): InstantSample[] => (a?.type === "vector" ? a.v : []);
const argMatrix = (a: Value | undefined): RangeSeries[] => (a?.type === "matrix" ? a.v : []);
const argScalar = (a: Value | undefined): number => (a?.type === "scalar" ? a.v : Number.NaN);
const argString = (a: Value | undefined): string => (a?.type === "string" ? a.v : "");

/** Instant functions of float samples; histogram samples are left out (Prometheus' simpleFloatFunc). */
function mapValues(f: (x: number) => number): Impl {
  return (args) => {
    const out: InstantSample[] = [];
    for (const s of argVector(args[0])) if (!s.h) out.push({ labels: dropName(s.labels), value: f(s.value) });
    return vec(out);
  };
}

const metricName = (s: { labels: Labels }): string => s.labels.__name__ ?? "";
const hasHistograms = (s: RangeSeries): boolean => (s.hs?.length ?? 0) > 0;

/**
 * Range functions of float samples. A series without floats gives nothing; one that also holds histograms
 * gives its floats' value and Prometheus' info that the histograms were ignored.
 */
function overTime(f: (vs: number[], ts: number[]) => number, keepName = false): Impl {
  return (args, ctx) => {
    const out: InstantSample[] = [];
    for (const s of argMatrix(args[0])) {
      if (s.vs.length === 0) continue;
      if (hasHistograms(s)) notes.ignoredInMixedRange(ctx.annotations, metricName(s), ctx.argPos?.[0]);
      out.push({ labels: keepName ? s.labels : dropName(s.labels), value: f(s.vs, s.ts) });
    }
    return vec(out);
  };
}

/** Range functions of every sample, float or histogram (count_over_time, present_over_time, …). */
function overAllSamples(f: (s: RangeSeries) => number): Impl {
  return (args) => {
    const out: InstantSample[] = [];
    for (const s of argMatrix(args[0])) if (s.vs.length > 0 || hasHistograms(s)) out.push({ labels: dropName(s.labels), value: f(s) });
    return vec(out);
  };
}

/**
 * sum_over_time / avg_over_time: floats as before; a series of histograms only gives their sum or mean; a
 * series mixing both gives nothing and Prometheus' warning.
 */
function floatOrHistogramOverTime(f: (vs: number[]) => number, fold: (hs: FloatHistogram[]) => HistogramFold): Impl {
  return (args, ctx) => {
    const out: InstantSample[] = [];
    const pos = ctx.argPos?.[0];
    for (const s of argMatrix(args[0])) {
      if (!hasHistograms(s)) {
        if (s.vs.length > 0) out.push({ labels: dropName(s.labels), value: f(s.vs) });
        continue;
      }
      if (s.vs.length > 0) {
        notes.mixedFloatsHistograms(ctx.annotations, metricName(s), pos);
        continue;
      }
      const r = fold(s.hs!);
      if (r.collision) notes.counterResetCollision(ctx.annotations, "aggregation", pos);
      if (r.reconciled) notes.mismatchedCustomBuckets(ctx.annotations, "aggregation", pos);
      if (!r.value) {
        notes.mixedExponentialCustom(ctx.annotations, metricName(s), pos);
        continue;
      }
      out.push({ labels: dropName(s.labels), value: Number.NaN, h: r.value });
    }
    return vec(out);
  };
}

/** last_over_time / first_over_time: the latest (earliest) sample, float or histogram. */
function edgeOverTime(last: boolean): Impl {
  return (args) => {
    const out: InstantSample[] = [];
    for (const s of argMatrix(args[0])) {
      const nf = s.vs.length;
      const nh = s.hts?.length ?? 0;
      if (nf === 0 && nh === 0) continue;
      const tf = nf === 0 ? undefined : last ? s.ts[nf - 1]! : s.ts[0]!;
      const th = nh === 0 ? undefined : last ? s.hts![nh - 1]! : s.hts![0]!;
      const takeFloat = th === undefined || (tf !== undefined && (last ? th < tf : tf < th));
      if (takeFloat) out.push({ labels: s.labels, value: last ? s.vs[nf - 1]! : s.vs[0]! });
      else out.push({ labels: s.labels, value: Number.NaN, h: last ? s.hs![nh - 1]! : s.hs![0]! });
    }
    return vec(out);
  };
}

/** Float and histogram samples of a range series merged in time order (resets, changes). */
function* samplesInOrder(s: RangeSeries): Generator<{ v: number; h: FloatHistogram | undefined }> {
  const hts = s.hts ?? [];
  let i = 0;
  let j = 0;
  while (i < s.ts.length || j < hts.length) {
    if (j >= hts.length || (i < s.ts.length && s.ts[i]! < hts[j]!)) yield { v: s.vs[i++]!, h: undefined };
    else yield { v: Number.NaN, h: s.hs![j++]! };
  }
}

/**
 * resets() and changes() over floats and histograms (a switch between the two counts as one); over an
 * anchored range from the last sample at or before its start.
 */
function transitions(counts: (prev: { v: number; h: FloatHistogram | undefined }, cur: { v: number; h: FloatHistogram | undefined }) => boolean): Impl {
  const count = overAllSamples((s) => {
    let n = 0;
    let prev: { v: number; h: FloatHistogram | undefined } | undefined;
    for (const cur of samplesInOrder(s)) {
      if (prev && counts(prev, cur)) n++;
      prev = cur;
    }
    return n;
  });
  return (args, ctx) => {
    if (ctx.extended !== "anchored") return count(args, ctx);
    const anchored = argMatrix(args[0]).flatMap((s) => anchoredSamples(s, ctx.rangeStart) ?? []);
    return count([{ type: "matrix", v: anchored }], ctx);
  };
}

/** rate / increase / delta of an anchored or smoothed range (extended-range.ts, histogram/extended.ts). */
function extendedRateOf(isCounter: boolean, isRate: boolean): Impl {
  return (args, ctx) => {
    const out: InstantSample[] = [];
    for (const s of argMatrix(args[0])) {
      if (hasHistograms(s)) {
        const c = { name: metricName(s), annotations: ctx.annotations, pos: ctx.argPos?.[0] };
        if (s.vs.length > 0) notes.mixedFloatsHistograms(ctx.annotations, c.name, c.pos);
        else {
          const h = extendedHistogramRate(s.hts!, s.hs!, ctx.rangeStart, ctx.rangeEnd, ctx.extended === "smoothed", isCounter, isRate, c);
          if (h) out.push({ labels: dropName(s.labels), value: Number.NaN, h });
        }
        continue;
      }
      const v = extendedRate(s.ts, s.vs, ctx.rangeStart, ctx.rangeEnd, ctx.extended === "smoothed", isCounter, isRate);
      if (v === undefined) continue;
      out.push({ labels: dropName(s.labels), value: v });
      if (isCounter) counterNameInfo(s.labels, ctx);
    }
    return vec(out);
  };
}

/** Prometheus' extrapolatedRate: rate, increase, delta. */
function extrapolated(isCounter: boolean, isRate: boolean): Impl {
  const extended = extendedRateOf(isCounter, isRate);
  return (args, ctx) => {
    if (ctx.extended) return extended(args, ctx);
    const out: InstantSample[] = [];
    for (const s of argMatrix(args[0])) {
      if (hasHistograms(s)) {
        if (s.vs.length > 0) notes.mixedFloatsHistograms(ctx.annotations, metricName(s), ctx.argPos?.[0]);
        else if (s.hs!.length >= 2) {
          const h = extrapolatedHistogram(s, isCounter, isRate, ctx);
          // No "might not be a counter" info: Prometheus gives it for float results only.
          if (h) out.push({ labels: dropName(s.labels), value: Number.NaN, h });
        }
        continue;
      }
      const n = s.vs.length;
      if (n < 2) continue;
      const first = s.vs[0]!;
      const last = s.vs[n - 1]!;
      let result = last - first;
      if (isCounter) {
        for (let i = 1; i < n; i++) if (s.vs[i]! < s.vs[i - 1]!) result += s.vs[i - 1]!;
      }
      const factor = extrapolationFactor(s.ts, ctx, isCounter, isRate, isCounter && result > 0 && first >= 0 ? first / result : undefined);
      out.push({ labels: dropName(s.labels), value: result * factor });
      if (isCounter) counterNameInfo(s.labels, ctx);
    }
    return vec(out);
  };
}

/**
 * Prometheus' extrapolation of a range's increase to the range's bounds: to a bound when the first/last
 * sample lies within 1.1 average sample distances of it, else half a distance; for counters never below the
 * point where the counter would be zero (`zeroShare`: first value / increase, when that applies).
 */
function extrapolationFactor(ts: number[], ctx: CallContext, isCounter: boolean, isRate: boolean, zeroShare: number | undefined): number {
  const n = ts.length;
  let durationToStart = (ts[0]! - ctx.rangeStart) / 1000;
  let durationToEnd = (ctx.rangeEnd - ts[n - 1]!) / 1000;
  const sampled = (ts[n - 1]! - ts[0]!) / 1000;
  const avgBetween = sampled / (n - 1);
  const threshold = avgBetween * 1.1;
  let interval = sampled;
  if (durationToStart >= threshold) durationToStart = avgBetween / 2;
  if (isCounter && zeroShare !== undefined) {
    const durationToZero = sampled * zeroShare;
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  interval += durationToStart;
  if (durationToEnd >= threshold) durationToEnd = avgBetween / 2;
  interval += durationToEnd;
  let factor = interval / sampled;
  if (isRate) factor /= (ctx.rangeEnd - ctx.rangeStart) / 1000;
  return factor;
}

/** rate / increase / delta of a series of histograms only (Prometheus' histogramRate, then extrapolated). */
function extrapolatedHistogram(s: RangeSeries, isCounter: boolean, isRate: boolean, ctx: CallContext): FloatHistogram | undefined {
  const hs = s.hs!;
  const result = histogramRate(hs, isCounter, metricName(s), ctx.annotations, ctx.argPos?.[0]);
  if (!result) return undefined;
  const zeroShare = result.count > 0 && hs[0]!.count >= 0 ? hs[0]!.count / result.count : undefined;
  return histogramMul(result, extrapolationFactor(s.hts!, ctx, isCounter, isRate, zeroShare));
}

/**
 * irate / idelta: from the last two samples of the range, floats or histograms; a float next to a histogram
 * gives nothing but Prometheus' warning.
 */
function instantDelta(isRate: boolean): Impl {
  return (args, ctx) => {
    const out: InstantSample[] = [];
    for (const s of argMatrix(args[0])) {
      const nf = s.vs.length;
      const nh = s.hts?.length ?? 0;
      if (nf + nh < 2) continue;
      // The last two samples of either kind, in time order.
      const last2: { t: number; v: number; h?: FloatHistogram }[] = [];
      for (let i = Math.max(0, nf - 2); i < nf; i++) last2.push({ t: s.ts[i]!, v: s.vs[i]! });
      for (let i = Math.max(0, nh - 2); i < nh; i++) last2.push({ t: s.hts![i]!, v: Number.NaN, h: s.hs![i]! });
      last2.sort((a, b) => a.t - b.t);
      const [earlier, later] = last2.slice(-2) as [(typeof last2)[0], (typeof last2)[0]];
      const dt = (later.t - earlier.t) / 1000;
      if (dt === 0) continue;
      if (!earlier.h && !later.h) {
        let value = isRate && later.v < earlier.v ? later.v : later.v - earlier.v; // irate: a counter reset restarts from 0
        if (isRate) value /= dt;
        out.push({ labels: dropName(s.labels), value });
      } else if (earlier.h && later.h) {
        const h = histogramInstantDelta(earlier.h, later.h, isRate, metricName(s), ctx.annotations, ctx.argPos?.[0]);
        if (h) out.push({ labels: dropName(s.labels), value: Number.NaN, h: isRate ? histogramDiv(h, dt) : h });
      } else notes.mixedFloatsHistograms(ctx.annotations, metricName(s), ctx.argPos?.[0]);
    }
    return vec(out);
  };
}

/** Prometheus' quantile over a list (linear interpolation between closest ranks). */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return Number.NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  // Prometheus sorts NaN first (vectorByValueHeap.Less); a plain numeric sort leaves NaN anywhere.
  const sorted = [...values].sort((a, b) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : -1) : Number.isNaN(b) ? 1 : a - b));
  const n = sorted.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  // On a sample exactly, that sample (Prometheus 3.16): weighing ±Inf by 0 would give NaN.
  if (weight === 0) return sorted[lower]!;
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight;
}

/** Least squares slope and intercept at `interceptTime` (ms), as Prometheus' linearRegression (compensated sums). */
function linearRegression(ts: number[], vs: number[], interceptTime: number): [number, number] {
  let n = 0;
  let [sumX, cX, sumY, cY, sumXY, cXY, sumX2, cX2] = [0, 0, 0, 0, 0, 0, 0, 0];
  let constY = true;
  for (let i = 0; i < ts.length; i++) {
    if (constY && i > 0 && vs[i] !== vs[0]) constY = false;
    n++;
    const x = (ts[i]! - interceptTime) / 1000;
    [sumX, cX] = kahanInc(x, sumX, cX);
    [sumY, cY] = kahanInc(vs[i]!, sumY, cY);
    [sumXY, cXY] = kahanInc(x * vs[i]!, sumXY, cXY);
    [sumX2, cX2] = kahanInc(x * x, sumX2, cX2);
  }
  if (constY) return Number.isFinite(vs[0]!) || Number.isNaN(vs[0]!) ? [0, vs[0]!] : [Number.NaN, Number.NaN];
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return [slope, sumY / n - (slope * sumX) / n];
}

const LEFT_POINT = 0;
const RIGHT_POINT = 1;
const TRAPEZOIDAL = 2;

/**
 * integral(): the area under the samples over time (value·seconds), by the left-point, right-point or
 * trapezoidal rule (Prometheus 3.16's funcIntegral); NaN counts as zero, sums are compensated.
 */
function integral(vs: number[], ts: number[], strategy: number): number {
  const zeroNaN = (v: number): number => (Number.isNaN(v) ? 0 : v);
  let sum = 0;
  let c = 0;
  for (let i = 1; i < vs.length; i++) {
    const [prev, cur] = [zeroNaN(vs[i - 1]!), zeroNaN(vs[i]!)];
    let value = 0;
    let cValue = 0;
    if (strategy === LEFT_POINT) value = prev;
    else if (strategy === RIGHT_POINT) value = cur;
    else if (prev !== 0 || cur !== 0) {
      [value, cValue] = kahanInc(cur, prev, 0);
      // Halved after summing unless that overflows where the two halves would not.
      if (!Number.isFinite(value) && Number.isFinite(cur) && Number.isFinite(prev)) [value, cValue] = kahanInc(cur / 2, prev / 2, 0);
      else [value, cValue] = [value / 2, cValue / 2];
    }
    if (value === 0 && cValue === 0) continue;
    const dt = (ts[i]! - ts[i - 1]!) / 1000;
    [sum, c] = kahanInc(value * dt, sum, c + cValue * dt);
  }
  return Number.isFinite(sum) ? sum + c : sum;
}

/** Go's labels.FormatOpenMetricsFloat: shortest form, with `.0` when it has neither a point nor an exponent. */
function openMetricsFloat(v: number): string {
  const s = goG(v);
  return /^[-+]?\d+$/.test(s) ? `${s}.0` : s;
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

/** One step of Kahan-Neumaier summation (Prometheus' kahanSumInc): the new sum and compensation. */
function kahanInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) return [t, 0];
  if (Math.abs(sum) >= Math.abs(inc)) return [t, c + (sum - t + inc)];
  return [t, c + (inc - t + sum)];
}

/** sum and sum_over_time: compensated summation, as Prometheus. */
export function kahanSum(vs: number[]): number {
  let sum = 0;
  let c = 0;
  for (const v of vs) [sum, c] = kahanInc(v, sum, c);
  return sum + c;
}

/**
 * avg and avg_over_time as Prometheus computes them: a compensated sum divided at the end, switching to an
 * incremental mean only once the sum would overflow (so ±Inf inputs and huge values behave the same).
 */
export function average(vs: number[]): number {
  let sum = vs[0]!;
  let c = 0;
  let mean = 0;
  let incremental = false;
  for (let i = 1; i < vs.length; i++) {
    const n = i + 1;
    const v = vs[i]!;
    if (!incremental) {
      const [s2, c2] = kahanInc(v, sum, c);
      if (s2 !== Infinity && s2 !== -Infinity) {
        [sum, c] = [s2, c2];
        continue;
      }
      incremental = true;
      mean = sum / (n - 1);
      c /= n - 1;
    }
    const q = (n - 1) / n;
    [mean, c] = kahanInc(v / n, q * mean, q * c);
  }
  return incremental ? mean + c : sum / vs.length + c / vs.length;
}

/** stddev_over_time / stdvar_over_time: Welford's method with compensated sums (Prometheus' varianceOverTime). */
function varianceOverTime(vs: number[]): number {
  let count = 0;
  let mean = 0;
  let cMean = 0;
  let aux = 0;
  let cAux = 0;
  for (const v of vs) {
    count++;
    const delta = v - (mean + cMean);
    [mean, cMean] = kahanInc(delta / count, mean, cMean);
    [aux, cAux] = kahanInc(delta * (v - (mean + cMean)), aux, cAux);
  }
  return (aux + cAux) / count;
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
    const input = args.length === 0 ? [{ labels: {}, value: ctx.t / 1000 }] : floats(argVector(args[0]));
    return vec(input.map((s) => ({ labels: dropName(s.labels), value: f(new Date(s.value * 1000)) })));
  };
}

/** The float samples of a vector (histogram samples left out). */
function floats(v: InstantSample[]): InstantSample[] {
  return v.filter((s) => !s.h);
}

/**
 * deriv / predict_linear: at least two floats needed; histograms in the range are ignored with Prometheus'
 * info (also when they leave a single float and so no result).
 */
function regression(f: (s: RangeSeries) => number): Impl {
  return (args, ctx) => {
    const out: InstantSample[] = [];
    for (const s of argMatrix(args[0])) {
      if (hasHistograms(s) && s.vs.length >= 1) notes.ignoredInMixedRange(ctx.annotations, metricName(s), ctx.argPos?.[0]);
      if (s.vs.length >= 2) out.push({ labels: dropName(s.labels), value: f(s) });
    }
    return vec(out);
  };
}

/** histogram_count and kin: a number from each histogram sample; float samples are left out. */
function histogramProperty(f: (h: FloatHistogram) => number): Impl {
  return (args) => {
    const out: InstantSample[] = [];
    for (const s of argVector(args[0])) if (s.h) out.push({ labels: dropName(s.labels), value: f(s.h) });
    return vec(out);
  };
}

/**
 * histogram_quantile / histogram_fraction input: native histogram samples, and classic histograms from the
 * float samples' `le` buckets. A native histogram whose labels equal a classic histogram's (but for `le`)
 * at the same step is ambiguous: both are dropped with Prometheus' warning.
 */
function splitHistograms(v: InstantSample[], ctx: CallContext, arg: number): { classic: ClassicHistogram[]; native: InstantSample[] } {
  const native = v.filter((s) => s.h);
  const classic = classicHistograms(floats(v), ctx, arg);
  if (native.length === 0 || classic.length === 0) return { classic, native };
  const classicKeys = new Map(classic.map((g) => [labelsKey(g.labels), g]));
  const conflicting = new Set<ClassicHistogram>();
  const kept = native.filter((s) => {
    const g = classicKeys.get(labelsKey(s.labels));
    if (!g) return true;
    // Prometheus names no metric here unless it delays removing names (promgate does not).
    notes.mixedClassicNative(ctx.annotations, "", ctx.argPos?.[arg]);
    conflicting.add(g);
    return false;
  });
  return { classic: classic.filter((g) => !conflicting.has(g)), native: kept };
}

interface ClassicHistogram {
  labels: Labels;
  buckets: { upper: number; count: number }[];
}

/**
 * Classic histogram buckets grouped by every label but `le` (the name included), in input order; a sample
 * whose `le` does not parse is left out with Prometheus' warning (at the position of argument `arg`).
 */
function classicHistograms(v: InstantSample[], ctx: CallContext, arg: number): ClassicHistogram[] {
  const groups = new Map<string, ClassicHistogram>();
  for (const s of v) {
    const upper = parseBucketBound(s.labels.le ?? "");
    if (upper === undefined) {
      // Prometheus names the metric only when it delays removing names (promgate does not).
      notes.badBucketLabel(ctx.annotations, s.labels.le ?? "", ctx.argPos?.[arg]);
      continue;
    }
    const { le: _, ...rest } = s.labels;
    const key = labelsKey(rest);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels: rest, buckets: [] }));
    g.buckets.push({ upper, count: s.value });
  }
  return [...groups.values()];
}

/** Prometheus' BucketFraction: the estimated share of observations in [lower, upper], interpolating linearly. */
function bucketFraction(lower: number, upper: number, input: { upper: number; count: number }[]): number {
  const sorted = [...input].sort((a, b) => a.upper - b.upper);
  if (sorted[sorted.length - 1]!.upper !== Infinity) return Number.NaN;
  const buckets: { upper: number; count: number }[] = [];
  for (const b of sorted) {
    const last = buckets[buckets.length - 1];
    if (last && last.upper === b.upper) last.count += b.count;
    else buckets.push({ ...b });
  }
  const count = buckets[buckets.length - 1]!.count;
  if (count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return Number.NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i]!;
    // The first bucket starts at 0 when its upper bound is positive, else at -Inf (Prometheus 3.16); nothing
    // is interpolated inside a bucket of infinite width.
    const lowerBound = i > 0 ? buckets[i - 1]!.upper : buckets[0]!.upper <= 0 ? -Infinity : 0;
    const interpolate = (v: number) => (lowerBound === -Infinity ? b.count : rank + ((b.count - rank) * (v - lowerBound)) / (b.upper - lowerBound));
    if (!lowerSet && lowerBound >= lower) [lowerRank, lowerSet] = [rank, true];
    if (!upperSet && lowerBound >= upper) [upperRank, upperSet] = [rank, true];
    if (lowerSet && upperSet) break;
    if (!lowerSet && lowerBound < lower && b.upper > lower) [lowerRank, lowerSet] = [interpolate(lower), true];
    if (!upperSet && lowerBound < upper && b.upper > upper) [upperRank, upperSet] = [interpolate(upper), true];
    if (lowerSet && upperSet) break;
    rank = b.count;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / count;
}

/** Where monotonicity had to be forced: the buckets' bounds and the largest decrease removed. */
interface Forced {
  minBucket: number;
  maxBucket: number;
  maxDiff: number;
}

/** Prometheus' BucketQuantile over classic buckets; `forced` tells whether monotonicity had to be forced, and where. */
function bucketQuantile(q: number, buckets: { upper: number; count: number }[]): { value: number; forced: Forced | undefined } {
  const none = (value: number) => ({ value, forced: undefined });
  if (Number.isNaN(q)) return none(Number.NaN);
  if (q < 0) return none(-Infinity);
  if (q > 1) return none(Infinity);
  buckets.sort((a, b) => a.upper - b.upper);
  if (buckets[buckets.length - 1]!.upper !== Infinity) return none(Number.NaN);
  const merged: { upper: number; count: number }[] = [];
  for (const b of buckets) {
    const last = merged[merged.length - 1];
    if (last && last.upper === b.upper) last.count += b.count;
    else merged.push({ ...b });
  }
  // Differences below 1e-12 (relative) are float noise and ignored either way; real decreases are removed
  // and reported (the info annotation).
  let forced: Forced | undefined;
  let prev = merged[0]!.count;
  for (let i = 1; i < merged.length; i++) {
    const cur = merged[i]!.count;
    if (cur === prev) continue;
    if (almostEqual(prev, cur, 1e-12)) merged[i]!.count = prev;
    else if (cur < prev) {
      merged[i]!.count = prev;
      const upper = merged[i]!.upper;
      forced ??= { minBucket: Infinity, maxBucket: -Infinity, maxDiff: 0 };
      forced.minBucket = Math.min(forced.minBucket, upper);
      forced.maxBucket = Math.max(forced.maxBucket, upper);
      forced.maxDiff = Math.max(forced.maxDiff, prev - cur);
    } else prev = cur;
  }
  if (merged.length < 2) return none(Number.NaN);
  const observations = merged[merged.length - 1]!.count;
  if (observations === 0) return none(Number.NaN);
  let rank = q * observations;
  let b = merged.findIndex((x, i) => i < merged.length - 1 && x.count >= rank);
  if (b < 0) b = merged.length - 1;
  if (b === merged.length - 1) return { value: merged[merged.length - 2]!.upper, forced };
  if (b === 0 && merged[0]!.upper <= 0) return { value: merged[0]!.upper, forced };
  let start = 0;
  const end = merged[b]!.upper;
  let count = merged[b]!.count;
  if (b > 0) {
    start = merged[b - 1]!.upper;
    count -= merged[b - 1]!.count;
    rank -= merged[b - 1]!.count;
  }
  return { value: start + (end - start) * (rank / count), forced };
}

const MIN_NORMAL = 2.2250738585072014e-308;
/** Prometheus' almost.Equal (relative tolerance, NaN equal to NaN). */
function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

/** Go's ParseFloat as Prometheus applies it to `le` (Inf/NaN spellings, exponents); undefined if malformed. */
function parseBucketBound(le: string): number | undefined {
  const t = le.toLowerCase();
  if (/^[+-]?(inf|infinity)$/.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  if (/^[+-]?nan$/.test(t)) return Number.NaN;
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return Number(t);
  if (/^[+-]?0x[0-9a-f]+$/.test(t)) return Number.parseInt(t, 16);
  return undefined;
}

/** The "might not be a counter" info of rate/increase, for a series whose name lacks a counter suffix. */
function counterNameInfo(labels: Labels, ctx: CallContext): void {
  const name = labels.__name__;
  if (!name) return;
  if (ctx.typeAndUnitLabels) {
    const type = labels.__type__ ?? "";
    if (type !== "counter" && type !== "histogram") {
      ctx.annotations?.info(`metric might not be a counter, __type__ label is not set to "counter" or "histogram", got ${JSON.stringify(type)}: ${JSON.stringify(name)}`, ctx.argPos?.[0]);
    }
    return;
  }
  if (/(_total|_sum|_count|_bucket)$/.test(name)) return;
  ctx.annotations?.info(`metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${JSON.stringify(name)}`, ctx.argPos?.[0]);
}

function quantileWarning(q: number, ctx: CallContext): void {
  if (Number.isNaN(q) || q < 0 || q > 1) ctx.annotations?.warn(`quantile value should be between 0 and 1, got ${goG(q)}`, ctx.argPos?.[0]);
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
  avg_over_time: floatOrHistogramOverTime(average, avgHistograms),
  min_over_time: overTime((vs) => vs.reduce((m, v) => (v < m || Number.isNaN(m) ? v : m))),
  max_over_time: overTime((vs) => vs.reduce((m, v) => (v > m || Number.isNaN(m) ? v : m))),
  sum_over_time: floatOrHistogramOverTime(kahanSum, sumHistograms),
  count_over_time: overAllSamples((s) => s.vs.length + (s.hs?.length ?? 0)),
  last_over_time: edgeOverTime(true),
  first_over_time: edgeOverTime(false),
  present_over_time: overAllSamples(() => 1),
  stddev_over_time: overTime((vs) => Math.sqrt(varianceOverTime(vs))),
  stdvar_over_time: overTime(varianceOverTime),
  quantile_over_time: (args, ctx) => {
    const q = argScalar(args[0]);
    if (argMatrix(args[1]).some((s) => s.vs.length > 0)) quantileWarning(q, ctx);
    const out: InstantSample[] = [];
    for (const s of argMatrix(args[1])) {
      if (s.vs.length === 0) continue;
      if (hasHistograms(s)) notes.ignoredInMixedRange(ctx.annotations, metricName(s), ctx.argPos?.[1]);
      out.push({ labels: dropName(s.labels), value: quantile(q, s.vs) });
    }
    return vec(out);
  },
  changes: transitions((prev, cur) => {
    if (prev.h && cur.h) return !histogramEquals(cur.h, prev.h);
    if (prev.h || cur.h) return true;
    return cur.v !== prev.v && !(Number.isNaN(cur.v) && Number.isNaN(prev.v));
  }),
  resets: transitions((prev, cur) => {
    if (prev.h && cur.h) return detectReset(cur.h, prev.h);
    if (prev.h || cur.h) return true;
    return cur.v < prev.v;
  }),
  deriv: regression((s) => linearRegression(s.ts, s.vs, s.ts[0]!)[0]),
  predict_linear: (args, ctx) => {
    const duration = argScalar(args[1]);
    return regression((s) => {
      const [slope, intercept] = linearRegression(s.ts, s.vs, ctx.t);
      return slope * duration + intercept;
    })(args, ctx);
  },
  absent_over_time: (args, ctx) =>
    argMatrix(args[0]).some((s) => s.vs.length > 0 || hasHistograms(s)) ? vec([]) : vec([{ labels: ctx.absentLabels, value: 1 }]),
  absent: (args, ctx) => (argVector(args[0]).length > 0 ? vec([]) : vec([{ labels: ctx.absentLabels, value: 1 }])),
  time: (_args, ctx) => scalar(ctx.t / 1000),
  pi: () => scalar(Math.PI),
  min_of: (args) => scalar(Math.min(argScalar(args[0]), argScalar(args[1]))),
  max_of: (args) => scalar(Math.max(argScalar(args[0]), argScalar(args[1]))),
  vector: (args) => vec([{ labels: {}, value: argScalar(args[0]) }]),
  // The one float sample's value (histograms do not count), else NaN.
  scalar: (args) => {
    const v = argVector(args[0]).filter((s) => !s.h);
    return scalar(v.length === 1 ? v[0]!.value : Number.NaN);
  },
  timestamp: (args, ctx) => vec(argVector(args[0]).map((s) => ({ labels: dropName(s.labels), value: (s.t ?? ctx.t) / 1000 }))),
  // sort and sort_desc leave histogram samples out, as Prometheus does.
  sort: (args) => vec(floats(argVector(args[0])).sort((a, b) => (Number.isNaN(a.value) ? 1 : Number.isNaN(b.value) ? -1 : a.value - b.value))),
  sort_desc: (args) => vec(floats(argVector(args[0])).sort((a, b) => (Number.isNaN(a.value) ? 1 : Number.isNaN(b.value) ? -1 : b.value - a.value))),
  label_replace: (args) => {
    const [dst, replacement, src, regex] = [argString(args[1]), argString(args[2]), argString(args[3]), argString(args[4])];
    let re: Replacer;
    try {
      re = replaceRegex(regex);
    } catch {
      throw new PromgateError("unprocessable", `invalid regular expression in label_replace(): ${regex}`);
    }
    // Prometheus 3 accepts any UTF-8 label name but the empty one (model.UTF8Validation).
    if (!validLabelName(dst)) throw new PromgateError("unprocessable", `invalid destination label name in label_replace(): ${wellFormed(dst)}`);
    return vec(
      argVector(args[0]).map((s) => {
        const m = re.exec(s.labels[src] ?? "");
        if (!m) return s;
        return { ...s, labels: withLabel(s.labels, dst, wellFormed(expandTemplate(replacement, m))) };
      }),
    );
  },
  label_join: (args) => {
    const dst = argString(args[1]);
    const sep = argString(args[2]);
    const srcs = args.slice(3).map(argString);
    const badSrc = srcs.find((l) => !validLabelName(l));
    if (badSrc !== undefined) throw new PromgateError("unprocessable", `invalid source label name in label_join(): ${wellFormed(badSrc)}`);
    if (!validLabelName(dst)) throw new PromgateError("unprocessable", `invalid destination label name in label_join(): ${wellFormed(dst)}`);
    return vec(
      argVector(args[0]).map((s) => {
        return { ...s, labels: withLabel(s.labels, dst, wellFormed(srcs.map((l) => s.labels[l] ?? "").join(sep))) };
      }),
    );
  },
  histogram_quantile: (args, ctx) => {
    const q = argScalar(args[0]);
    quantileWarning(q, ctx);
    const out: InstantSample[] = [];
    const { classic, native } = splitHistograms(argVector(args[1]), ctx, 1);
    for (const s of native) {
      const { value, note } = histogramQuantile(q, s.h!);
      // Prometheus names the metric here only when it delays removing names (promgate does not).
      if (note === "quantile-nan") notes.quantileNaNResult(ctx.annotations, "", ctx.argPos?.[1]);
      if (note === "quantile-skew") notes.quantileNaNSkew(ctx.annotations, "", ctx.argPos?.[1]);
      out.push({ labels: dropName(s.labels), value });
    }
    for (const g of classic) {
      const { value, forced } = bucketQuantile(q, g.buckets);
      // Prometheus names the metric here only when it delays removing names (promgate does not).
      if (forced) notes.forcedMonotonicity(ctx.annotations, ctx.argPos?.[1], { ...forced, fromMs: ctx.t, toMs: ctx.t, samples: 1 });
      out.push({ labels: dropName(g.labels), value });
    }
    checkUniqueLabelsets(out);
    return vec(out);
  },
  histogram_fraction: (args, ctx) => {
    const [lower, upper] = [argScalar(args[0]), argScalar(args[1])];
    const out: InstantSample[] = [];
    const { classic, native } = splitHistograms(argVector(args[2]), ctx, 2);
    for (const s of native) {
      const { value, note } = histogramFraction(lower, upper, s.h!);
      if (note) notes.fractionNaNs(ctx.annotations, "", ctx.argPos?.[2]);
      out.push({ labels: dropName(s.labels), value });
    }
    for (const g of classic) out.push({ labels: dropName(g.labels), value: bucketFraction(lower, upper, g.buckets) });
    checkUniqueLabelsets(out);
    return vec(out);
  },
  histogram_quantiles: (args, ctx) => {
    // One histogram_quantile per quantile, each answer labelled with its quantile (OpenMetrics' float text).
    const label = argString(args[1]);
    const qs = args.slice(2).map(argScalar);
    qs.forEach((q, i) => {
      if (Number.isNaN(q) || q < 0 || q > 1) ctx.annotations?.warn(`quantile value should be between 0 and 1, got ${goG(q)}`, ctx.argPos?.[i + 2]);
    });
    const out: InstantSample[] = [];
    const { classic, native } = splitHistograms(argVector(args[0]), ctx, 0);
    for (const q of qs) {
      const named = (l: Labels): Labels => ({ ...dropName(l), [label]: openMetricsFloat(q) });
      for (const s of native) {
        const { value, note } = histogramQuantile(q, s.h!);
        if (note === "quantile-nan") notes.quantileNaNResult(ctx.annotations, "", ctx.argPos?.[0]);
        if (note === "quantile-skew") notes.quantileNaNSkew(ctx.annotations, "", ctx.argPos?.[0]);
        out.push({ labels: named(s.labels), value });
      }
      for (const g of classic) {
        const { value, forced } = bucketQuantile(q, g.buckets);
        if (forced) notes.forcedMonotonicity(ctx.annotations, ctx.argPos?.[0], { ...forced, fromMs: ctx.t, toMs: ctx.t, samples: 1 });
        out.push({ labels: named(g.labels), value });
      }
    }
    checkUniqueLabelsets(out);
    return vec(out);
  },
  integral: (args, ctx) => {
    const strategyArg = args.length > 1 ? argScalar(args[1]) : TRAPEZOIDAL;
    let strategy = TRAPEZOIDAL;
    if (Number.isInteger(strategyArg) && strategyArg >= LEFT_POINT && strategyArg <= TRAPEZOIDAL) strategy = strategyArg;
    else if (argMatrix(args[0]).some((s) => s.vs.length > 0)) {
      ctx.annotations?.warn(`strategy should be 0, 1, or 2 (default), using 2, got ${goG(strategyArg)}`, ctx.argPos?.[1]);
    }
    return overTime((vs, ts) => integral(vs, ts, strategy))(args, ctx);
  },
  mad_over_time: overTime((vs) => {
    // A NaN sample leaves the median, so the deviation, undefined (Prometheus 3.16).
    if (vs.some(Number.isNaN)) return Number.NaN;
    const median = quantile(0.5, vs);
    return quantile(0.5, vs.map((v) => Math.abs(v - median)));
  }),
  // The time of the last maximum / minimum (>= / <=), as Prometheus' compareOverTime picks it.
  ts_of_max_over_time: overTime((vs, ts) => ts[extremeIndex(vs, (cur, best) => cur >= best)]! / 1000),
  ts_of_min_over_time: overTime((vs, ts) => ts[extremeIndex(vs, (cur, best) => cur <= best)]! / 1000),
  ts_of_last_over_time: overAllSamples((s) => Math.max(s.ts[s.ts.length - 1] ?? -Infinity, s.hts?.[s.hts.length - 1] ?? -Infinity) / 1000),
  double_exponential_smoothing: doubleExponentialSmoothing,
  // Prometheus 2.x name of the same function (Prometheus 3 only knows the new one); kept for old dashboards.
  holt_winters: doubleExponentialSmoothing,
  sort_by_label: (args) => vec(sortByLabel(argVector(args[0]), args.slice(1).map(argString), 1)),
  sort_by_label_desc: (args) => vec(sortByLabel(argVector(args[0]), args.slice(1).map(argString), -1)),
  // Properties of native histogram samples; float samples are left out.
  histogram_count: histogramProperty((h) => h.count),
  histogram_sum: histogramProperty((h) => h.sum),
  histogram_avg: histogramProperty((h) => h.sum / h.count),
  histogram_stddev: histogramProperty((h) => Math.sqrt(histogramVariance(h))),
  histogram_stdvar: histogramProperty(histogramVariance),
  ts_of_first_over_time: overAllSamples((s) => Math.min(s.ts[0] ?? Infinity, s.hts?.[0] ?? Infinity) / 1000),
  day_of_month: dateFn((d) => d.getUTCDate()),
  day_of_week: dateFn((d) => d.getUTCDay()),
  day_of_year: dateFn((d) => Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1),
  days_in_month: dateFn((d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate()),
  hour: dateFn((d) => d.getUTCHours()),
  minute: dateFn((d) => d.getUTCMinutes()),
  month: dateFn((d) => d.getUTCMonth() + 1),
  year: dateFn((d) => d.getUTCFullYear()),
};

/**
 * Go's Regexp.Expand, as label_replace uses it: `$name` takes the longest run of letters, digits and `_`
 * (so `$1x` names group "1x", which is empty), `${name}` delimits it, digits refer to numbered groups,
 * `$$` is a literal `$`, and a `$` not followed by a name stays as it is.
 */
function expandTemplate(template: string, m: Submatch): string {
  return template.replace(/\$(?:\$|(\w+)|\{(\w+)\})?/g, (whole, bare: string | undefined, braced: string | undefined) => {
    if (whole === "$$") return "$";
    const name = bare ?? braced;
    if (name === undefined) return "$";
    if (/^\d+$/.test(name)) return m[Number(name)] ?? "";
    return m.groups?.[name] ?? "";
  });
}

/** Index of the sample `better` picks over the running best (NaN never stays the best), from the first. */
function extremeIndex(vs: number[], better: (cur: number, best: number) => boolean): number {
  let best = 0;
  for (let i = 0; i < vs.length; i++) if (better(vs[i]!, vs[best]!) || Number.isNaN(vs[best]!)) best = i;
  return best;
}

/** Prometheus' double_exponential_smoothing (Holt's linear trend): smoothing factor sf, trend factor tf. */
function doubleExponentialSmoothing(args: Value[], ctx: CallContext): Value {
  const sf = argScalar(args[1]);
  const tf = argScalar(args[2]);
  if (!(sf > 0 && sf < 1)) throw new PromgateError("unprocessable", `invalid smoothing factor. Expected: 0 < sf < 1, got: ${sf.toFixed(6)}`);
  if (!(tf > 0 && tf < 1)) throw new PromgateError("unprocessable", `invalid trend factor. Expected: 0 < tf < 1, got: ${tf.toFixed(6)}`);
  const out: InstantSample[] = [];
  for (const s of argMatrix(args[0])) {
    const n = s.vs.length;
    if (hasHistograms(s) && n >= 1) notes.ignoredInMixedRange(ctx.annotations, metricName(s), ctx.argPos?.[0]);
    if (n < 2) continue;
    let s0 = 0;
    let s1 = s.vs[0]!;
    let b = s.vs[1]! - s.vs[0]!;
    for (let i = 1; i < n; i++) {
      const x = sf * s.vs[i]!;
      if (i > 1) b = tf * (s1 - s0) + (1 - tf) * b; // the trend starts as the first difference
      const y = (1 - sf) * (s1 + b);
      s0 = s1;
      s1 = x + y;
    }
    out.push({ labels: dropName(s.labels), value: s1 });
  }
  return vec(out);
}

/** sort_by_label(_desc): natural order of the given labels' values, ties broken by the whole label set. */
function sortByLabel(v: InstantSample[], names: string[], dir: 1 | -1): InstantSample[] {
  return [...v].sort((a, b) => {
    for (const n of names) {
      const x = a.labels[n] ?? "";
      const y = b.labels[n] ?? "";
      if (x !== y) return naturalLess(x, y) ? -dir : dir;
    }
    return dir * compareLabelSets(a.labels, b.labels);
  });
}

export function checkUniqueLabelsets(v: InstantSample[]): void {
  const seen = new Set<string>();
  for (const s of v) {
    const k = labelsKey(s.labels);
    if (seen.has(k)) throw new PromgateError("unprocessable", "vector cannot contain metrics with the same labelset");
    seen.add(k);
  }
}

export { formatValue };
