import { ResetHint } from "../../../model/histogram.js";
import type { Annotations } from "../annotations.js";
import { search } from "../extended-range.js";
import { add, sub } from "./arith.js";
import { compact, copy, div, type FloatHistogram, mul, usesCustomBuckets } from "./float.js";
import { histogramNotes as notes } from "./notes.js";
import { detectReset } from "./reset.js";

/**
 * The native histogram half of Prometheus 3.16's anchored and smoothed selectors (promql/functions.go:
 * extendedHistogramRate, interpolateHistograms, correctForCounterResetsHistogram; engine.go: smoothSeries),
 * the float half being ../extended-range.ts.
 */

interface Context {
  name: string;
  annotations: Annotations | undefined;
  pos: number | undefined;
}

/** a + b or a − b, reporting reconciled custom bounds; undefined (with Prometheus' warning) when the schemas clash. */
function combine(op: "addition" | "subtraction", a: FloatHistogram, b: FloatHistogram, c: Context): FloatHistogram | undefined {
  const r = op === "addition" ? add(a, b) : sub(a, b);
  if (!r) {
    notes.mixedExponentialCustom(c.annotations, c.name, c.pos);
    return undefined;
  }
  if (r.reconciled) notes.mismatchedCustomBuckets(c.annotations, op, c.pos);
  return r.h;
}

/**
 * The histogram at t between h1 (at t1) and h2 (at t2): h1 + (h2 − h1)·fraction; for a counter that was
 * reset in between, h2·fraction (it started again from zero).
 */
export function interpolateHistograms(h1: FloatHistogram, t1: number, h2: FloatHistogram, t2: number, t: number, isCounter: boolean, c: Context): FloatHistogram | undefined {
  if (t === t1) return copy(h1);
  if (t === t2) return copy(h2);
  const fraction = (t - t1) / (t2 - t1);
  if (isCounter && detectReset(h2, h1)) return mul(h2, fraction);
  const diff = combine("subtraction", h2, h1, c);
  return diff && combine("addition", mul(diff, fraction), h1, c);
}

/**
 * rate / increase / delta of an anchored or smoothed range of histograms: the histogram at the range's end
 * minus the one at its start (each picked or interpolated as for floats), for counters plus each histogram
 * before a reset; rate per second. A gauge histogram, or undefined (with Prometheus' annotations).
 */
export function extendedHistogramRate(
  hts: number[],
  hs: FloatHistogram[],
  start: number,
  end: number,
  smoothed: boolean,
  isCounter: boolean,
  isRate: boolean,
  c: Context,
): FloatHistogram | undefined {
  let last = hs.length - 1;
  const first = Math.max(0, search(last, (i) => hts[i]! > start) - 1);
  if (smoothed) last = search(last, (i) => hts[i]! >= end);
  if (hts[last]! <= start) return undefined;
  if (smoothed && hts[first]! > end) return undefined;
  const custom = usesCustomBuckets(hs[first]!);
  for (let i = first; i <= last; i++) {
    if (usesCustomBuckets(hs[i]!) !== custom) {
      notes.mixedExponentialCustom(c.annotations, c.name, c.pos);
      return undefined;
    }
    if (isCounter && hs[i]!.hint === ResetHint.Gauge) notes.notCounter(c.annotations, c.name, c.pos);
  }
  const left = smoothed && hts[first]! < start ? interpolateHistograms(hs[first]!, hts[first]!, hs[first + 1]!, hts[first + 1]!, start, isCounter, c) : copy(hs[first]!);
  if (!left) return undefined;
  const right = smoothed && last > 0 && hts[last]! > end ? interpolateHistograms(hs[last - 1]!, hts[last - 1]!, hs[last]!, hts[last]!, end, isCounter, c) : copy(hs[last]!);
  if (!right) return undefined;
  if (!isCounter && (left.hint !== ResetHint.Gauge || right.hint !== ResetHint.Gauge)) notes.notGauge(c.annotations, c.name, c.pos);
  let result = combine("subtraction", right, left, c);
  if (!result) return undefined;
  if (isCounter) {
    const correction = resetCorrection(hts, hs, first, last, left, right, start, smoothed, c);
    if (correction === false) return undefined;
    if (correction) {
      result = combine("addition", result, correction, c);
      if (!result) return undefined;
    }
  }
  if (isRate) result = div(result, (end - start) / 1000);
  return compact({ ...result, hint: ResetHint.Gauge });
}

/**
 * What resets inside the range took away: the histogram before each reset between the bounds (the bounds
 * account for resets next to them). Undefined when there is none, false when combining failed.
 */
function resetCorrection(
  hts: number[],
  hs: FloatHistogram[],
  firstIndex: number,
  lastIndex: number,
  left: FloatHistogram,
  right: FloatHistogram,
  start: number,
  smoothed: boolean,
  c: Context,
): FloatHistogram | undefined | false {
  let first = firstIndex + 1;
  let prev = left;
  // A smoothed start interpolated across a reset has counted it already.
  if (smoothed && hts[firstIndex]! < start && detectReset(hs[firstIndex + 1]!, hs[firstIndex]!)) {
    prev = hs[firstIndex + 1]!;
    first++;
  }
  // The last sample is `right` itself (or what it was interpolated towards): compared at the end.
  const last = lastIndex - 1;
  if (first > last + 1) return undefined;
  let correction: FloatHistogram | undefined;
  const addCorrection = (h: FloatHistogram): boolean => {
    if (!correction) {
      correction = copy(h);
      return true;
    }
    const sum = combine("addition", correction, h, c);
    if (!sum) return false;
    correction = sum;
    return true;
  };
  for (let i = first; i <= last; i++) {
    if (detectReset(hs[i]!, prev) && !addCorrection(prev)) return false;
    prev = hs[i]!;
  }
  if (detectReset(right, prev) && !addCorrection(prev)) return false;
  return correction;
}

/**
 * A smoothed instant selector over histograms at `ref`: the histogram at `ref`, else the interpolation
 * between those around it (a counter unless both are gauges), else the last one before it (its reset hint
 * cleared). Undefined when none lies at or before `ref`, or (with a warning) when the two mix bucket kinds.
 */
export function smoothedHistogramAt(hts: number[], hs: FloatHistogram[], ref: number, c: Context): FloatHistogram | undefined {
  const i = search(hts.length, (k) => hts[k]! >= ref);
  if (i < hts.length && hts[i] === ref) return copy(hs[i]!);
  if (i === 0) return undefined;
  if (i < hts.length) {
    const [prev, next] = [hs[i - 1]!, hs[i]!];
    if (usesCustomBuckets(prev) !== usesCustomBuckets(next)) {
      notes.mixedExponentialCustom(c.annotations, c.name, c.pos);
      return undefined;
    }
    const isCounter = prev.hint !== ResetHint.Gauge || next.hint !== ResetHint.Gauge;
    return interpolateHistograms(prev, hts[i - 1]!, next, hts[i]!, ref, isCounter, c);
  }
  return { ...copy(hs[i - 1]!), hint: ResetHint.Unknown };
}
