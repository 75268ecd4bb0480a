import { ResetHint } from "../../../model/histogram.js";
import { add, kahanAdd, kahanResult, type KahanState } from "./arith.js";
import { compact, div, type FloatHistogram, hasOverflow, mul } from "./float.js";

/**
 * Sums and means of histograms, shared by sum/avg aggregation and sum_over_time/avg_over_time. Both follow
 * Prometheus: a Kahan-compensated sum; the mean divides the sum at the end unless the sum overflows, from
 * where on it switches to an incremental mean. Results are compacted (empty buckets dropped).
 */
export interface HistogramFold {
  /** undefined: exponential and custom buckets met (the caller warns and drops the result). */
  value: FloatHistogram | undefined;
  /** Where they met: the index of the histogram that could not be added. */
  failedAt?: number;
  /** A counter reset hint and a "no counter reset" hint were both seen. */
  collision: boolean;
  /** Custom bucket bounds differed somewhere and were intersected. */
  reconciled: boolean;
}

class HintTracker {
  private yes = false;
  private no = false;
  see(h: FloatHistogram): void {
    if (h.hint === ResetHint.Yes) this.yes = true;
    else if (h.hint === ResetHint.No) this.no = true;
  }
  get collision(): boolean {
    return this.yes && this.no;
  }
}

export function sumHistograms(hs: FloatHistogram[]): HistogramFold {
  const hints = new HintTracker();
  let reconciled = false;
  let state: KahanState = { sum: hs[0]!, comp: undefined };
  hints.see(hs[0]!);
  for (let i = 1; i < hs.length; i++) {
    const h = hs[i]!;
    hints.see(h);
    const r = kahanAdd(state, h);
    if (!r) return { value: undefined, failedAt: i, collision: hints.collision, reconciled };
    reconciled ||= r.reconciled;
    state = r;
  }
  return { value: compact(kahanResult(state)), collision: hints.collision, reconciled };
}

export function avgHistograms(hs: FloatHistogram[]): HistogramFold {
  const hints = new HintTracker();
  let reconciled = false;
  let state: KahanState = { sum: hs[0]!, comp: undefined };
  let mean: FloatHistogram | undefined;
  hints.see(hs[0]!);
  for (let i = 1; i < hs.length; i++) {
    const h = hs[i]!;
    hints.see(h);
    const count = i + 1;
    if (!mean) {
      const r = kahanAdd(state, h);
      if (!r) return { value: undefined, failedAt: i, collision: hints.collision, reconciled };
      reconciled ||= r.reconciled;
      if (!hasOverflow(r.sum)) {
        state = r;
        continue;
      }
      mean = div(state.sum, count - 1);
      state = { sum: mean, comp: state.comp ? div(state.comp, count - 1) : undefined };
    }
    const q = (count - 1) / count;
    const r = kahanAdd({ sum: mul(state.sum, q), comp: state.comp ? mul(state.comp, q) : undefined }, div(h, count));
    if (!r) return { value: undefined, failedAt: i, collision: hints.collision, reconciled };
    reconciled ||= r.reconciled;
    state = r;
    mean = r.sum;
  }
  let value: FloatHistogram;
  if (mean) value = state.comp ? (add(state.sum, state.comp)?.h ?? state.sum) : state.sum;
  else {
    const n = hs.length;
    value = div(state.sum, n);
    if (state.comp) value = add(value, div(state.comp, n))?.h ?? value;
  }
  return { value: compact(value), collision: hints.collision, reconciled };
}
