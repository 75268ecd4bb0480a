import type { InstantSample, RangeSeries } from "./values.js";
import type { SeriesData } from "./engine.js";
import { type FloatHistogram, fromNative } from "./histogram/float.js";

/**
 * A selector's loaded series, read step by step as Prometheus does: each series keeps cursors into its
 * sorted arrays that move forward as the evaluation time grows, so a range query costs one pass over the
 * samples instead of two binary searches per series and step. Time going backwards (subqueries, `@`)
 * falls back to a binary search. A window is handed out as a slice of the loaded arrays (a native copy)
 * unless it holds a stale marker or a native histogram, where samples are copied one by one (stale markers
 * skipped, histograms put apart from the floats).
 */
export class SeriesWindows {
  /** Per series: index of the first sample after the window's start, and of the last one at or before its end. */
  private readonly lo: Int32Array;
  private readonly hi: Int32Array;
  /** Per series with stale markers: how many of them lie before each index. */
  private readonly staleBefore: (Int32Array | undefined)[];
  /** Per series with native histograms: the engine's form of each (converted once per load). */
  private readonly histograms: ((FloatHistogram | undefined)[] | undefined)[];
  private lastStart = -Infinity;
  private lastEnd = -Infinity;

  constructor(readonly data: SeriesData[]) {
    this.lo = new Int32Array(data.length);
    this.hi = new Int32Array(data.length).fill(-1);
    this.staleBefore = data.map((s) => (s.stale.size === 0 ? undefined : staleCounts(s)));
    this.histograms = data.map((s) => (s.hs?.some((h) => h !== undefined) ? s.hs.map((h) => (h ? fromNative(h) : undefined)) : undefined));
  }

  /** Series k's window after `seek`: indices [lo, hi] (empty when hi < lo). */
  bounds(k: number): [number, number] {
    return [this.lo[k]!, this.hi[k]!];
  }

  /** Moves every series' cursors to the window (start, end]. */
  seek(start: number, end: number): void {
    const forward = start >= this.lastStart && end >= this.lastEnd;
    for (let k = 0; k < this.data.length; k++) {
      const ts = this.data[k]!.ts;
      if (forward) {
        let lo = this.lo[k]!;
        while (lo < ts.length && ts[lo]! <= start) lo++;
        let hi = this.hi[k]!;
        while (hi + 1 < ts.length && ts[hi + 1]! <= end) hi++;
        this.lo[k] = lo;
        this.hi[k] = hi;
      } else {
        this.lo[k] = lastAtOrBefore(ts, start) + 1;
        this.hi[k] = lastAtOrBefore(ts, end);
      }
    }
    this.lastStart = start;
    this.lastEnd = end;
  }

  /** Samples in (start, end], stale markers left out; series without any are omitted. */
  range(start: number, end: number): RangeSeries[] {
    this.seek(start, end);
    const out: RangeSeries[] = [];
    for (let k = 0; k < this.data.length; k++) {
      const lo = this.lo[k]!;
      const hi = this.hi[k]!;
      if (hi < lo) continue;
      const s = this.data[k]!;
      const hist = this.histograms[k];
      if (hist) {
        const r = splitRange(s, hist, lo, hi);
        if (r) out.push(r);
        continue;
      }
      const stale = this.staleBefore[k];
      if (!stale || stale[hi + 1]! - stale[lo]! === 0) {
        out.push({ labels: s.labels, ts: s.ts.slice(lo, hi + 1), vs: s.vs.slice(lo, hi + 1) });
        continue;
      }
      const ts: number[] = [];
      const vs: number[] = [];
      for (let i = lo; i <= hi; i++) {
        if (s.stale.has(i)) continue;
        ts.push(s.ts[i]!);
        vs.push(s.vs[i]!);
      }
      if (ts.length > 0) out.push({ labels: s.labels, ts, vs });
    }
    return out;
  }

  /** The latest sample in (ref − lookback, ref] of each series, unless it is a stale marker. */
  instant(ref: number, lookbackMs: number): InstantSample[] {
    this.seek(ref - lookbackMs, ref);
    const out: InstantSample[] = [];
    for (let k = 0; k < this.data.length; k++) {
      const i = this.hi[k]!;
      if (i < this.lo[k]!) continue;
      const s = this.data[k]!;
      if (s.stale.has(i)) continue;
      const h = this.histograms[k]?.[i];
      if (h) out.push({ labels: s.labels, value: Number.NaN, t: s.ts[i]!, h });
      else out.push({ labels: s.labels, value: s.vs[i]!, t: s.ts[i]! });
    }
    return out;
  }
}

/** Samples lo…hi of a series holding histograms: floats and histograms apart, stale markers left out. */
function splitRange(s: SeriesData, hist: (FloatHistogram | undefined)[], lo: number, hi: number): RangeSeries | undefined {
  const r: RangeSeries = { labels: s.labels, ts: [], vs: [] };
  for (let i = lo; i <= hi; i++) {
    if (s.stale.has(i)) continue;
    const h = hist[i];
    if (!h) {
      r.ts.push(s.ts[i]!);
      r.vs.push(s.vs[i]!);
      continue;
    }
    (r.hts ??= []).push(s.ts[i]!);
    (r.hs ??= []).push(h);
  }
  return r.ts.length > 0 || r.hts ? r : undefined;
}

function staleCounts(s: SeriesData): Int32Array {
  const before = new Int32Array(s.ts.length + 1);
  for (let i = 0; i < s.ts.length; i++) before[i + 1] = before[i]! + (s.stale.has(i) ? 1 : 0);
  return before;
}

/** Last index with ts[i] <= t, or -1. */
export function lastAtOrBefore(ts: number[], t: number): number {
  let lo = 0;
  let hi = ts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid]! <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
