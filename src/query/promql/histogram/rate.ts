import { ResetHint } from "../../../model/histogram.js";
import type { Annotations } from "../annotations.js";
import { add, sub } from "./arith.js";
import { compact, CUSTOM, type FloatHistogram } from "./float.js";
import { histogramNotes as notes } from "./notes.js";
import { detectReset } from "./reset.js";

/**
 * rate / increase / delta and irate / idelta over native histograms (Prometheus' histogramRate and the
 * histogram half of instantValue). The result is always a gauge histogram.
 */

const isCustom = (h: FloatHistogram) => h.schema === CUSTOM;

/** Reports a reconciliation of custom bounds and passes the result on; undefined when the schemas clash. */
function combined(r: ReturnType<typeof add>, a: Annotations | undefined, op: "addition" | "subtraction", pos: number | undefined): FloatHistogram | undefined {
  if (r?.reconciled) notes.mismatchedCustomBuckets(a, op, pos);
  return r?.h;
}

/**
 * The last histogram minus the first, each counter reset adding the histogram before it (with isCounter),
 * at the lowest schema in the range. Undefined (with a warning) when exponential and custom buckets mix.
 */
export function histogramRate(points: FloatHistogram[], isCounter: boolean, name: string, a: Annotations | undefined, pos: number | undefined): FloatHistogram | undefined {
  let prev = points[0]!;
  const last = points[points.length - 1]!;
  let usingCustom = isCustom(prev);
  if (isCounter && (prev.hint === ResetHint.Gauge || last.hint === ResetHint.Gauge)) notes.notCounter(a, name, pos);
  // A reset between the first two samples: the first one's layout does not matter, start from an empty one.
  if (isCounter && detectReset(points[1]!, prev)) {
    const second = points[1]!;
    prev = { schema: second.schema, zeroThreshold: 0, zeroCount: 0, count: 0, sum: 0, positive: { idx: [], counts: [] }, negative: { idx: [], counts: [] }, hint: ResetHint.Unknown, customValues: second.customValues };
    usingCustom = isCustom(second);
  }
  if (isCustom(last) !== usingCustom) {
    notes.mixedExponentialCustom(a, name, pos);
    return undefined;
  }
  let minSchema = Math.min(last.schema, prev.schema);
  for (const cur of points.slice(1, -1)) {
    if (!isCounter) continue;
    if (cur.hint === ResetHint.Gauge) notes.notCounter(a, name, pos);
    if (cur.schema < minSchema) minSchema = cur.schema;
    if (isCustom(cur) !== usingCustom) {
      notes.mixedExponentialCustom(a, name, pos);
      return undefined;
    }
  }
  let h = reduceTo(last, minSchema);
  const diff = sub(h, prev);
  if (!diff) {
    notes.mixedExponentialCustom(a, name, pos);
    return undefined;
  }
  h = combined(diff, a, "subtraction", pos)!;
  if (isCounter) {
    let before = prev;
    for (const cur of points.slice(1)) {
      if (detectReset(cur, before)) {
        const r = add(h, before);
        if (!r) {
          notes.mixedExponentialCustom(a, name, pos);
          return undefined;
        }
        h = combined(r, a, "addition", pos)!;
      }
      before = cur;
    }
  } else if (points[0]!.hint !== ResetHint.Gauge || last.hint !== ResetHint.Gauge) notes.notGauge(a, name, pos);
  return compact({ ...h, hint: ResetHint.Gauge });
}

/** A copy at a lower (or the same) schema, as Prometheus' CopyToSchema; custom buckets stay as they are. */
function reduceTo(h: FloatHistogram, schema: number): FloatHistogram {
  if (schema === h.schema || isCustom(h)) return h;
  // Adding an empty histogram of the target schema reduces the resolution through the same code as sums.
  const empty: FloatHistogram = { ...h, schema, zeroCount: 0, count: 0, sum: 0, positive: { idx: [], counts: [] }, negative: { idx: [], counts: [] } };
  const r = add(h, empty)!.h;
  return { ...r, hint: h.hint };
}

/**
 * irate / idelta of two histogram samples: their difference (irate: the later one alone after a counter
 * reset), a gauge histogram. Undefined when exponential and custom buckets meet.
 */
export function histogramInstantDelta(
  earlier: FloatHistogram,
  later: FloatHistogram,
  isRate: boolean,
  name: string,
  a: Annotations | undefined,
  pos: number | undefined,
): FloatHistogram | undefined {
  if (isRate && (later.hint === ResetHint.Gauge || earlier.hint === ResetHint.Gauge)) notes.notCounter(a, name, pos);
  if (!isRate && (later.hint !== ResetHint.Gauge || earlier.hint !== ResetHint.Gauge)) notes.notGauge(a, name, pos);
  let h = later;
  if (!isRate || !detectReset(later, earlier)) {
    const r = sub(later, earlier);
    if (!r) {
      notes.mixedExponentialCustom(a, name, pos);
      return undefined;
    }
    h = combined(r, a, "subtraction", pos)!;
  }
  return compact({ ...h, hint: ResetHint.Gauge });
}
