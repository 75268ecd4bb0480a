import type { CompiledMatcher, Labels } from "../matchers.js";
import type { Expr, VectorSelector } from "./ast.js";
import { checkUniqueLabelsets } from "./functions.js";
import { dropName, type InstantSample, nameKey } from "./values.js";
import type { Annotations } from "./annotations.js";
import { histogramNotes } from "./histogram/notes.js";
import { SeriesWindows } from "./window.js";

/**
 * Exact pushdown of range functions into Elasticsearch aggregations.
 *
 * Every window a query evaluates, (e − r, e] for the window ends e = t − offset of its steps, is a union of
 * whole buckets of width g = gcd(step, r) whose ends lie on the same grid. So a function whose value over a
 * window follows exactly from per-bucket statistics of core aggregations can be computed from buckets
 * (`date_histogram` in a composite, one bucket per series and g) instead of raw samples:
 * - count_over_time: Σ counts (samples minus stale markers); present_over_time: 1 when that is > 0;
 * - min_over_time / max_over_time: min / max over the buckets' min / max of non-NaN values, NaN when the
 *   window holds only NaN — Prometheus' rule (a NaN is replaced by any later value, never replaces one).
 *   min and max do not depend on the order of the values, so the answer is bit for bit the same.
 * Not pushed, because no core aggregation gives them exactly:
 * - rate / increase / delta / irate / resets / changes: need the samples in order (each counter reset adds
 *   the value before it; the first and last sample and their timestamps set the extrapolation);
 * - sum / avg / stddev / stdvar_over_time: floating-point sums depend on the order of the additions, and
 *   Elasticsearch sums in its own order (and avg uses Prometheus' incremental mean);
 * - last_over_time and instant selectors: the value at the bucket's latest timestamp has no core
 *   aggregation (`top_metrics` is not in the distribution; `top_hits` per bucket costs more than samples)
 *   — except under `count` / `group`, which need only presence (see planPresence);
 * - anything inside a subquery (its steps are not the query's grid).
 *
 * Native histograms. A histogram sample is a sample for count_over_time, present_over_time and presence
 * (Prometheus counts it like a float), so bucket `counts` include histogram samples and those answers stay
 * exact. min/max_over_time read floats only: a window whose samples are all histograms gives no result
 * (not NaN), and one mixing both gives Prometheus' "ignored histograms" info. Both need to know how many
 * samples of a bucket are histograms: BucketSeries.histograms. A source whose series may hold histograms
 * must fill it; one that leaves it out declares its buckets float-only (the float-only storage of before).
 * Every other function stays unpushed, so whatever it does with histograms is computed from the samples.
 */

export interface BucketRequest {
  /** Bucket width g in ms. */
  bucketMs: number;
  /** A bucket end: all bucket ends are ≡ this (mod g). */
  alignMs: number;
  /** The per-bucket statistic of non-NaN values the function needs, if any. */
  stat: "min" | "max" | undefined;
  /** Also the time of each bucket's latest sample and whether it is a stale marker. */
  last?: boolean;
}

export interface BucketSeries {
  labels: Labels;
  /** Bucket ends (ms), ascending; a bucket holds (end − g, end]. */
  ends: number[];
  /** Samples per bucket (native histograms included), stale markers not counted. */
  counts: number[];
  /**
   * How many of each bucket's samples are native histograms (not in `stat`). Required from a source whose
   * series may hold histograms; absent means every sample is a float.
   */
  histograms?: number[];
  /** The statistic of the bucket's non-NaN values; NaN when there are none. */
  stat: number[];
  /** With `last`: time of the bucket's latest sample (stale markers included), and whether it is stale. */
  last?: number[];
  lastStale?: boolean[];
}

/** A sample source that can also answer with bucket statistics. */
export interface BucketSource {
  selectBuckets(matchers: CompiledMatcher[], startMs: number, endMs: number, req: BucketRequest): Promise<BucketSeries[]>;
}

interface PushableFunction {
  stat: "min" | "max" | undefined;
  value: (count: number, stat: number) => number;
}

const PUSHABLE: Record<string, PushableFunction> = {
  count_over_time: { stat: undefined, value: (n) => n },
  present_over_time: { stat: undefined, value: () => 1 },
  min_over_time: { stat: "min", value: (_, v) => v },
  max_over_time: { stat: "max", value: (_, v) => v },
};

