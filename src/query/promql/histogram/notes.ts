import { type Annotations, goG, goGPrecision, type Mergeable } from "../annotations.js";

/**
 * The warnings and infos Prometheus gives around native histograms (util/annotations), word for word.
 * `name` is the series' metric name as the sample carries it ("" once dropped).
 */

type Pos = number | undefined;
const q = (s: string) => JSON.stringify(s);

export const histogramNotes = {
  mixedFloatsHistograms: (a: Annotations | undefined, name: string, pos: Pos) =>
    a?.warn(`encountered a mix of histograms and floats for metric name ${q(name)}`, pos),
  mixedFloatsHistogramsAgg: (a: Annotations | undefined, pos: Pos) => a?.warn("encountered a mix of histograms and floats for aggregation", pos),
  mixedExponentialCustom: (a: Annotations | undefined, name: string, pos: Pos) =>
    a?.warn(`vector contains a mix of histograms with exponential and custom buckets schemas for metric name ${q(name)}`, pos),
  mixedClassicNative: (a: Annotations | undefined, name: string, pos: Pos) =>
    a?.warn(`vector contains a mix of classic and native histograms${name === "" ? "" : ` for metric name ${q(name)}`}`, pos),
  notCounter: (a: Annotations | undefined, name: string, pos: Pos) => a?.warn(`this native histogram metric is not a counter: ${q(name)}`, pos),
  notGauge: (a: Annotations | undefined, name: string, pos: Pos) => a?.warn(`this native histogram metric is not a gauge: ${q(name)}`, pos),
  incompatibleLayout: (a: Annotations | undefined, op: string, pos: Pos) => a?.warn(`incompatible bucket layout encountered for binary operator ${op}`, pos),
  counterResetCollision: (a: Annotations | undefined, operation: Operation, pos: Pos) => a?.warn(`conflicting counter resets during histogram ${operation}`, pos),
  mismatchedCustomBuckets: (a: Annotations | undefined, operation: Operation, pos: Pos) =>
    a?.info(`mismatched custom buckets were reconciled during ${operation}`, pos),
  incompatibleTypes: (a: Annotations | undefined, lhs: string, op: string, rhs: string, pos: Pos) =>
    a?.info(`incompatible sample types encountered for binary operator ${q(op)}: ${lhs} ${op} ${rhs}`, pos),
  ignoredInAggregation: (a: Annotations | undefined, op: string, pos: Pos) => a?.info(`ignored histogram in ${op} aggregation`, pos),
  ignoredInMixedRange: (a: Annotations | undefined, name: string, pos: Pos) =>
    a?.info(`ignored histograms in a range containing both floats and histograms for metric name ${q(name)}`, pos),
  quantileNaNResult: (a: Annotations | undefined, name: string, pos: Pos) =>
    a?.info(`input to histogram_quantile has NaN observations, result is NaN${name === "" ? "" : ` for metric name ${q(name)}`}`, pos),
  quantileNaNSkew: (a: Annotations | undefined, name: string, pos: Pos) =>
    a?.info(`input to histogram_quantile has NaN observations, result is skewed higher${name === "" ? "" : ` for metric name ${q(name)}`}`, pos),
  badBucketLabel: (a: Annotations | undefined, le: string, pos: Pos) => a?.warn(`bucket label "le" is missing or has a malformed value of ${q(le)}`, pos),
  /** Merged over the steps of a query: the buckets, the largest decrease, how many samples and when. */
  forcedMonotonicity: (a: Annotations | undefined, pos: Pos, at: Monotonicity) =>
    a?.infoMerged(MONOTONICITY_TEXT, pos, { ...MONOTONICITY, value: at }),
  fractionNaNs: (a: Annotations | undefined, name: string, pos: Pos) =>
    a?.info(`input to histogram_fraction has NaN observations, which are excluded from all fractions${name === "" ? "" : ` for metric name ${q(name)}`}`, pos),
};

export type Operation = "addition" | "subtraction" | "aggregation";

const MONOTONICITY_TEXT = "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)";

/**
 * Whether an annotation sums up every step of one evaluation (the monotonicity info): the union of the
 * texts of a range's pieces is then not the whole range's text.
 */
export const mergedOverSteps = (text: string): boolean => text.startsWith(`PromQL info: ${MONOTONICITY_TEXT}`);

export interface Monotonicity {
  minBucket: number;
  maxBucket: number;
  maxDiff: number;
  fromMs: number;
  toMs: number;
  samples: number;
}

const rfc3339 = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z");

const MONOTONICITY: Omit<Mergeable<Monotonicity>, "value"> = {
  merge: (a, b) => ({
    minBucket: Math.min(a.minBucket, b.minBucket),
    maxBucket: Math.max(a.maxBucket, b.maxBucket),
    maxDiff: Math.max(a.maxDiff, b.maxDiff),
    fromMs: Math.min(a.fromMs, b.fromMs),
    toMs: Math.max(a.toMs, b.toMs),
    // Not a plain sum: Prometheus merges a call's annotation into the running one and then that map into
    // the step loop's, so the shared record meets itself once per step (its count goes 1, 4, 10, 22, …).
    samples: 2 * a.samples + 2 * b.samples,
  }),
  render: (base, m) =>
    `${base}, from buckets ${goG(m.minBucket)} to ${goG(m.maxBucket)}, with a max diff of ${goGPrecision(m.maxDiff, 2)}, over ${m.samples} samples from ${rfc3339(m.fromMs)} to ${rfc3339(m.toMs)}`,
};
