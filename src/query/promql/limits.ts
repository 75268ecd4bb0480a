import { PromgateError } from "../../errors.js";
import type { Labels } from "../matchers.js";
import { type Annotations, goG } from "./annotations.js";
import { compareLabelSets } from "./order.js";
import type { InstantSample } from "./values.js";
import { xxhash64 } from "../../util/xxhash64.js";

/**
 * The parameters of topk/bottomk/limitk/limit_ratio/quantile, and the two experimental limiting
 * aggregations (Prometheus 3: `limitk`, `limit_ratio`; promgate enables them without a flag).
 */

/**
 * k of topk/bottomk/limitk: below 1 nothing is selected (before any other check, as in Prometheus 3.16);
 * NaN and what int64 cannot hold are errors; the rest is truncated toward zero.
 */
export function kParam(p: number): number {
  if (p < 1) return 0;
  if (Number.isNaN(p)) throw new PromgateError("unprocessable", "Parameter value is NaN");
  if (p >= 9.223372036854776e18) throw new PromgateError("unprocessable", `Scalar value ${goG(p)} overflows int64`);
  return Math.trunc(p);
}

/** Warnings Prometheus gives for out-of-range parameters, once per query (deduplicated by text). */
export function paramWarnings(op: string, p: number, annotations: Annotations, pos: number | undefined): void {
  if (op === "quantile" && (Number.isNaN(p) || p < 0 || p > 1)) annotations.warn(`quantile value should be between 0 and 1, got ${goG(p)}`, pos);
  if (op === "limit_ratio" && p > 1) annotations.warn(`ratio value should be between -1 and 1, got ${goG(p)}, capping to 1`, pos);
  if (op === "limit_ratio" && p < -1) annotations.warn(`ratio value should be between -1 and 1, got ${goG(p)}, capping to -1`, pos);
}

/**
 * limitk: the first k series of the group, in the order Prometheus holds its input (series sorted by
 * label set), values untouched.
 */
export function limitK(members: InstantSample[], p: number): InstantSample[] {
  const k = kParam(p);
  if (k < 1) return [];
  return [...members].sort((a, b) => compareLabelSets(a.labels, b.labels)).slice(0, k);
}

const encoder = new TextEncoder();
const sampleOffsets = new WeakMap<Labels, number>();

/** A length as Prometheus' label encoding writes it: one byte below 255, else 255 and 3 bytes little-endian. */
function pushSize(out: number[], n: number): void {
  if (n < 255) out.push(n);
  else out.push(255, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff);
}

/**
 * Where a series falls in [0, 1): its labels' hash divided by 2^64. Prometheus 3 (stringlabels, its default
 * build) hashes the encoded label set with xxHash64: for every label in name order, the name's length, the
 * name, the value's length, the value. A series' place never changes between queries, so limit_ratio(r) and
 * limit_ratio(-(1 - r)) split the series into two disjoint sets that together are all.
 */
export function sampleOffset(labels: Labels): number {
  let off = sampleOffsets.get(labels);
  if (off === undefined) {
    const bytes: number[] = [];
    for (const name of Object.keys(labels).sort()) {
      for (const text of [name, labels[name]!]) {
        const encoded = encoder.encode(text);
        pushSize(bytes, encoded.length);
        for (const b of encoded) bytes.push(b);
      }
    }
    off = Number(xxhash64(Uint8Array.from(bytes))) / 2 ** 64;
    sampleOffsets.set(labels, off);
  }
  return off;
}

/** limit_ratio: r ≥ 0 keeps series with offset < r; r < 0 keeps those with offset ≥ 1 + r (|r| capped at 1). */
export function limitRatio(members: InstantSample[], p: number): InstantSample[] {
  if (Number.isNaN(p)) throw new PromgateError("unprocessable", "Ratio value is NaN");
  const r = Math.max(-1, Math.min(1, p));
  if (r === 0) return [];
  return members.filter((s) => {
    const off = sampleOffset(s.labels);
    return r >= 0 ? off < r : off >= 1 + r;
  });
}
