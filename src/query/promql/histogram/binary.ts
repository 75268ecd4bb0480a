import { ResetHint } from "../../../model/histogram.js";
import type { Annotations } from "../annotations.js";
import { add, sub } from "./arith.js";
import { compact, div, equals, type FloatHistogram, mul } from "./float.js";
import { histogramNotes as notes } from "./notes.js";

/**
 * One binary operation where at least one operand is a histogram (Prometheus' vectorElemBinop): histogram
 * ± histogram, histogram × scalar, scalar × histogram, histogram ÷ scalar, and == / != between two
 * histograms (which compare and keep the left one). Every other combination drops the pair with the info
 * "incompatible sample types". A histogram sum or difference whose counter reset hints collide is dropped
 * with a warning, as in Prometheus.
 */
export interface ElementResult {
  /** For == / !=: whether the comparison holds. Otherwise true. */
  keep: boolean;
  h: FloatHistogram;
}

export function histogramBinary(
  op: string,
  lv: number,
  lh: FloatHistogram | undefined,
  rv: number,
  rh: FloatHistogram | undefined,
  a: Annotations,
  pos: number | undefined,
): ElementResult | undefined {
  const incompatible = () => {
    notes.incompatibleTypes(a, lh ? "histogram" : "float", op, rh ? "histogram" : "float", pos);
    return undefined;
  };
  if (!lh) return op === "*" && rh ? { keep: true, h: compact(mul(rh, lv)) } : incompatible();
  if (!rh) {
    if (op === "*") return { keep: true, h: compact(mul(lh, rv)) };
    if (op === "/") return { keep: true, h: compact(div(lh, rv)) };
    return incompatible();
  }
  switch (op) {
    case "+":
    case "-": {
      const r = op === "+" ? add(lh, rh) : sub(lh, rh);
      if (!r) {
        notes.incompatibleLayout(a, op, pos);
        return undefined;
      }
      const operation = op === "+" ? "addition" : "subtraction";
      if (r.collision) {
        notes.counterResetCollision(a, operation, pos);
        return undefined;
      }
      if (r.reconciled) notes.mismatchedCustomBuckets(a, operation, pos);
      return { keep: true, h: compact(op === "-" ? { ...r.h, hint: ResetHint.Gauge } : r.h) };
    }
    case "==":
      return { keep: equals(lh, rh), h: lh };
    case "!=":
      return { keep: !equals(lh, rh), h: lh };
    default:
      return incompatible();
  }
}
