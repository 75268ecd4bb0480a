import type { Labels } from "../matchers.js";

/** Values flowing through the evaluator. */
export interface InstantSample {
  labels: Labels;
  value: number;
  /** For samples straight from a selector: the sample's own time in ms (timestamp() reports it). */
  t?: number;
}
export interface RangeSeries {
  labels: Labels;
  ts: number[];
  vs: number[];
}
export type Value =
  | { type: "scalar"; v: number }
  | { type: "string"; v: string }
  | { type: "vector"; v: InstantSample[] }
  | { type: "matrix"; v: RangeSeries[] };

export function dropName(labels: Labels): Labels {
  if (!("__name__" in labels)) return labels;
  const { __name__: _, ...rest } = labels;
  return rest;
}

export function labelsKey(labels: Labels): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

/**
 * Go's strconv.FormatFloat(v, 'f', -1, 64), as Prometheus writes sample values: the shortest decimal that
 * round-trips, never in exponent form; NaN and ±Inf spelled as Prometheus does.
 */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
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
