import { formatValue } from "../values.js";
import { allBuckets, type FloatHistogram } from "./float.js";

/**
 * A histogram as Prometheus' HTTP API writes it (util/jsonutil's MarshalHistogram):
 * `{"count":"4","sum":"5","buckets":[[boundaries,"lower","upper","count"],…]}`, buckets from the lowest up,
 * empty ones left out (and `buckets` too when all are). `boundaries` says which ends are inclusive:
 * 0 upper only, 1 lower only, 2 neither, 3 both.
 */
export interface HistogramJSON {
  count: string;
  sum: string;
  buckets?: [number, string, string, string][];
}

/**
 * Prometheus' MarshalFloat: the shortest decimal that round-trips, in exponent form ('e', at least two
 * exponent digits) below 1e-6 and from 1e21 on, as Go's strconv writes it.
 */
export function marshalFloat(v: number): string {
  const abs = Math.abs(v);
  if (abs === 0 || Number.isNaN(v) || abs === Infinity || (abs >= 1e-6 && abs < 1e21)) return formatValue(v);
  const [mantissa, exp] = v.toExponential().split("e") as [string, string];
  const n = Number(exp);
  return `${mantissa}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
}

export function histogramJSON(h: FloatHistogram): HistogramJSON {
  const out: HistogramJSON = { count: marshalFloat(h.count), sum: marshalFloat(h.sum) };
  const buckets: [number, string, string, string][] = [];
  for (const b of allBuckets(h)) {
    if (b.count === 0) continue;
    const boundaries = b.lowerInclusive ? (b.upperInclusive ? 3 : 1) : b.upperInclusive ? 0 : 2;
    buckets.push([boundaries, marshalFloat(b.lower), marshalFloat(b.upper), marshalFloat(b.count)]);
  }
  if (buckets.length > 0) out.buckets = buckets;
  return out;
}
