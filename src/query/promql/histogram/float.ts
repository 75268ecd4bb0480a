import { type NativeHistogram, ResetHint } from "../../../model/histogram.js";
import { goG } from "../annotations.js";
import { bucketBound } from "./bounds.js";

/**
 * The engine's histogram: Prometheus' FloatHistogram with its buckets as sorted index lists instead of spans.
 * An index list names the same layout as spans do (explicit empty buckets included), so equality, counter
 * reset detection and bucket arithmetic follow Prometheus rule for rule, without span bookkeeping. Values
 * are never mutated once built: every operation returns a new histogram (samples share them freely).
 */
export interface Buckets {
  /** Bucket indices, ascending. */
  idx: number[];
  /** Absolute counts, one per index. */
  counts: number[];
}

export interface FloatHistogram {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  positive: Buckets;
  negative: Buckets;
  hint: ResetHint;
  /** Upper bounds of custom buckets (schema -53); shared, never mutated. */
  customValues: number[];
}

export const CUSTOM = -53;
export const usesCustomBuckets = (h: FloatHistogram): boolean => h.schema === CUSTOM;

const NO_BUCKETS: Buckets = { idx: [], counts: [] };

/** Spans + absolute counts → index list (a span's offset is the gap after the previous span). */
function fromSpans(spans: { offset: number; length: number }[], counts: number[]): Buckets {
  if (counts.length === 0) return NO_BUCKETS;
  const idx: number[] = [];
  let i = 0;
  let at = 0;
  for (const s of spans) {
    at += s.offset;
    for (let k = 0; k < s.length && i < counts.length; k++, i++) idx.push(at++);
  }
  return { idx, counts: counts.slice(0, idx.length) };
}

/** A stored sample as the engine reads it. */
export function fromNative(h: NativeHistogram): FloatHistogram {
  const custom = h.schema === CUSTOM;
  return {
    schema: h.schema,
    zeroThreshold: custom ? 0 : h.zeroThreshold,
    zeroCount: custom ? 0 : h.zeroCount,
    count: h.count,
    sum: h.sum,
    positive: fromSpans(h.positiveSpans, h.positiveBuckets),
    negative: custom ? NO_BUCKETS : fromSpans(h.negativeSpans, h.negativeBuckets),
    hint: h.resetHint,
    customValues: custom ? h.customValues : [],
  };
}

export function copyBuckets(b: Buckets): Buckets {
  return { idx: b.idx.slice(), counts: b.counts.slice() };
}

/** A histogram with the same fields and independent bucket arrays. */
export function copy(h: FloatHistogram): FloatHistogram {
  return { ...h, positive: copyBuckets(h.positive), negative: copyBuckets(h.negative) };
}

/** Empty buckets removed (Prometheus' Compact(0)). */
export function compactBuckets(b: Buckets): Buckets {
  if (!b.counts.includes(0)) return b;
  const idx: number[] = [];
  const counts: number[] = [];
  b.counts.forEach((c, i) => {
    if (c !== 0) {
      idx.push(b.idx[i]!);
      counts.push(c);
    }
  });
  return { idx, counts };
}

export function compact(h: FloatHistogram): FloatHistogram {
  const positive = compactBuckets(h.positive);
  const negative = compactBuckets(h.negative);
  return positive === h.positive && negative === h.negative ? h : { ...h, positive, negative };
}

function scaleBuckets(b: Buckets, f: (c: number) => number): Buckets {
  return { idx: b.idx, counts: b.counts.map(f) };
}

/** Prometheus' Mul: every count and the sum scaled; a negative factor makes it a gauge. */
export function mul(h: FloatHistogram, factor: number): FloatHistogram {
  return {
    ...h,
    zeroCount: h.zeroCount * factor,
    count: h.count * factor,
    sum: h.sum * factor,
    positive: scaleBuckets(h.positive, (c) => c * factor),
    negative: scaleBuckets(h.negative, (c) => c * factor),
    hint: factor < 0 ? ResetHint.Gauge : h.hint,
  };
}