const WHY_NOT: Record<string, string> = {
  rate: "needs the samples in order (counter resets, extrapolation)",
  increase: "needs the samples in order (counter resets, extrapolation)",
  delta: "needs the first and last sample",
  irate: "needs the last two samples",
  idelta: "needs the last two samples",
  resets: "needs the samples in order",
  changes: "needs the samples in order",
  sum_over_time: "floating-point sums depend on the order of the additions",
  avg_over_time: "floating-point sums depend on the order of the additions",
  stddev_over_time: "floating-point sums depend on the order of the additions",
  stdvar_over_time: "floating-point sums depend on the order of the additions",
  last_over_time: "no core aggregation gives the value at a bucket's latest timestamp",
};

export interface PushdownPlan {
  func: string;
  selector: VectorSelector;
  rangeMs: number;
  /** Inclusive bounds of the samples all windows cover. */
  startMs: number;
  endMs: number;
  request: BucketRequest;
}

export type PushdownDecision = { plan: PushdownPlan; note: string } | { plan: undefined; note: string | undefined };

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Narrowest bucket worth pushing down. A date_histogram bucket costs Elasticsearch more than a sample
 * bucket (measured: presence over 15 s buckets of 15 s scrapes took twice the raw load), so it pays only
 * when buckets hold several samples; scrape intervals are typically 10–60 s.
 */
export const MIN_BUCKET_MS = 60_000;

/**
 * Whether a call can be computed from buckets. `firstEnd`/`lastEnd` are the window ends of the query's
 * first and last step (equal for an instant query or an `@`-pinned selector), `stepMs` the distance
 * between steps (0 when there is one).
 */
export function planPushdown(
  e: Extract<Expr, { kind: "call" }>,
  windowEnds: (sel: VectorSelector) => { firstEnd: number; lastEnd: number },
  stepMs: number,
  inSubquery: boolean,
  canAggregate: boolean,
): PushdownDecision {
  const name = `${e.func}()`;
  const fn = PUSHABLE[e.func];
  if (!fn) {
    const why = WHY_NOT[e.func];
    return { plan: undefined, note: why ? `${name} not pushed down: ${why}` : undefined };
  }
  const arg = e.args[0];
  if (arg?.kind !== "matrix") return { plan: undefined, note: `${name} not pushed down: its argument is not a range selector` };
  if (arg.vector.modifier) return { plan: undefined, note: `${name} not pushed down: its range is ${arg.vector.modifier}` };
  if (inSubquery) return { plan: undefined, note: `${name} not pushed down: inside a subquery` };
  if (!canAggregate) return { plan: undefined, note: `${name} not pushed down: the source has no aggregations` };
  const { firstEnd, lastEnd } = windowEnds(arg.vector);
  const single = firstEnd === lastEnd || stepMs === 0;
  const bucketMs = single ? arg.rangeMs : gcd(stepMs, arg.rangeMs);
  if (bucketMs < MIN_BUCKET_MS) return { plan: undefined, note: `${name} not pushed down: ${bucketMs} ms buckets would hold too few samples` };
  const plan: PushdownPlan = {
    func: e.func,
    selector: arg.vector,
    rangeMs: arg.rangeMs,
    startMs: firstEnd - arg.rangeMs + 1,
    endMs: lastEnd,
    request: { bucketMs, alignMs: firstEnd, stat: fn.stat },
  };
  return { plan, note: `${name} pushed down: ${bucketMs} ms buckets` };
}

/** A pushed-down call's loaded buckets, read step by step. */
export class PushedCall {
  private readonly windows: SeriesWindows;
  private readonly fn: PushableFunction;
  private readonly manyNames: boolean;

  constructor(
    private readonly plan: PushdownPlan,
    private readonly data: BucketSeries[],
    /** Where min/max_over_time report a window that mixes floats and histograms (and the argument's position). */
    private readonly annotations?: Annotations,
    private readonly argPos?: number,
  ) {
    this.fn = PUSHABLE[plan.func]!;
    this.windows = new SeriesWindows(data.map((s) => ({ labels: s.labels, ts: s.ends, vs: s.counts, stale: new Set() })));
    this.manyNames = new Set(data.map((s) => nameKey(s.labels))).size > 1;
  }

