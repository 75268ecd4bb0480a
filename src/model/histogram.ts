/**
 * A native histogram sample as promgate carries it between ingest, storage and the query engine.
 *
 * Field meanings follow Prometheus' `Histogram` protobuf message (shared by remote write 1.0 and 2.0):
 * exponential schemas -4…8 where bucket `i` of a span covers (2^(2^-schema·(i-1)), 2^(2^-schema·i)], and
 * the custom-bucket schema -53 whose positive buckets index `customValues` (upper bounds; one past the end
 * is +Inf). Bucket counts here are always absolute (the wire's integer deltas already summed), so the engine
 * never sees deltas; `float` remembers whether the sender wrote an integer histogram (counts as integers,
 * buckets as deltas) or a float histogram, which remote_read's chunk encodings need.
 */

export interface BucketSpan {
  /** Gap to the end of the previous span, or the index of the first bucket for the first span. */
  offset: number;
  length: number;
}

/** Prometheus' counter reset hint (`Histogram.ResetHint` on the wire). */
export const enum ResetHint {
  Unknown = 0,
  Yes = 1,
  No = 2,
  Gauge = 3,
}

export const CUSTOM_BUCKETS_SCHEMA = -53;
export const MIN_EXPONENTIAL_SCHEMA = -4;
export const MAX_EXPONENTIAL_SCHEMA = 8;

export interface NativeHistogram {
  /** False for an integer histogram, true for a float histogram. */
  float: boolean;
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  positiveSpans: BucketSpan[];
  /** Absolute counts, one per bucket the spans describe. */
  positiveBuckets: number[];
  negativeSpans: BucketSpan[];
  negativeBuckets: number[];
  resetHint: ResetHint;
  /** Upper bounds of the custom buckets (schema -53 only; empty otherwise). */
  customValues: number[];
}

export const isCustomBuckets = (h: NativeHistogram): boolean => h.schema === CUSTOM_BUCKETS_SCHEMA;

/** Buckets a list of spans describes (what the bucket array's length must be). */
export function spanBuckets(spans: BucketSpan[]): number {
  let n = 0;
  for (const s of spans) n += s.length;
  return n;
}
