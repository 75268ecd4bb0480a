import { PromgateError } from "../../errors.js";
import type { VectorSelector } from "./ast.js";
import type { RangeSeries } from "./values.js";

/**
 * Prometheus 3.16's extended range selectors (promql/functions.go: extendedRate, extendFloats,
 * pickFirstSampleIndices; engine.go: smoothSeries), for float samples. Start timestamps play no part (their
 * use in PromQL is a separate Prometheus feature, off by default), so a reset is a drop in value. Native
 * histograms: histogram/extended.ts.
 *
 * `anchored` reads, besides the range (start, end], the lookback before it: the range starts at the last
 * sample at or before its start (else its first sample) and ends at its last sample, without extrapolation.
 * `smoothed` also reads the lookback after the range and interpolates linearly at both bounds; on an instant
 * selector it interpolates at the evaluation time between the samples around it.
 */

/** Functions an anchored or smoothed range may be given to (Prometheus' AnchoredSafeFunctions, SmoothedSafeFunctions). */
const SAFE: Record<"anchored" | "smoothed", readonly string[]> = {
  anchored: ["changes", "delta", "increase", "rate", "resets"],
  smoothed: ["delta", "increase", "rate"],
};

/** Prometheus' evaluation error for a function that cannot take an anchored or smoothed range. */
export function checkExtendedFunction(modifier: "anchored" | "smoothed", func: string): void {
  if (!SAFE[modifier].includes(func)) throw new PromgateError("unprocessable", `${modifier} modifier can only be used with: ${SAFE[modifier].join(", ")} - not with ${func}`);
}

/** How far before a range's start and after its end a selector reads (ms). */
export function extendedReach(sel: VectorSelector, lookbackMs: number): { before: number; after: number } {
  if (sel.modifier === "anchored") return { before: lookbackMs, after: 0 };
  if (sel.modifier === "smoothed") return { before: lookbackMs, after: lookbackMs };
  return { before: 0, after: 0 };
}

/** A range selector's own value holds floats only: Prometheus' error for one with histograms. */
export function refuseHistograms(modifier: "anchored" | "smoothed"): never {
  throw new PromgateError("unprocessable", `${modifier} modifier is not supported with histograms`);
}

