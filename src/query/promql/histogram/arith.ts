import { ResetHint } from "../../../model/histogram.js";
import { exponentialBound, targetIndex } from "./bounds.js";
import { type Buckets, CUSTOM, customBoundsMatch, type FloatHistogram, negativeBuckets, positiveBuckets } from "./float.js";

/**
 * Addition and subtraction of histograms as Prometheus' FloatHistogram.Add / Sub / KahanAdd do them: the
 * higher schema is reduced to the lower one, zero buckets are widened to the larger threshold (moving the
 * buckets they then cover into it), custom-bucket histograms with different bounds meet on the bounds both
 * have, and the counter reset hints are reconciled. Floating-point operations happen in the same order as
 * there (including Kahan-Neumaier compensation where Prometheus uses it), so sums agree to the last bit.
 */

/** Prometheus' kahansum.Inc: one compensated addition, the new sum and compensation. */
export function kahanInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) return [t, 0];
  if (Math.abs(sum) >= Math.abs(inc)) return [t, c + (sum - t + inc)];
  return [t, c + (inc - t + sum)];
}

/** Result of combining two histograms; undefined when one uses custom buckets and the other does not. */
export interface Combined {
  h: FloatHistogram;
  /** One histogram said counter reset, the other said none. */
  collision: boolean;
  /** Custom bucket bounds differed and were intersected. */
  reconciled: boolean;
}

/** Prometheus' adjustCounterReset: the hint of a sum or difference, and whether the two collided. */
function combinedHint(a: ResetHint, b: ResetHint): [ResetHint, boolean] {
  if (a === b) return [a, false];
  if (a === ResetHint.Gauge || b === ResetHint.Gauge) return [ResetHint.Gauge, false];
  if (a === ResetHint.Unknown || b === ResetHint.Unknown) return [ResetHint.Unknown, false];
  return [ResetHint.Unknown, true];
}

/** Buckets plus, for Kahan summation, their compensation terms (same length). */
interface Side {
  idx: number[];
  counts: number[];
  comp: number[] | undefined;
}

const side = (b: Buckets, comp?: Buckets): Side => ({ idx: b.idx.slice(), counts: b.counts.slice(), comp: comp ? comp.counts.slice() : undefined });

/** Buckets of schema `origin` merged into schema `target` (< origin); compensations merge with Kahan. */
function reduceResolution(s: Side, origin: number, target: number, kahan: boolean): Side {
  const idx: number[] = [];
  const counts: number[] = [];
  const comp: number[] | undefined = kahan ? [] : undefined;
  for (let i = 0; i < s.idx.length; i++) {
    const t = targetIndex(s.idx[i]!, origin, target);
    const last = idx.length - 1;
    if (last >= 0 && idx[last] === t) {
      if (comp) {
        [counts[last], comp[last]] = kahanInc(s.counts[i]!, counts[last]!, comp[last]!);
        [counts[last], comp[last]] = kahanInc(s.comp?.[i] ?? 0, counts[last]!, comp[last]!);
      } else counts[last]! += s.counts[i]!;
      continue;
    }
    idx.push(t);
    counts.push(s.counts[i]!);
    comp?.push(s.comp?.[i] ?? 0);
  }
  return { idx, counts, comp };
}

/**
 * Prometheus' addBuckets / kahanAddBuckets: b's buckets added into a's (negated for subtraction), buckets
 * missing in a inserted. b's leading buckets whose upper bound lies within the zero bucket are skipped:
 * their counts are in the zero count already.
 */
