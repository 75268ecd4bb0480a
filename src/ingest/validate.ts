import type { Limits } from "../config.js";
import type { SeriesView } from "./decode.js";

/**
 * Per-series checks. A failing series is dropped and named in the 400 that follows the stored rest
 * (PRW 1.0: invalid data must get a 4xx so the sender does not retry it).
 *
 * Label and metric names must be Prometheus' classic names: they become Elasticsearch field names
 * (`labels.<name>`, `metrics.<name>`), where a `.` would silently turn into object nesting.
 */

const NAME_LABEL = [0x5f, 0x5f, 0x6e, 0x61, 0x6d, 0x65, 0x5f, 0x5f]; // "__name__"

export type Rejection =
  | "series without __name__ label"
  | "invalid metric name"
  | "empty label name"
  | "invalid label name"
  | "duplicate label name"
  | "too many labels"
  | "label name too long"
  | "label value too long"
  | "label value not valid UTF-8";


/**
 * Byte classes of Prometheus' classic names: 1 = may start a label name, 2 = may follow, 4 = metric names
 * also allow ':'. The document writer checks names with this table while it copies them.
 */
export const NAME_BYTE = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  const letter = (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || b === 0x5f;
  const digit = b >= 0x30 && b <= 0x39;
  NAME_BYTE[b] = (letter ? 1 | 2 | 4 : 0) | (digit ? 2 | 4 : 0) | (b === 0x3a ? 4 : 0);
}

function isNameLabel(buf: Uint8Array, start: number, end: number): boolean {
  if (end - start !== 8) return false;
  for (let i = 0; i < 8; i++) if (buf[start + i] !== NAME_LABEL[i]) return false;
  return true;
}

function compareBytes(buf: Uint8Array, a0: number, a1: number, b0: number, b1: number): number {
  const n = Math.min(a1 - a0, b1 - b0);
  for (let i = 0; i < n; i++) {
    const d = buf[a0 + i]! - buf[b0 + i]!;
    if (d !== 0) return d;
  }
  return a1 - a0 - (b1 - b0);
}

function hasDuplicateName(s: SeriesView): boolean {
  const { buf, pos, count } = s;
  let sorted = true;
  for (let i = 1; i < count && sorted; i++) {
    sorted = compareBytes(buf, pos[4 * i - 4]!, pos[4 * i - 3]!, pos[4 * i]!, pos[4 * i + 1]!) < 0;
  }
  if (sorted) return false; // strictly increasing names cannot repeat (the spec asks senders to sort)
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) {
      if (compareBytes(buf, pos[4 * i]!, pos[4 * i + 1]!, pos[4 * j]!, pos[4 * j + 1]!) === 0) return true;
    }
  }
  return false;
}

/**
 * Returns why the series must be dropped, or the index of its `__name__` label when it passes the checks
 * that need no pass over the bytes. The characters of names are checked by the document writer as it
 * copies them (one pass over the bytes instead of two).
 */
export function validateSeries(s: SeriesView, limits: Limits): Rejection | number {
  const { buf, pos, count } = s;
  if (count > limits.maxLabelsPerSeries) return "too many labels";
  let nameIndex = -1;
  for (let i = 0; i < count; i++) {
    const n0 = pos[4 * i]!;
    const n1 = pos[4 * i + 1]!;
    const v0 = pos[4 * i + 2]!;
    const v1 = pos[4 * i + 3]!;
    if (n0 === n1) return "empty label name";
    if (n1 - n0 > limits.maxLabelNameBytes) return "label name too long";
    if (v1 - v0 > limits.maxLabelValueBytes) return "label value too long";
    if (isNameLabel(buf, n0, n1)) {
      nameIndex = i;
      if (v0 === v1) return "series without __name__ label";
    }
  }
  if (nameIndex < 0) return "series without __name__ label";
  if (hasDuplicateName(s)) return "duplicate label name";
  return nameIndex;
}
