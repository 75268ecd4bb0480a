import { ResetHint } from "../../../model/histogram.js";
import { bucketBound, targetIndex } from "./bounds.js";
import { type Buckets, CUSTOM, customBoundsMatch, type FloatHistogram, positiveBuckets } from "./float.js";
import { zeroCountForLargerThreshold } from "./arith.js";

/**
 * Prometheus' FloatHistogram.DetectReset: whether `cur` follows `prev` only through a counter reset. The
 * hint decides when it is CounterReset or NotCounterReset; otherwise any count that went down (total, zero
 * bucket, or any bucket, compared at the lower of the two schemas), a populated bucket that vanished, a
 * higher schema, or a narrower zero bucket is a reset.
 */
export function detectReset(cur: FloatHistogram, prev: FloatHistogram): boolean {
  if (cur.hint === ResetHint.Yes) return true;
  if (cur.hint === ResetHint.No) return false;
  if (cur.count < prev.count) return true;
  if (cur.schema === CUSTOM) {
    if (prev.schema !== CUSTOM) return true;
    if (!customBoundsMatch(cur.customValues, prev.customValues)) return mismatchedCustomReset(cur, prev);
  }
  if (cur.schema > prev.schema) return true;
  if (cur.zeroThreshold < prev.zeroThreshold) return true;
  const [prevZero, threshold] = zeroCountForLargerThreshold(prev, cur.zeroThreshold);
  if (threshold !== cur.zeroThreshold) return true;
  if (cur.zeroCount < prevZero) return true;
  if (bucketsReset(cur, prev, cur.positive, prev.positive)) return true;
  return bucketsReset(cur, prev, cur.negative, prev.negative);
}

/**
 * Buckets of one side merged to cur's schema, skipping those at or below cur's zero threshold (exponential
 * schemas), as Prometheus' floatBucketIterator with a target schema and start value.
 */
function merged(h: FloatHistogram, b: Buckets, schema: number, startAbove: number): { idx: number[]; counts: number[] } {
  const idx: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < b.idx.length; i++) {
    const t = h.schema === schema ? b.idx[i]! : targetIndex(b.idx[i]!, h.schema, schema);
    if (idx.length > 0 && idx[idx.length - 1] === t) counts[counts.length - 1]! += b.counts[i]!;
    else {
      idx.push(t);
      counts.push(b.counts[i]!);
    }
  }
  if (schema === CUSTOM || startAbove === 0) return { idx, counts };
  let k = 0;
  while (k < idx.length && bucketBound(idx[k]!, schema, []) <= startAbove) k++;
  return { idx: idx.slice(k), counts: counts.slice(k) };
}

/** Prometheus' detectReset over two bucket iterators: a populated bucket gone or a count gone down. */
function bucketsReset(cur: FloatHistogram, prev: FloatHistogram, curB: Buckets, prevB: Buckets): boolean {
  const c = merged(cur, curB, cur.schema, cur.zeroThreshold);
  const p = merged(prev, prevB, cur.schema, cur.zeroThreshold);
  let i = 0;
  for (let j = 0; j < p.idx.length; j++) {
    while (i < c.idx.length && c.idx[i]! < p.idx[j]!) i++;
    if (i >= c.idx.length || c.idx[i]! > p.idx[j]!) {
      if (p.counts[j] !== 0) return true;
    } else if (c.counts[i]! < p.counts[j]!) return true;
  }
  return false;
}

/**
 * Custom buckets with different bounds: at every bound both share, the counts up to it (summed over the
 * buckets each side has below it) must not have gone down.
 */
function mismatchedCustomReset(cur: FloatHistogram, prev: FloatHistogram): boolean {
  const cumulative = (h: FloatHistogram, bound: number): number => {
    let sum = 0;
    for (const b of positiveBuckets(h)) if (b.upper <= bound) sum += b.count;
    return sum;
  };
  const shared = new Set(prev.customValues);
  const bounds = [...cur.customValues.filter((v) => shared.has(v)), Infinity];
  let curDone = 0;
  let prevDone = 0;
  for (const bound of bounds) {
    const c = cumulative(cur, bound);
    const p = cumulative(prev, bound);
    if (c - curDone < p - prevDone) return true;
    curDone = c;
    prevDone = p;
  }
  return false;
}
