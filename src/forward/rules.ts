import type { ForwardRule } from "../config/forward.js";
import { type LabelRegex, labelRegex } from "../query/regex/re2.js";

/**
 * A forwarding rule ready to test series: its label filters compiled as Prometheus compiles `=~` matchers
 * (RE2, anchored at both ends, `.` matching newlines), so a rule reads exactly like a selector would.
 */
export interface CompiledRule {
  readonly rule: ForwardRule;
  /** The label names the filters read. */
  readonly names: readonly string[];
  /**
   * Whether a series passes every filter; `valueOf` gives a label's value, "" when the series lacks it (as
   * for a matcher: `env=~"|dev"` takes series without env).
   */
  matches(valueOf: (name: string) => string): boolean;
  /** The rule's extra labels as UTF-8 bytes, sorted by name. */
  readonly extraLabels: readonly LabelBytes[];
}

/** A label as the bytes of its name and value (views into the request, or the rule's own). */
export type LabelBytes = readonly [name: Uint8Array, value: Uint8Array];

const enc = new TextEncoder();

export function compileRule(rule: ForwardRule): CompiledRule {
  const filters: [string, LabelRegex][] = Object.entries(rule.match).map(([name, pattern]) => [name, labelRegex(pattern)]);
  const extra = Object.entries(rule.extraLabels)
    .map(([n, v]): LabelBytes => [enc.encode(n), enc.encode(v)])
    .sort(([a], [b]) => compareBytes(a, b));
  return {
    rule,
    names: filters.map(([n]) => n),
    extraLabels: extra,
    matches(valueOf) {
      for (const [name, re] of filters) if (!re.test(valueOf(name))) return false;
      return true;
    },
  };
}

/** Byte order of UTF-8: the order of Go's strings, hence of Prometheus' label sets. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The series as forwarded: the extra labels set (replacing the series' own value of that name), sorted by
 * name as remote write requires. `extra` is sorted (compileRule).
 */
export function withExtraLabels(labels: readonly LabelBytes[], extra: readonly LabelBytes[]): LabelBytes[] {
  if (extra.length === 0) return labels as LabelBytes[];
  const out: LabelBytes[] = labels.filter(([n]) => !extra.some(([e]) => equalBytes(n, e)));
  out.push(...extra);
  return out.sort(([a], [b]) => compareBytes(a, b));
}
