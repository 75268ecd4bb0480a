import { PromgateError } from "../errors.js";
import type { LiteralAlternation } from "./regex/literals.js";
import { type LabelRegex, labelRegex, RegexError } from "./regex/re2.js";

/**
 * Prometheus label matchers with Prometheus 3 semantics: `=`, `!=`, `=~`, `!~`; regexes are RE2, fully
 * anchored, with `.` matching newlines (regex/re2.ts); an empty value matches a missing label (a label with
 * an empty value does not exist in Prometheus). `__name__` is a label like the others.
 */
export type MatchType = "=" | "!=" | "=~" | "!~";

export interface Matcher {
  name: string;
  type: MatchType;
  value: string;
}

export type Labels = Record<string, string>;

/** A matcher with its predicate compiled once. */
export interface CompiledMatcher extends Matcher {
  matches(value: string): boolean;
  /** For =~ / !~ whose pattern is only a list of literal strings: those strings (Elasticsearch `terms`). */
  literals?: LiteralAlternation;
}

export function badData(message: string): PromgateError {
  return new PromgateError("invalid", message);
}

/** The matcher's regex, or a 400 that quotes Go's reason for refusing it. */
function regexOf(m: Matcher): LabelRegex {
  try {
    return labelRegex(m.value);
  } catch (e) {
    if (e instanceof RegexError) throw badData(`invalid regular expression: ${e.message}`);
    throw e;
  }
}

export function compileMatcher(m: Matcher): CompiledMatcher {
  switch (m.type) {
    case "=":
      return { ...m, matches: (v) => v === m.value };
    case "!=":
      return { ...m, matches: (v) => v !== m.value };
    case "=~": {
      const re = regexOf(m);
      return { ...m, ...(re.literals ? { literals: re.literals } : {}), matches: (v) => re.test(v) };
    }
    case "!~": {
      const re = regexOf(m);
      return { ...m, ...(re.literals ? { literals: re.literals } : {}), matches: (v) => !re.test(v) };
    }
  }
}

/** Does the label set (missing label = "") satisfy every matcher? */
export function matchesAll(labels: Labels, matchers: CompiledMatcher[]): boolean {
  for (const m of matchers) if (!m.matches(labels[m.name] ?? "")) return false;
  return true;
}

/** Whether a matcher matches the empty string, i.e. also series without the label. */
export function matchesEmpty(m: CompiledMatcher): boolean {
  return m.matches("");
}

/**
 * Prometheus refuses selectors that would match every series: at least one matcher must not match the
 * empty string.
 */
export function requireNonEmptyMatcher(matchers: CompiledMatcher[], selector: string): void {
  if (!matchers.some((m) => !matchesEmpty(m))) {
    throw badData(`vector selector must contain at least one non-empty matcher: ${selector}`);
  }
}
