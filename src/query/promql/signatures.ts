import type { ValueType } from "./ast.js";

/**
 * Function and aggregation signatures, for type checking at parse time (Prometheus keeps the same table in
 * promql/parser/functions.go). Implementations live in functions.ts, keyed by the same names; a function
 * listed here always has one.
 */
export interface FunctionSignature {
  args: ValueType[];
  /** How many trailing arguments may be left out. */
  optional?: number;
  /** The last argument type repeats (label_join). */
  variadic?: boolean;
  ret: ValueType;
}

const v = "vector" as const;
const m = "matrix" as const;
const s = "scalar" as const;
const str = "string" as const;

const instant = (optional = 0): FunctionSignature => ({ args: [v], ...(optional ? { optional } : {}), ret: v });
const range: FunctionSignature = { args: [m], ret: v };
const dateFn: FunctionSignature = { args: [v], optional: 1, ret: v };

export const FUNCTIONS: Record<string, FunctionSignature> = {
  abs: instant(), ceil: instant(), floor: instant(), exp: instant(), ln: instant(), log2: instant(), log10: instant(),
  sqrt: instant(), sgn: instant(), sin: instant(), cos: instant(), tan: instant(), asin: instant(), acos: instant(),
  atan: instant(), sinh: instant(), cosh: instant(), tanh: instant(), asinh: instant(), acosh: instant(), atanh: instant(),
  deg: instant(), rad: instant(),
  round: { args: [v, s], optional: 1, ret: v },
  clamp: { args: [v, s, s], ret: v },
  clamp_min: { args: [v, s], ret: v },
  clamp_max: { args: [v, s], ret: v },
  rate: range, irate: range, increase: range, delta: range, idelta: range,
  avg_over_time: range, min_over_time: range, max_over_time: range, sum_over_time: range, count_over_time: range,
  last_over_time: range, present_over_time: range, stddev_over_time: range, stdvar_over_time: range,
  changes: range, resets: range, deriv: range, absent_over_time: range,
  quantile_over_time: { args: [s, m], ret: v },
  predict_linear: { args: [m, s], ret: v },
  time: { args: [], ret: s },
  pi: { args: [], ret: s },
  vector: { args: [s], ret: v },
  scalar: { args: [v], ret: s },
  timestamp: instant(),
  absent: instant(),
  sort: instant(),
  sort_desc: instant(),
  label_replace: { args: [v, str, str, str, str], ret: v },
  label_join: { args: [v, str, str, str], variadic: true, ret: v },
  histogram_quantile: { args: [s, v], ret: v },
  day_of_month: dateFn, day_of_week: dateFn, day_of_year: dateFn, days_in_month: dateFn,
  hour: dateFn, minute: dateFn, month: dateFn, year: dateFn,
};

export const AGGREGATIONS: Record<string, { param?: ValueType }> = {
  sum: {}, avg: {}, min: {}, max: {}, count: {}, group: {}, stddev: {}, stdvar: {},
  topk: { param: s }, bottomk: { param: s }, quantile: { param: s }, count_values: { param: str },
};