function addBuckets(schema: number, threshold: number, negate: boolean, a: Side, b: Side): Side {
  const idx: number[] = [];
  const counts: number[] = [];
  const comp: number[] | undefined = a.comp ? [] : undefined;
  let i = 0;
  let j = 0;
  const exponential = schema !== CUSTOM;
  while (j < b.idx.length && exponential && exponentialBound(b.idx[j]!, schema) <= threshold) j++;
  while (i < a.idx.length || j < b.idx.length) {
    const ai = i < a.idx.length ? a.idx[i]! : Infinity;
    const bj = j < b.idx.length ? b.idx[j]! : Infinity;
    if (ai < bj) {
      idx.push(ai);
      counts.push(a.counts[i]!);
      comp?.push(a.comp![i]!);
      i++;
      continue;
    }
    const bv = negate ? -b.counts[j]! : b.counts[j]!;
    const bc = b.comp?.[j] ?? 0;
    if (bj < ai) {
      idx.push(bj);
      counts.push(bv);
      comp?.push(bc);
    } else if (comp) {
      let [v, c] = kahanInc(bv, a.counts[i]!, a.comp![i]!);
      if (bc !== 0) [v, c] = kahanInc(bc, v, c);
      idx.push(ai);
      counts.push(v);
      comp.push(c);
      i++;
    } else {
      idx.push(ai);
      counts.push(a.counts[i]! + bv);
      i++;
    }
    j++;
  }
  return { idx, counts, comp };
}

