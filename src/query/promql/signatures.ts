import type { ValueType } from "./ast.js";

/**
 * Function and aggregation signatures, for type checking at parse time (Prometheus keeps the same table in
 * promql/parser/functions.go). Implementations live in functions.ts, keyed by the same names; a function
 * listed here always has one, but `info` (a join over separately loaded series, in info.ts) and start(),
 * end(), range(), step() (numbers once the query starts, query-context.ts).
 */
export interface FunctionSignature {
  args: ValueType[];
  /**
   * Prometheus' `Variadic`: 0 = exactly `args`; n > 0 = the last argument may be left out or repeated up
   * to n times in all; -1 = the last argument repeats without limit (also zero times).
   */
  variadic?: number;
  ret: ValueType;
  /** Behind Prometheus' `--enable-feature=promql-experimental-functions`; promgate always enables them. */
  experimental?: boolean;
  /** Behind promgate's PROMGATE_PROMQL_EXPERIMENTAL: the feature that turns it on. */
  feature?: "query-functions" | "promql-experimental-functions";
}

const v = "vector" as const;
const m = "matrix" as const;
const s = "scalar" as const;
const str = "string" as const;

const instant: FunctionSignature = { args: [v], ret: v };
const range: FunctionSignature = { args: [m], ret: v };
const experimentalRange: FunctionSignature = { args: [m], ret: v, experimental: true };
const dateFn: FunctionSignature = { args: [v], variadic: 1, ret: v };
const histogramFn: FunctionSignature = { args: [v], ret: v };
const smoothing: FunctionSignature = { args: [m, s, s], ret: v, experimental: true };
const sortByLabel: FunctionSignature = { args: [v, str], variadic: -1, ret: v, experimental: true };
const queryFn: FunctionSignature = { args: [], ret: s, experimental: true, feature: "query-functions" };

export const FUNCTIONS: Record<string, FunctionSignature> = {
  abs: instant, ceil: instant, floor: instant, exp: instant, ln: instant, log2: instant, log10: instant,
  sqrt: instant, sgn: instant, sin: instant, cos: instant, tan: instant, asin: instant, acos: instant,
  atan: instant, sinh: instant, cosh: instant, tanh: instant, asinh: instant, acosh: instant, atanh: instant,
  deg: instant, rad: instant,
  round: { args: [v, s], variadic: 1, ret: v },
  clamp: { args: [v, s, s], ret: v },
  clamp_min: { args: [v, s], ret: v },
  clamp_max: { args: [v, s], ret: v },
  rate: range, irate: range, increase: range, delta: range, idelta: range,
  avg_over_time: range, min_over_time: range, max_over_time: range, sum_over_time: range, count_over_time: range,
  last_over_time: range, present_over_time: range, stddev_over_time: range, stdvar_over_time: range,
  changes: range, resets: range, deriv: range, absent_over_time: range,
  mad_over_time: experimentalRange,
  ts_of_max_over_time: experimentalRange, ts_of_min_over_time: experimentalRange, ts_of_last_over_time: experimentalRange,
  ts_of_first_over_time: experimentalRange,
  first_over_time: range,
  // Prometheus 3.16's experimental functions promgate added after the others: off unless switched on.
  integral: { args: [m, s], variadic: 1, ret: v, experimental: true, feature: "promql-experimental-functions" },
  histogram_quantiles: { args: [v, str, s, s], variadic: 9, ret: v, experimental: true, feature: "promql-experimental-functions" },
  quantile_over_time: { args: [s, m], ret: v },
  predict_linear: { args: [m, s], ret: v },
  double_exponential_smoothing: smoothing,
  holt_winters: smoothing,
  time: { args: [], ret: s },
  pi: { args: [], ret: s },
  vector: { args: [s], ret: v },
  scalar: { args: [v], ret: s },
  timestamp: instant,
  absent: instant,
  sort: instant,
  sort_desc: instant,
  sort_by_label: sortByLabel,
  sort_by_label_desc: sortByLabel,
  label_replace: { args: [v, str, str, str, str], ret: v },
  label_join: { args: [v, str, str, str], variadic: -1, ret: v },
  histogram_quantile: { args: [s, v], ret: v },
  histogram_count: histogramFn, histogram_sum: histogramFn, histogram_avg: histogramFn,
  histogram_stddev: histogramFn, histogram_stdvar: histogramFn,
  histogram_fraction: { args: [s, s, v], ret: v },
  day_of_month: dateFn, day_of_week: dateFn, day_of_year: dateFn, days_in_month: dateFn,
  hour: dateFn, minute: dateFn, month: dateFn, year: dateFn,
  // A join with the info series its second argument (a label selector) names: the engine evaluates it (info.ts).
  info: { args: [v, v], variadic: 1, ret: v, experimental: true },
  // Prometheus 3.16's functions of the query itself (folded to numbers when it starts) and of two scalars.
  start: queryFn, end: queryFn, range: queryFn, step: queryFn,
  min_of: { args: [s, s], ret: s, experimental: true, feature: "query-functions" },
  max_of: { args: [s, s], ret: s, experimental: true, feature: "query-functions" },
};

export const AGGREGATIONS: Record<string, { param?: ValueType; experimental?: boolean }> = {
  sum: {}, avg: {}, min: {}, max: {}, count: {}, group: {}, stddev: {}, stdvar: {},
  topk: { param: s }, bottomk: { param: s }, quantile: { param: s }, count_values: { param: str },
  limitk: { param: s, experimental: true }, limit_ratio: { param: s, experimental: true },
};