/** Prometheus' Div: dividing by zero drops every bucket (count, sum and zero count become ±Inf or NaN). */
export function div(h: FloatHistogram, divisor: number): FloatHistogram {
  const out: FloatHistogram = { ...h, zeroCount: h.zeroCount / divisor, count: h.count / divisor, sum: h.sum / divisor };
  if (divisor === 0) return { ...out, positive: NO_BUCKETS, negative: NO_BUCKETS };
  return {
    ...out,
    positive: scaleBuckets(h.positive, (c) => c / divisor),
    negative: scaleBuckets(h.negative, (c) => c / divisor),
    hint: divisor < 0 ? ResetHint.Gauge : h.hint,
  };
}

const sameBits = (a: number, b: number): boolean => Object.is(a, b);

function bucketsEqual(a: Buckets, b: Buckets): boolean {
  if (a.idx.length !== b.idx.length) return false;
  for (let i = 0; i < a.idx.length; i++) if (a.idx[i] !== b.idx[i] || !sameBits(a.counts[i]!, b.counts[i]!)) return false;
  return true;
}

export function customBoundsMatch(a: number[], b: number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Prometheus' FloatHistogram.Equals: same schema, layout (the set of buckets, empty ones included) and bit
 * patterns of every count and the sum; the counter reset hint does not count.
 */
export function equals(a: FloatHistogram, b: FloatHistogram): boolean {
  if (a.schema !== b.schema || !sameBits(a.count, b.count) || !sameBits(a.sum, b.sum)) return false;
  if (a.schema === CUSTOM && !customBoundsMatch(a.customValues, b.customValues)) return false;
  if (a.zeroThreshold !== b.zeroThreshold || !sameBits(a.zeroCount, b.zeroCount)) return false;
  return bucketsEqual(a.negative, b.negative) && bucketsEqual(a.positive, b.positive);
}

/** True when a count or bucket went infinite (avg then switches to an incremental mean). */
export function hasOverflow(h: FloatHistogram): boolean {
  const inf = (v: number) => v === Infinity || v === -Infinity;
  return inf(h.zeroCount) || inf(h.count) || inf(h.sum) || h.positive.counts.some(inf) || h.negative.counts.some(inf) || h.customValues.some(inf);
}

/** One bucket with its bounds, as Prometheus' bucket iterators yield them. */
export interface Bucket {
  lower: number;
  upper: number;
  lowerInclusive: boolean;
  upperInclusive: boolean;
  count: number;
}

function positiveBucket(h: FloatHistogram, i: number): Bucket {
  const idx = h.positive.idx[i]!;
  const upper = bucketBound(idx, h.schema, h.customValues);
  const lower = bucketBound(idx - 1, h.schema, h.customValues);
  const custom = h.schema === CUSTOM;
  return { lower, upper, lowerInclusive: custom ? idx === 0 : lower < 0, upperInclusive: custom ? true : upper > 0, count: h.positive.counts[i]! };
}

function negativeBucket(h: FloatHistogram, i: number): Bucket {
  const idx = h.negative.idx[i]!;
  const lower = -bucketBound(idx, h.schema, h.customValues);
  const upper = -bucketBound(idx - 1, h.schema, h.customValues);
  return { lower, upper, lowerInclusive: lower < 0, upperInclusive: upper > 0, count: h.negative.counts[i]! };
}

function zeroBucket(h: FloatHistogram): Bucket {
  return { lower: -h.zeroThreshold, upper: h.zeroThreshold, lowerInclusive: true, upperInclusive: true, count: h.zeroCount };
}

/** Bounds next to the zero bucket are cut at its threshold (Prometheus' allFloatBucketIterator). */
function clipToZeroBucket(h: FloatHistogram, b: Bucket): Bucket {
  if (b.upper < 0 && b.upper > -h.zeroThreshold) return { ...b, upper: -h.zeroThreshold };
  if (b.lower > 0 && b.lower < h.zeroThreshold) return { ...b, lower: h.zeroThreshold };
  return b;
}

/** Every bucket from the lowest to the highest: negative ones, the zero bucket when populated, positive ones. */
export function* allBuckets(h: FloatHistogram): Generator<Bucket> {
  for (let i = h.negative.idx.length - 1; i >= 0; i--) yield clipToZeroBucket(h, negativeBucket(h, i));
  if (h.zeroCount > 0) yield zeroBucket(h);
  for (let i = 0; i < h.positive.idx.length; i++) yield clipToZeroBucket(h, positiveBucket(h, i));
}

/** The same buckets from the highest to the lowest. */
export function* allBucketsReverse(h: FloatHistogram): Generator<Bucket> {
  for (let i = h.positive.idx.length - 1; i >= 0; i--) yield clipToZeroBucket(h, positiveBucket(h, i));
  if (h.zeroCount > 0) yield zeroBucket(h);
  for (let i = 0; i < h.negative.idx.length; i++) yield clipToZeroBucket(h, negativeBucket(h, i));
}

/** Positive buckets from the lowest (unclipped), and negative ones from the one nearest zero. */
export function* positiveBuckets(h: FloatHistogram): Generator<Bucket> {
  for (let i = 0; i < h.positive.idx.length; i++) yield positiveBucket(h, i);
}
export function* negativeBuckets(h: FloatHistogram): Generator<Bucket> {
  for (let i = 0; i < h.negative.idx.length; i++) yield negativeBucket(h, i);
}

function bucketText(b: Bucket): string {
  return `${b.lowerInclusive ? "[" : "("}${goG(b.lower)},${goG(b.upper)}${b.upperInclusive ? "]" : ")"}:${goG(b.count)}`;
}

/**
 * Prometheus' FloatHistogram.String (`{count:4, sum:5, [-1,-0.5):1, [-0.001,0.001]:2, (0.5,1]:1}`), which
 * count_values uses as the label value for a histogram.
 */
export function histogramString(h: FloatHistogram): string {
  const parts = [`{count:${goG(h.count)}, sum:${goG(h.sum)}`];
  for (let i = h.negative.idx.length - 1; i >= 0; i--) if (h.negative.counts[i] !== 0) parts.push(bucketText(negativeBucket(h, i)));
  if (h.zeroCount !== 0) parts.push(bucketText(zeroBucket(h)));
  for (let i = 0; i < h.positive.idx.length; i++) if (h.positive.counts[i] !== 0) parts.push(bucketText(positiveBucket(h, i)));
  return `${parts.join(", ")}}`;
}

/**
 * How many samples a stored histogram counts as against sample limits and in stats: Prometheus weighs a
 * histogram point by its in-memory size, (Size() + 8) / 16 (promql/value.go HPoint.size), so a histogram
 * of a few buckets costs as much as a dozen floats.
 */
export function histogramSampleWeight(h: NativeHistogram): number {
  const size = 168 + 8 * (h.positiveSpans.length + h.negativeSpans.length + h.positiveBuckets.length + h.negativeBuckets.length + h.customValues.length);
  return Math.floor((size + 8) / 16);
}

/** Samples a loaded series counts as: one per float (stale markers included), the weight of each histogram. */
export function seriesSampleWeight(ts: number[], hs: (NativeHistogram | undefined)[] | undefined): number {
  if (!hs) return ts.length;
  let n = ts.length;
  for (const h of hs) if (h) n += histogramSampleWeight(h) - 1;
  return n;
}

/** Index list → spans (gaps become offsets, runs become lengths), the wire's and storage's form. */
function toSpans(b: Buckets): { offset: number; length: number }[] {
  const spans: { offset: number; length: number }[] = [];
  let end = 0;
  for (let i = 0; i < b.idx.length; i++) {
    const idx = b.idx[i]!;
    const last = spans[spans.length - 1];
    if (last && idx === end) last.length++;
    else spans.push({ offset: spans.length === 0 ? idx : idx - end, length: 1 });
    end = idx + 1;
  }
  return spans;
}

/** The engine's histogram as a stored sample (a float histogram). */
export function toNative(h: FloatHistogram): NativeHistogram {
  return {
    float: true,
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: h.zeroCount,
    count: h.count,
    sum: h.sum,
    positiveSpans: toSpans(h.positive),
    positiveBuckets: h.positive.counts.slice(),
    negativeSpans: toSpans(h.negative),
    negativeBuckets: h.negative.counts.slice(),
    resetHint: h.hint,
    customValues: h.customValues,
  };
}