/** The custom bounds two histograms share. */
function intersectBounds(a: number[], b: number[]): number[] {
  const out: number[] = [];
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (a[i] === b[j]) {
      out.push(a[i]!);
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  return out;
}

/**
 * Prometheus' addCustomBucketsWithMismatches: both sides' buckets folded onto the intersected bounds (each
 * bucket into the first shared bound at or above its own upper bound, +Inf otherwise), with compensated
 * sums, then the empty buckets left out.
 */
function addMismatchedCustom(negate: boolean, a: Side, aBounds: number[], b: Side, bBounds: number[], bounds: number[]): Side {
  const target = new Array<number>(bounds.length + 1).fill(0);
  const targetC = new Array<number>(bounds.length + 1).fill(0);
  const fold = (s: Side, own: number[], neg: boolean, withComp: boolean) => {
    let k = 0;
    for (let i = 0; i < s.idx.length; i++) {
      const src = s.idx[i]!;
      let t = target.length - 1;
      if (src < own.length) {
        for (; k < bounds.length; k++) {
          if (bounds[k]! >= own[src]!) {
            t = k;
            break;
          }
        }
      }
      [target[t], targetC[t]] = kahanInc(neg ? -s.counts[i]! : s.counts[i]!, target[t]!, targetC[t]!);
      if (!neg && withComp && s.comp) [target[t], targetC[t]] = kahanInc(s.comp[i]!, target[t]!, targetC[t]!);
    }
  };
  fold(a, aBounds, false, true);
  fold(b, bBounds, negate, false);
  const out: Side = { idx: [], counts: [], comp: a.comp ? [] : undefined };
  for (let t = 0; t < target.length; t++) {
    if (target[t] === 0 && targetC[t] === 0) continue;
    out.idx.push(t);
    out.counts.push(target[t]!);
    out.comp?.push(targetC[t]!);
  }
  return out;
}

/**
 * Prometheus' zeroCountForLargerThreshold: the zero count `h` would have with a zero bucket of (at least)
 * `larger`, and the threshold it ends up with (raised to a bucket boundary when it cut a populated bucket).
 */
export function zeroCountForLargerThreshold(h: FloatHistogram, larger: number, c?: FloatHistogram): [number, number, number] {
  let cZero = c ? c.zeroCount : 0;
  if (larger === h.zeroThreshold) return [h.zeroCount, larger, cZero];
  for (;;) {
    let zero = h.zeroCount;
    let k = 0;
    for (const b of positiveBuckets(h)) {
      if (b.lower >= larger) break;
      [zero, cZero] = kahanInc(b.count, zero, cZero);
      if (c) [zero, cZero] = kahanInc(c.positive.counts[k]!, zero, cZero);
      if (b.upper > larger) {
        if (b.count !== 0) larger = b.upper;
        break;
      }
      k++;
    }
    let again = false;
    k = 0;
    for (const b of negativeBuckets(h)) {
      if (b.upper <= -larger) break;
      [zero, cZero] = kahanInc(b.count, zero, cZero);
      if (c) [zero, cZero] = kahanInc(c.negative.counts[k]!, zero, cZero);
      if (b.lower < -larger) {
        if (b.count !== 0) {
          larger = -b.lower;
          again = true;
        }
        break;
      }
      k++;
    }
    if (!again) return [zero, larger, cZero];
  }
}

/** Buckets now inside the zero bucket emptied, then every empty bucket dropped (Prometheus' trimBucketsInZeroBucket). */
function trimIntoZeroBucket(h: FloatHistogram, pos: Side, neg: Side): [Side, Side] {
  let k = 0;
  for (const b of positiveBuckets(h)) {
    if (b.lower >= h.zeroThreshold) break;
    pos.counts[k] = 0;
    if (pos.comp) pos.comp[k] = 0;
    k++;
  }
  k = 0;
  for (const b of negativeBuckets(h)) {
    if (b.upper <= -h.zeroThreshold) break;
    neg.counts[k] = 0;
    if (neg.comp) neg.comp[k] = 0;
    k++;
  }
  return [dropEmpty(pos), dropEmpty(neg)];
}

function dropEmpty(s: Side): Side {
  const out: Side = { idx: [], counts: [], comp: s.comp ? [] : undefined };
  for (let i = 0; i < s.idx.length; i++) {
    if (s.counts[i] === 0 && (s.comp?.[i] ?? 0) === 0) continue;
    out.idx.push(s.idx[i]!);
    out.counts.push(s.counts[i]!);
    out.comp?.push(s.comp![i]!);
  }
  return out;
}

const toBuckets = (s: Side): Buckets => ({ idx: s.idx, counts: s.counts });
const compBuckets = (s: Side): Buckets => ({ idx: s.idx, counts: s.comp! });

/** The compensation histogram Prometheus starts Kahan summation with: h's layout, all zeros. */
function zeroCompensation(h: FloatHistogram): FloatHistogram {
  const zeros = (b: Buckets): Buckets => ({ idx: b.idx, counts: new Array<number>(b.idx.length).fill(0) });
  return { ...h, zeroCount: 0, count: 0, sum: 0, positive: zeros(h.positive), negative: zeros(h.negative) };
}

interface Operands {
  a: FloatHistogram;
  b: FloatHistogram;
  negate: boolean;
  /** Kahan summation: a's compensation (undefined for plain Add / Sub). */
  comp: FloatHistogram | undefined;
}

/** The core of Add, Sub and KahanAdd; undefined when exponential and custom buckets meet. */
function combine({ a, b, negate, comp }: Operands): (Combined & { comp: FloatHistogram | undefined }) | undefined {
  if ((a.schema === CUSTOM) !== (b.schema === CUSTOM)) return undefined;
  const kahan = comp !== undefined;
  const [hint, collision] = combinedHint(a.hint, b.hint);
  let h: FloatHistogram = { ...a, hint };
  let c = comp;
  let pos = side(a.positive, c?.positive);
  let neg = side(a.negative, c?.negative);
  let otherZero = 0;
  let otherZeroC = 0;
  if (h.schema !== CUSTOM) {
    // reconcileZeroBuckets: widen whichever zero bucket is narrower until both agree.
    otherZero = b.zeroCount;
    let otherThreshold = b.zeroThreshold;
    while (otherThreshold !== h.zeroThreshold) {
      if (h.zeroThreshold > otherThreshold) [otherZero, otherThreshold, otherZeroC] = zeroCountForLargerThreshold(b, h.zeroThreshold);
      if (otherThreshold > h.zeroThreshold) {
        const [zero, threshold, cZero] = zeroCountForLargerThreshold(h, otherThreshold, c);
        h = { ...h, zeroCount: zero, zeroThreshold: threshold };
        [pos, neg] = trimIntoZeroBucket(h, pos, neg);
        h = { ...h, positive: toBuckets(pos), negative: toBuckets(neg) };
        if (c) c = { ...c, zeroCount: cZero, zeroThreshold: threshold, positive: compBuckets(pos), negative: compBuckets(neg) };
      }
    }
  }
  let zeroC = c?.zeroCount ?? 0;
  let countC = c?.count ?? 0;
  let sumC = c?.sum ?? 0;
  let zeroCount = h.zeroCount;
  let count = h.count;
  let sum = h.sum;
  if (h.schema !== CUSTOM) {
    if (kahan) {
      [zeroCount, zeroC] = kahanInc(otherZero, zeroCount, zeroC);
      [zeroCount, zeroC] = kahanInc(otherZeroC, zeroCount, zeroC);
    } else zeroCount = negate ? zeroCount - otherZero : zeroCount + otherZero;
  }
  if (kahan) {
    [count, countC] = kahanInc(b.count, count, countC);
    [sum, sumC] = kahanInc(b.sum, sum, sumC);
  } else {
    count = negate ? count - b.count : count + b.count;
    sum = negate ? sum - b.sum : sum + b.sum;
  }
  let schema = h.schema;
  let customValues = h.customValues;
  let reconciled = false;
  let bPos = side(b.positive);
  let bNeg = side(b.negative);
  if (schema === CUSTOM) {
    if (customBoundsMatch(h.customValues, b.customValues)) pos = addBuckets(schema, h.zeroThreshold, negate, pos, bPos);
    else {
      reconciled = true;
      customValues = intersectBounds(h.customValues, b.customValues);
      pos = addMismatchedCustom(negate, pos, h.customValues, bPos, b.customValues, customValues);
    }
  } else {
    if (b.schema < schema) {
      pos = reduceResolution(pos, schema, b.schema, kahan);
      neg = reduceResolution(neg, schema, b.schema, kahan);
      schema = b.schema;
    } else if (b.schema > schema) {
      bPos = reduceResolution(bPos, b.schema, schema, kahan);
      bNeg = reduceResolution(bNeg, b.schema, schema, kahan);
    }
    pos = addBuckets(schema, h.zeroThreshold, negate, pos, bPos);
    neg = addBuckets(schema, h.zeroThreshold, negate, neg, bNeg);
  }
  const out: FloatHistogram = { ...h, schema, customValues, zeroCount, count, sum, positive: toBuckets(pos), negative: toBuckets(neg) };
  const outComp: FloatHistogram | undefined = kahan
    ? { ...c!, schema, customValues, zeroThreshold: h.zeroThreshold, zeroCount: zeroC, count: countC, sum: sumC, positive: compBuckets(pos), negative: compBuckets(neg) }
    : undefined;
  return { h: out, comp: outComp, collision, reconciled };
}

/** Prometheus' FloatHistogram.Add (the result is not compacted). */
export function add(a: FloatHistogram, b: FloatHistogram): Combined | undefined {
  return combine({ a, b, negate: false, comp: undefined });
}

/** Prometheus' FloatHistogram.Sub: the hint follows Add's rule (the `-` operator then marks it a gauge). */
export function sub(a: FloatHistogram, b: FloatHistogram): Combined | undefined {
  return combine({ a, b, negate: true, comp: undefined });
}

/** A compensated sum in progress: the running sum and its compensation histogram. */
export interface KahanState {
  sum: FloatHistogram;
  comp: FloatHistogram | undefined;
}

/** Prometheus' KahanAdd: `other` added to the running sum with per-bucket compensation. */
export function kahanAdd(state: KahanState, other: FloatHistogram): (KahanState & { collision: boolean; reconciled: boolean }) | undefined {
  const r = combine({ a: state.sum, b: other, negate: false, comp: state.comp ?? zeroCompensation(state.sum) });
  if (!r) return undefined;
  return { sum: r.h, comp: r.comp, collision: r.collision, reconciled: r.reconciled };
}

/** The compensated sum's value (Prometheus adds the compensation histogram at the end). */
export function kahanResult(state: KahanState): FloatHistogram {
  if (!state.comp) return state.sum;
  return add(state.sum, state.comp)?.h ?? state.sum;
}
