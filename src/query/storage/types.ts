import type { Labels } from "../matchers.js";
import type { NativeHistogram } from "../../model/histogram.js";

/** What the read side hands back: series, their samples, per-bucket statistics, and time ranges. */

export interface Series {
  /** Canonical identity of the label set (sorted name/value pairs). */
  key: string;
  labels: Labels;
  /** Documents (samples) of the series the lookup counted in its range. */
  docs?: number;
}

export interface SeriesSamples extends Series {
  /** Milliseconds, ascending. */
  timestamps: number[];
  /** Values; a stale marker is NaN here and its index is in `stale`. */
  values: number[];
  /**
   * Indices of Prometheus staleness markers. Kept apart from `values` because a JS number cannot carry the
   * marker's NaN payload reliably (engines may quiet signalling NaNs); encoders write its exact bits.
   */
  stale: Set<number>;
  /**
   * Native histogram samples, aligned with `timestamps` (absent when the series has none): where
   * `histograms[i]` is set, sample i is that histogram and `values[i]` is NaN, to be ignored.
   */
  histograms?: (NativeHistogram | undefined)[];
}

/** Per-bucket statistics of one series (see `Storage.buckets`). */
export interface SeriesBuckets extends Series {
  /** Bucket ends in ms, ascending; a bucket holds (end − width, end]. */
  ends: number[];
  /** Samples in the bucket, stale markers not counted (may be 0: only stale markers). */
  counts: number[];
  /** Min or max of the bucket's values that are not NaN; NaN if none (or no statistic asked for). */
  stat: number[];
  /**
   * How many of the bucket's samples (in `counts`) are native histograms; absent when none is. PromQL
   * pushdown needs it to leave histograms out of min/max_over_time exactly (see promql/pushdown.ts).
   */
  histograms?: number[];
  /** When asked for: the time of the bucket's latest sample, and whether that sample is a stale marker. */
  last?: number[];
  lastStale?: boolean[];
}

export interface TimeRange {
  startMs: number;
  endMs: number;
}

/** A range open on either side (the HTTP API's start/end are optional). */
export interface PartialRange {
  startMs?: number | undefined;
  endMs?: number | undefined;
}

/** Per-series time buckets asked of `Storage.buckets`. */
export interface BucketSpec {
  bucketMs: number;
  alignMs: number;
  stat: "min" | "max" | undefined;
  last?: boolean;
}

/** Canonical identity of a label set: its name/value pairs sorted by name. */
export function seriesKey(labels: Labels): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}
