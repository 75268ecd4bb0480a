import { kahanInc } from "./arith.js";
import { allBuckets, allBucketsReverse, type Bucket, CUSTOM, type FloatHistogram } from "./float.js";
import { goExp2, goLog2 } from "./gomath.js";

/**
 * Estimates from one native histogram: histogram_quantile, histogram_fraction and histogram_stddev/stdvar,
 * after Prometheus' promql/quantile.go and functions.go. Exponential buckets interpolate on a log scale,
 * custom buckets and the zero bucket linearly.
 */

/** What an estimate noticed: NaN observations that made it NaN or skewed it. */
export type EstimateNote = "quantile-nan" | "quantile-skew" | "fraction-nan" | undefined;

/** Share of bucket b's width at or below v (v strictly inside b, finite bounds): Prometheus' FractionBelow. */
function fractionBelow(b: Bucket, v: number, linear: boolean): number {
  if (linear) return (v - b.lower) / (b.upper - b.lower);
  const logLower = goLog2(Math.abs(b.lower));
  const logUpper = goLog2(Math.abs(b.upper));
  const logV = goLog2(Math.abs(v));
  if (v > 0) return (logV - logLower) / (logUpper - logLower);
  return 1 - (logV - logUpper) / (logLower - logUpper);
}

/** Prometheus' HistogramQuantile. */
export function histogramQuantile(q: number, h: FloatHistogram): { value: number; note: EstimateNote } {
  const plain = (value: number) => ({ value, note: undefined });
  if (q < 0) return plain(-Infinity);
  if (q > 1) return plain(Infinity);
  if (h.count === 0 || Number.isNaN(q)) return plain(Number.NaN);
  const forward = Number.isNaN(h.sum) || q < 0.5;
  const it = forward ? allBuckets(h) : allBucketsReverse(h);
  let rank = forward ? q * h.count : (1 - q) * h.count;
  let count = 0;
  let bucket: Bucket = { lower: 0, upper: 0, lowerInclusive: false, upperInclusive: false, count: 0 };
  for (let n = it.next(); !n.done; n = it.next()) {
    bucket = n.value;
    if (bucket.count === 0) continue;
    count += bucket.count;
    if (count >= rank) break;
  }
  const custom = h.schema === CUSTOM;
  if (!custom && bucket.lower < 0 && bucket.upper > 0) {
    if (h.negative.idx.length === 0 && h.positive.idx.length > 0) bucket = { ...bucket, lower: 0 };
    else if (h.positive.idx.length === 0 && h.negative.idx.length > 0) bucket = { ...bucket, upper: 0 };
  } else if (custom) {
    if (bucket.lower === -Infinity) {
      if (bucket.upper <= 0) return plain(bucket.upper);
      bucket = { ...bucket, lower: 0 };
    } else if (bucket.upper === Infinity) return plain(bucket.lower);
  }
  if (count > h.count) count = h.count;
  if (count < rank) {
    if (Number.isNaN(h.sum)) return { value: Number.NaN, note: "quantile-nan" };
    return plain(bucket.upper);
  }
  if (forward) rank -= count - bucket.count;
  else rank = count - rank;
  let note: EstimateNote;
  if (Number.isNaN(h.sum)) {
    for (let n = it.next(); !n.done; n = it.next()) count += n.value.count;
    if (count < h.count) note = "quantile-skew";
  }
  const fraction = rank / bucket.count;
  if (custom || (bucket.lower <= 0 && bucket.upper >= 0)) return { value: bucket.lower + (bucket.upper - bucket.lower) * fraction, note };
  const logLower = goLog2(Math.abs(bucket.lower));
  const logUpper = goLog2(Math.abs(bucket.upper));
  if (bucket.lower > 0) return { value: goExp2(logLower + (logUpper - logLower) * fraction), note };
  return { value: -goExp2(logUpper + (logLower - logUpper) * (1 - fraction)), note };
}

/** Prometheus' HistogramFraction: the estimated share of observations in [lower, upper]. */
export function histogramFraction(lower: number, upper: number, h: FloatHistogram): { value: number; note: EstimateNote } {
  if (h.count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return { value: Number.NaN, note: undefined };
  if (lower >= upper) return { value: 0, note: undefined };
  const custom = h.schema === CUSTOM;
  let count = 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  const it = allBuckets(h);
  for (let n = it.next(); !n.done; n = it.next()) {
    let b = n.value;
    count += b.count;
    let zeroBucket = false;
    if (custom) {
      if (b.lower === -Infinity && b.upper > 0) b = { ...b, lower: 0 };
    } else if (b.lower <= 0 && b.upper >= 0) {
      zeroBucket = true;
      if (h.negative.idx.length === 0 && h.positive.idx.length > 0) b = { ...b, lower: 0 };
      else if (h.positive.idx.length === 0 && h.negative.idx.length > 0) b = { ...b, upper: 0 };
    }
    const linear = custom || zeroBucket;
    // A bucket reaching -Inf contributes all or nothing: interpolating in it has no meaning.
    const interpolate = (v: number) => (linear && b.lower === -Infinity ? b.count : rank + b.count * fractionBelow(b, v, linear));
    if (!lowerSet && b.lower >= lower) [lowerRank, lowerSet] = [rank, true];
    if (!upperSet && b.lower >= upper) [upperRank, upperSet] = [rank, true];
    if (lowerSet && upperSet) break;
    if (!lowerSet && b.lower < lower && b.upper > lower) [lowerRank, lowerSet] = [interpolate(lower), true];
    if (!upperSet && b.lower < upper && b.upper > upper) [upperRank, upperSet] = [interpolate(upper), true];
    if (lowerSet && upperSet) break;
    rank += b.count;
  }
  let note: EstimateNote;
  if (Number.isNaN(h.sum)) {
    for (let n = it.next(); !n.done; n = it.next()) count += n.value.count;
    if (count < h.count) note = "fraction-nan";
  } else count = h.count;
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return { value: (upperRank - lowerRank) / h.count, note };
}

/**
 * histogram_stdvar: the variance of the observations, each taken at its bucket's representative value —
 * the arithmetic mean of the bounds for custom buckets, 0 in the zero bucket, the geometric mean otherwise.
 */
export function histogramVariance(h: FloatHistogram): number {
  const mean = h.sum / h.count;
  let variance = 0;
  let c = 0;
  for (const b of allBuckets(h)) {
    if (b.count === 0) continue;
    let val: number;
    if (h.schema === CUSTOM) val = (b.upper + b.lower) / 2;
    else if (b.lower <= 0 && b.upper >= 0) val = 0;
    else {
      val = Math.sqrt(b.upper * b.lower);
      if (b.upper < 0) val = -val;
    }
    const delta = val - mean;
    [variance, c] = kahanInc(b.count * delta * delta, variance, c);
  }
  return (variance + c) / h.count;
}
