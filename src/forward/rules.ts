import type { ForwardRule } from "../config/forward.js";
import { type LabelRegex, labelRegex } from "../query/regex/re2.js";

/**
 * A forwarding rule ready to test series: its label filters compiled as Prometheus compiles `=~` matchers
 * (RE2, anchored at both ends, `.` matching newlines), so a rule reads exactly like a selector would.
 */
export interface CompiledRule {
  readonly rule: ForwardRule;
  /** Whether a series with these labels (any order) passes every filter of the rule. */
  matches(labels: readonly (readonly [string, string])[]): boolean;
}

export function compileRule(rule: ForwardRule): CompiledRule {
  const filters: [string, LabelRegex][] = Object.entries(rule.match).map(([name, pattern]) => [name, labelRegex(pattern)]);
  return {
    rule,
    matches(labels) {
      for (const [name, re] of filters) {
        // A label the series lacks has the empty value, as for a matcher: `env=~"|dev"` takes series without env.
        let value = "";
        for (const [n, v] of labels) {
          if (n === name) {
            value = v;
            break;
          }
        }
        if (!re.test(value)) return false;
      }
      return true;
    },
  };
}

/**
 * The series as forwarded: the rule's extra labels set (replacing the series' own value of that name), sorted
 * by name as remote write requires.
 */
export function withExtraLabels(labels: readonly (readonly [string, string])[], extra: Readonly<Record<string, string>>): [string, string][] {
  const out: [string, string][] = labels.filter(([n]) => !(n in extra)).map(([n, v]) => [n, v]);
  for (const [n, v] of Object.entries(extra)) out.push([n, v]);
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