  /** The function's value for the window ending at `end` (the step's time minus offset, or `@`). */
  at(end: number): InstantSample[] {
    const { bucketMs, alignMs } = this.plan.request;
    if ((((end - alignMs) % bucketMs) + bucketMs) % bucketMs !== 0) {
      throw new Error(`pushdown window end ${end} is off its ${bucketMs} ms grid`); // a planner bug, never data
    }
    this.windows.seek(end - this.plan.rangeMs, end);
    const out: InstantSample[] = [];
    for (let k = 0; k < this.data.length; k++) {
      const [lo, hi] = this.windows.bounds(k);
      const s = this.data[k]!;
      let count = 0;
      let histograms = 0;
      let stat = Number.NaN;
      for (let i = lo; i <= hi; i++) {
        count += s.counts[i]!;
        histograms += s.histograms?.[i] ?? 0;
        const v = s.stat[i]!;
        if (Number.isNaN(v)) continue;
        if (Number.isNaN(stat) || (this.fn.stat === "min" ? v < stat : v > stat)) stat = v;
      }
      if (count === 0) continue;
      if (this.fn.stat && histograms > 0) {
        // min/max: floats only; no floats, no result.
        if (count === histograms) continue;
        histogramNotes.ignoredInMixedRange(this.annotations, s.labels.__name__ ?? "", this.argPos);
      }
      out.push({ labels: dropName(s.labels), value: this.fn.value(count, stat) });
    }
    if (this.manyNames) checkUniqueLabelsets(out);
    return out;
  }
}

/**
 * `count` / `group` of an instant selector only need to know which series have a sample in the lookback
 * window whose latest one is not a stale marker: per bucket of width gcd(step, lookback), the time of the
 * latest sample (`max` of `@timestamp`) and whether a stale marker sits at that time. The latest sample of
 * a window is the latest of its last non-empty bucket, so this is exact.
 */
export function planPresence(
  op: string,
  sel: VectorSelector,
  windowEnds: (sel: VectorSelector) => { firstEnd: number; lastEnd: number },
  lookbackMs: number,
  stepMs: number,
  inSubquery: boolean,
  canAggregate: boolean,
): PushdownDecision {
  const name = `${op}(${sel.text})`;
  if (sel.modifier) return { plan: undefined, note: `${name} not pushed down: the selector is ${sel.modifier}` };
  if (inSubquery) return { plan: undefined, note: `${name} not pushed down: inside a subquery` };
  if (!canAggregate) return { plan: undefined, note: `${name} not pushed down: the source has no aggregations` };
  const { firstEnd, lastEnd } = windowEnds(sel);
  const bucketMs = firstEnd === lastEnd || stepMs === 0 ? lookbackMs : gcd(stepMs, lookbackMs);
  if (bucketMs < MIN_BUCKET_MS) return { plan: undefined, note: `${name} not pushed down: ${bucketMs} ms buckets would hold too few samples` };
  const plan: PushdownPlan = {
    func: op,
    selector: sel,
    rangeMs: lookbackMs,
    startMs: firstEnd - lookbackMs + 1,
    endMs: lastEnd,
    request: { bucketMs, alignMs: firstEnd, stat: undefined, last: true },
  };
  return { plan, note: `${name} pushed down: presence from ${bucketMs} ms buckets` };
}

/** A pushed-down instant selector under count/group: which series are present at each step. */
export class PushedPresence {
  private readonly windows: SeriesWindows;

  constructor(
    private readonly plan: PushdownPlan,
    private readonly data: BucketSeries[],
  ) {
    this.windows = new SeriesWindows(data.map((s) => ({ labels: s.labels, ts: s.ends, vs: s.counts, stale: new Set() })));
  }

  /**
   * The selector's series present at `ref` (step time minus offset, or `@`). Their values are NaN: only
   * count and group read this vector, and they never look at values.
   */
  at(ref: number): InstantSample[] {
    const { bucketMs, alignMs } = this.plan.request;
    if ((((ref - alignMs) % bucketMs) + bucketMs) % bucketMs !== 0) {
      throw new Error(`pushdown window end ${ref} is off its ${bucketMs} ms grid`); // a planner bug, never data
    }
    this.windows.seek(ref - this.plan.rangeMs, ref);
    const out: InstantSample[] = [];
    for (let k = 0; k < this.data.length; k++) {
      const [lo, hi] = this.windows.bounds(k);
      if (hi < lo) continue;
      const s = this.data[k]!;
      if (s.lastStale?.[hi]) continue;
      out.push({ labels: s.labels, value: Number.NaN, t: s.last?.[hi] ?? ref });
    }
    return out;
  }
}
