import type { ForwardRule } from "../config/forward.js";
import { type LabelRegex, labelRegex } from "../query/regex/re2.js";

/**
 * Labels as byte ranges of one buffer, the way the decoder hands them over: label i has name bytes
 * buf[pos[4i], pos[4i+1]) and value bytes buf[pos[4i+2], pos[4i+3]). Forwarding keeps a series' labels so
 * from the request to the target (no string, no view per label).
 */
export interface LabelRanges {
  buf: Uint8Array;
  pos: Int32Array;
  count: number;
}

/**
 * A forwarding rule ready to test series: its label filters compiled as Prometheus compiles `=~` matchers
 * (RE2, anchored at both ends, `.` matching newlines), so a rule reads exactly like a selector would.
 */
export interface CompiledRule {
  readonly rule: ForwardRule;
  /**
   * Label name and regex of each filter; a series passes when every regex matches its label's value, ""
   * when it lacks the label (as for a matcher: `env=~"|dev"` takes series without env).
   */
  readonly filters: readonly (readonly [string, LabelRegex])[];
  /** The rule's extra labels, sorted by name. */
  readonly extraLabels: LabelRanges;
}

const enc = new TextEncoder();

export function compileRule(rule: ForwardRule): CompiledRule {
  const filters = Object.entries(rule.match).map(([name, pattern]) => [name, labelRegex(pattern)] as const);
  const extra = Object.entries(rule.extraLabels).sort(([a], [b]) => compareBytes(enc.encode(a), enc.encode(b)));
  return { rule, filters, extraLabels: labelRanges(extra) };
}

/** Labels given as strings, as ranges (the rule's extra labels; tests). */
export function labelRanges(labels: readonly (readonly [string, string])[]): LabelRanges {
  const parts = labels.flatMap(([n, v]) => [enc.encode(n), enc.encode(v)]);
  const buf = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  const pos = new Int32Array(parts.length * 2);
  let at = 0;
  parts.forEach((p, i) => {
    buf.set(p, at);
    pos[2 * i] = at;
    pos[2 * i + 1] = at += p.length;
  });
  return { buf, pos, count: labels.length };
}

/** Byte order of UTF-8: the order of Go's strings, hence of Prometheus' label sets. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return compareRanges(a, 0, a.length, b, 0, b.length);
}

export function compareRanges(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number {
  const n = Math.min(ae - as, be - bs);
  for (let i = 0; i < n; i++) if (a[as + i] !== b[bs + i]) return a[as + i]! - b[bs + i]!;
  return ae - as - (be - bs);
}

/**
 * The labels a series is forwarded with, in order: refs ≥ 0 are the series' own labels, refs < 0 the rule's
 * extra label -1 - ref. An extra label replaces the series' own of that name; the result is sorted by name as
 * remote write requires. Senders sort their labels, so this is usually a merge of two sorted lists.
 */
export function forwardedOrder(labels: LabelRanges, extra: LabelRanges, out: number[] = []): number[] {
  out.length = 0;
  const cmp = (x: number, y: number): number => {
    const a = x >= 0 ? labels : extra;
    const b = y >= 0 ? labels : extra;
    const i = x >= 0 ? 4 * x : -4 * (x + 1);
    const k = y >= 0 ? 4 * y : -4 * (y + 1);
    return compareRanges(a.buf, a.pos[i]!, a.pos[i + 1]!, b.buf, b.pos[k]!, b.pos[k + 1]!);
  };
  let sorted = true;
  let prev = -1;
  let j = 0;
  for (let i = 0; i < labels.count; i++) {
    let replaced = false;
    for (let e = 0; e < extra.count && !replaced; e++) replaced = cmp(i, -1 - e) === 0;
    if (replaced) continue;
    if (prev >= 0 && cmp(prev, i) > 0) sorted = false;
    prev = i;
    // Extra labels that sort before this one go first.
    while (sorted && j < extra.count && cmp(-1 - j, i) < 0) out.push(-1 - j++);
    out.push(i);
  }
  while (j < extra.count) out.push(-1 - j++);
  if (!sorted) out.sort(cmp);
  return out;
}
