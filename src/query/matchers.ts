import { HttpError } from "../http/errors.js";

/**
 * Prometheus label matchers with Prometheus 3 semantics: `=`, `!=`, `=~`, `!~`; regexes fully anchored and
 * with `.` matching newlines; an empty value matches a missing label (a label with an empty value does not
 * exist in Prometheus). `__name__` is a label like the others.
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
  /** The compiled JS regex for =~ / !~ (anchored), for pushdown decisions and tests. */
  regex?: RegExp;
}

export function badData(message: string): HttpError {
  return new HttpError(400, message);
}

/**
 * RE2 (Go) syntax → JS RegExp. The common subset is identical; we translate the RE2-only spellings
 * Prometheus users write (leading `(?i)`/`(?s)` flags, `(?P<name>`, `\pL`) and refuse what we cannot
 * translate faithfully rather than match differently.
 */
export function re2ToJs(source: string): RegExp {
  let body = source;
  let flags = "su"; // Prometheus 3: `.` matches \n; match by code point like RE2
  const lead = /^\(\?([imsU]+)\)/.exec(body);
  if (lead) {
    for (const f of lead[1]!) {
      if (f === "i" && !flags.includes("i")) flags += "i";
      else if (f === "m" && !flags.includes("m")) flags += "m";
      else if (f === "U") throw badData(`unsupported regex flag (?U) in ${JSON.stringify(source)}`);
    }
    body = body.slice(lead[0].length);
  }
  if (/\(\?[a-zA-Z]*[:)]/.test(body.replace(/\(\?:/g, ""))) {
    throw badData(`unsupported inline regex flags in ${JSON.stringify(source)}`);
  }
  body = body.replace(/\(\?P</g, "(?<").replace(/\\p([A-Z])/g, "\\p{$1}").replace(/\\P([A-Z])/g, "\\P{$1}");
  try {
    return new RegExp(`^(?:${body})$`, flags);
  } catch (e) {
    throw badData(`invalid regular expression ${JSON.stringify(source)}: ${(e as Error).message.replace(/^Invalid regular expression: /, "")}`);
  }
}

export function compileMatcher(m: Matcher): CompiledMatcher {
  switch (m.type) {
    case "=":
      return { ...m, matches: (v) => v === m.value };
    case "!=":
      return { ...m, matches: (v) => v !== m.value };
    case "=~": {
      const regex = re2ToJs(m.value);
      return { ...m, regex, matches: (v) => regex.test(v) };
    }
    case "!~": {
      const regex = re2ToJs(m.value);
      return { ...m, regex, matches: (v) => !regex.test(v) };
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
