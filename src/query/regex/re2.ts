import { RE2JS, RE2JSException, RE2JSSyntaxException } from "re2js";
import { Lru } from "../../util/lru.js";
import { type LiteralAlternation, literalAlternation } from "./literals.js";

/**
 * User-supplied regexes (label matchers, label_replace) are RE2, evaluated with re2js: a pure-JavaScript
 * port of Go's regexp (no eval, no WebAssembly, so it runs in workerd as everywhere else) that matches in
 * time linear in the input whatever the pattern. JavaScript's own RegExp backtracks: `(a|aa)*b` against a
 * long label value takes exponential time, and a match is synchronous — it would hold the whole process
 * or Workers isolate, beyond any query timeout. re2js reads Go's syntax with Go's meaning (inline flag
 * groups, Unicode case folding, `\pL`, `[[:alpha:]]`, `\Q…\E`, repeat limits) and reports Go's error texts,
 * so patterns go to it unchanged.
 */

/** A pattern Go's regexp refuses; the message is Go's: "error parsing regexp: <what>: `<where>`". */
export class RegexError extends Error {}

/** A Prometheus label matcher's regex. */
export interface LabelRegex {
  /** Whether the whole value matches. */
  test(value: string): boolean;
  /** Set when the pattern is only a list of literal strings. */
  literals?: LiteralAlternation;
}

/**
 * Compiled patterns, kept across requests (dashboards send the same ones again and again): compiling costs
 * 50–200 µs for a typical matcher, milliseconds for long alternations. Bounded in entries and in pattern
 * text, and each pattern's DFA is capped (DFA_BYTES), so the cache holds at most some tens of MB.
 */
const matchers = new Lru<string, LabelRegex>(128, 1 << 20);
const replacers = new Lru<string, Replacer>(32, 1 << 18);

/**
 * re2js builds each pattern's DFA lazily and keeps it with the pattern, up to 8 MB by its own estimate
 * (measured: ~1.2× that in heap) — a typical matcher needs a few KB, but crafted patterns and values reach
 * the limit, and a cache of such patterns would hold gigabytes. Past the cap re2js clears that DFA and goes
 * on, or falls back to its NFA: still linear time, only slower on such patterns.
 */
export const DFA_BYTES = 256 * 1024;

interface DfaBudget {
  memBudget: number;
  stateBudget: number;
}

/** re2js' DFA of a pattern (internals of the pinned version; undefined if they are not as expected). */
export function dfaOf(re: RE2JS): DfaBudget | undefined {
  const dfa = (re as unknown as { re2Input?: { dfa?: Partial<DfaBudget> } }).re2Input?.dfa;
  return typeof dfa?.memBudget === "number" && typeof dfa.stateBudget === "number" ? (dfa as DfaBudget) : undefined;
}

function capDfa(re: RE2JS): RE2JS {
  const dfa = dfaOf(re);
  if (dfa) dfa.memBudget = dfa.stateBudget = DFA_BYTES;
  return re;
}

/** Keyed by the pattern itself: a derived key would be a new string to hash on every lookup. */
function cached<T>(cache: Lru<string, T>, source: string, make: () => T): T {
  const hit = cache.get(source);
  if (hit) return hit;
  const made = make();
  cache.set(source, made, source.length);
  return made;
}

/** re2js' compile with its DFA capped and its exceptions as RegexError, naming the pattern as Go would. */
export function compileRe2(pattern: string, flags: number): RE2JS {
  try {
    return capDfa(RE2JS.compile(pattern, flags));
  } catch (e) {
    if (e instanceof RE2JSSyntaxException) {
      // With DOTALL, re2js parses "(?s)" + pattern and may name that text; Go names the pattern.
      const where = e.input === `(?s)${pattern}` ? pattern : e.input;
      throw new RegexError(`error parsing regexp: ${e.error}${where === null ? "" : `: \`${where}\``}`);
    }
    if (e instanceof RE2JSException) throw new RegexError(`error parsing regexp: ${e.message}`);
    throw e;
  }
}

/**
 * A label matcher's regex as Prometheus compiles it (`NewFastRegexMatcher`): the pattern is parsed on its
 * own with `.` matching newlines, then matched against the whole value (`^(?s:…)$`). A list of literal
 * strings is a set lookup, as in Prometheus.
 */
export function labelRegex(source: string): LabelRegex {
  return cached(matchers, source, () => compileLabelRegex(source));
}

/** `labelRegex` without the cache (benchmarks measure compiling with it). */
export function compileLabelRegex(source: string): LabelRegex {
  const literals = literalAlternation(source);
  if (literals && !literals.caseInsensitive) {
    const set = new Set(literals.values);
    return { literals, test: (v: string) => set.has(v) };
  }
  const re = compileRe2(source, RE2JS.DOTALL);
  return { ...(literals ? { literals } : {}), test: (v: string) => re.testExact(v) };
}

/** A match with its groups, as `RegExp.exec` returns one. */
export interface Submatch {
  readonly [group: number]: string | undefined;
  groups?: Record<string, string | undefined>;
}

export interface Replacer {
  exec(value: string): Submatch | null;
}

/**
 * label_replace's regex: Prometheus 3 compiles `^(?s:` + pattern + `)$` as one text (the pattern is not
 * parsed alone first, unlike a matcher's).
 */
export function replaceRegex(source: string): Replacer {
  return cached(replacers, source, () => {
    const re = compileRe2(`^(?s:${source})$`, 0);
    return { exec: (v: string) => re.exec(v) as Submatch | null };
  });
}
