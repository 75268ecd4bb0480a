import type { Labels } from "../matchers.js";
import type { FloatHistogram } from "./histogram/float.js";

/**
 * Values flowing through the evaluator. A sample is a float or a native histogram: `h` set means a
 * histogram, and `value` is then NaN and not a value. A range series keeps its float points and its
 * histogram points apart, each in time order, as Prometheus' Series does (Floats, Histograms): functions
 * that read floats only never see a histogram, and the float path carries no extra field.
 */
export interface InstantSample {
  labels: Labels;
  value: number;
  /** For samples straight from a selector: the sample's own time in ms (timestamp() reports it). */
  t?: number;
  h?: FloatHistogram;
}
export interface RangeSeries {
  labels: Labels;
  ts: number[];
  vs: number[];
  /** Histogram points: their times and histograms (absent when the series has none in the range). */
  hts?: number[];
  hs?: FloatHistogram[];
}
export type Value =
  | { type: "scalar"; v: number }
  | { type: "string"; v: string }
  | { type: "vector"; v: InstantSample[] }
  | { type: "matrix"; v: RangeSeries[] };

// Label sets are never mutated once built, so derived values can be cached per object: a range query
// evaluates the same series at every step, and these were the evaluator's hottest calls.
const dropped = new WeakMap<Labels, Labels>();
const keys = new WeakMap<Labels, string>();

/**
 * The metric name and, with it, the reserved metadata labels `__type__` and `__unit__` (Prometheus 3.16 drops
 * them together wherever it drops the name, and leaves them out of `ignoring`/`without` matching).
 */
export const NAME_LABELS = ["__name__", "__type__", "__unit__"] as const;
export const isNameLabel = (l: string): boolean => l === "__name__" || l === "__type__" || l === "__unit__";

export function dropName(labels: Labels): Labels {
  if (!("__name__" in labels) && !("__type__" in labels) && !("__unit__" in labels)) return labels;
  let out = dropped.get(labels);
  if (!out) {
    const { __name__: _n, __type__: _t, __unit__: _u, ...rest } = labels;
    dropped.set(labels, (out = rest));
  }
  return out;
}

/** What dropName removes, as one key: series that differ only in it collide once it is dropped. */
export const nameKey = (labels: Labels): string => `${labels.__name__ ?? ""}\u0000${labels.__type__ ?? ""}\u0000${labels.__unit__ ?? ""}`;

export function labelsKey(labels: Labels): string {
  let k = keys.get(labels);
  if (k === undefined) keys.set(labels, (k = JSON.stringify(Object.keys(labels).sort().map((n) => [n, labels[n]]))));
  return k;
}

/**
 * Go's strconv.FormatFloat(v, 'f', -1, 64), as Prometheus writes sample values: the shortest decimal that
 * round-trips, never in exponent form; NaN and ±Inf spelled as Prometheus does.
 */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Object.is(v, -0)) return "-0"; // Go keeps the sign of zero; String(-0) is "0"
  const s = String(v);
  const e = s.indexOf("e");
  if (e < 0) return s;
  const sign = s.startsWith("-") ? "-" : "";
  const mantissa = s.slice(sign.length, e).replace(".", "");
  const dot = s.slice(sign.length, e).indexOf(".");
  const exp = Number(s.slice(e + 1)) + (dot < 0 ? s.slice(sign.length, e).length : dot);
  if (exp <= 0) return `${sign}0.${"0".repeat(-exp)}${mantissa}`;
  if (exp >= mantissa.length) return `${sign}${mantissa}${"0".repeat(exp - mantissa.length)}`;
  return `${sign}${mantissa.slice(0, exp)}.${mantissa.slice(exp)}`;
}