/** Go's sort.Search: the smallest i in [0, n) with f(i), else n. */
export function search(n: number, f: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (f(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Linear interpolation at t; for a counter that dropped in between, from zero (it was reset). */
function interpolate(t1: number, y1: number, t2: number, y2: number, t: number, isCounter: boolean): number {
  const from = isCounter && y2 < y1 ? 0 : y1;
  return from + ((y2 - from) * (t - t1)) / (t2 - t1);
}

interface Bounds {
  /** First and last index of the samples the range is measured on, and its values at its two bounds. */
  first: number;
  last: number;
  left: number;
  right: number;
}

/**
 * The value at each bound of (start, end]: at the start the sample at or before it (interpolated with the
 * next one when smoothed) or else the first sample; at the end the last sample at or before it (smoothed:
 * interpolated with the one after it). Undefined when no sample lies after the start, or (smoothed) none
 * at or before the end.
 */
function bounds(ts: number[], vs: number[], start: number, end: number, smoothed: boolean, isCounter: boolean): Bounds | undefined {
  let last = ts.length - 1;
  if (last < 0) return undefined;
  const first = Math.max(0, search(last, (i) => ts[i]! > start) - 1);
  if (smoothed) last = search(last, (i) => ts[i]! >= end);
  if (ts[last]! <= start) return undefined;
  if (smoothed && ts[first]! > end) return undefined;
  let left = vs[first]!;
  if (ts[first]! < start && smoothed) left = interpolate(ts[first]!, vs[first]!, ts[first + 1]!, vs[first + 1]!, start, isCounter);
  let right = vs[last]!;
  if (ts[last]! > end && last > 0) right = smoothed ? interpolate(ts[last - 1]!, vs[last - 1]!, ts[last]!, vs[last]!, end, isCounter) : vs[last - 1]!;
  return { first, last, left, right };
}

/**
 * rate / increase / delta of an anchored or smoothed range: the difference between the values at its
 * bounds, for counters plus what resets took away (each drop adds the value before it); rate per second of
 * the range. Undefined when the range gives no value.
 */
export function extendedRate(ts: number[], vs: number[], start: number, end: number, smoothed: boolean, isCounter: boolean, isRate: boolean): number | undefined {
  const b = bounds(ts, vs, start, end, smoothed, isCounter);
  if (!b) return undefined;
  let result = b.right - b.left;
  if (isCounter) {
    // Samples strictly inside the range; the bounds already account for resets next to them.
    const from = ts[b.first]! <= start ? b.first + 1 : b.first;
    const to = ts[b.last]! >= end ? b.last - 1 : b.last;
    let prev = b.left;
    for (let i = from; i <= to; i++) {
      if (vs[i]! < prev) result += prev;
      prev = vs[i]!;
    }
    if (b.right < prev) result += prev;
  }
  return isRate ? result / ((end - start) / 1000) : result;
}

/**
 * An anchored or smoothed range selector's own value (a range query's matrix, or an instant query of one):
 * the samples inside (start, end), with the values at both bounds added at the bounds' times.
 */
export function extendFloats(s: RangeSeries, start: number, end: number, smoothed: boolean): RangeSeries | undefined {
  const b = bounds(s.ts, s.vs, start, end, smoothed, false);
  if (!b) return undefined;
  const from = s.ts[b.first]! <= start ? b.first + 1 : b.first;
  const to = s.ts[b.last]! >= end ? b.last - 1 : b.last;
  return { labels: s.labels, ts: [start, ...s.ts.slice(from, to + 1), end], vs: [b.left, ...s.vs.slice(from, to + 1), b.right] };
}

/**
 * The samples resets() and changes() count over an anchored range: from the last sample (float or
 * histogram) at or before the range's start on. Undefined when no sample lies after the start.
 */
export function anchoredSamples(s: RangeSeries, start: number): RangeSeries | undefined {
  const hts = s.hts ?? [];
  const lastFloat = search(s.ts.length, (i) => s.ts[i]! > start) - 1;
  const lastHist = search(hts.length, (i) => hts[i]! > start) - 1;
  if (lastFloat + 1 >= s.ts.length && lastHist + 1 >= hts.length) return undefined;
  let [f, h] = [0, 0];
  if (lastFloat >= 0 || lastHist >= 0) {
    // The anchor is whichever kind of sample comes last; earlier samples of the other kind are left out.
    const floatAnchor = lastHist < 0 || (lastFloat >= 0 && s.ts[lastFloat]! >= hts[lastHist]!);
    [f, h] = floatAnchor ? [lastFloat, lastHist + 1] : [lastFloat + 1, lastHist];
  }
  const out: RangeSeries = { labels: s.labels, ts: s.ts.slice(f), vs: s.vs.slice(f) };
  if (s.hts) {
    out.hts = s.hts.slice(h);
    out.hs = s.hs!.slice(h);
  }
  return out;
}

/**
 * A smoothed instant selector's value at `ref` from the samples in (ref − lookback, ref + lookback]: the
 * sample at `ref`, else the interpolation between the samples around it, else the last one before it.
 * Undefined when there is none at or before `ref`.
 */
export function smoothedAt(ts: number[], vs: number[], ref: number): number | undefined {
  const i = search(ts.length, (k) => ts[k]! >= ref);
  if (i < ts.length && ts[i] === ref) return vs[i]!;
  if (i === 0) return undefined;
  if (i < ts.length) return interpolate(ts[i - 1]!, vs[i - 1]!, ts[i]!, vs[i]!, ref, false);
  return vs[i - 1]!;
}
