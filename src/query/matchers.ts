import { HttpError } from "../http/errors.js";
import { expandInlineFlags } from "./re2flags.js";

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
 * Prometheus users write (inline flag groups `(?i)`, `(?i:…)`, `(?-s)`…, `(?P<name>`, `\pL`) and refuse
 * what we cannot translate faithfully rather than match differently.
 */
export function re2ToJs(source: string): RegExp {
  checkRepeatCounts(source);
  // Inline flag groups (also a leading `(?i)`) become flag-free RE2 text; JavaScript's own flags are never
  // used, their meaning differs in detail (re2flags.ts).
  let body = expandInlineFlags(source, re2ToJs);
  body = re2Spellings(body);
  body = body.replace(/\(\?P</g, "(?<").replace(/\\p([A-Z])/g, "\\p{$1}").replace(/\\P([A-Z])/g, "\\P{$1}");
  try {
    return new RegExp(`^(?:${body})$`, "su"); // Prometheus 3: `.` matches \n; match by code point like RE2
  } catch (e) {
    throw badData(`invalid regular expression ${JSON.stringify(source)}: ${(e as Error).message.replace(/^Invalid regular expression: /, "")}`);
  }
}

/** RE2 refuses counted repetitions above 1000. */
const MAX_REPEAT = 1000;

/**
 * `x{1,32000}` is an error in RE2 (so in Prometheus) but valid in JavaScript, where it costs time that
 * grows with the count on every value tested, and Elasticsearch refuses it when pushed down: refuse it
 * here, as Prometheus does.
 */
function checkRepeatCounts(source: string): void {
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") {
      i++;
    } else if (c === "[") {
      // A class: `]` right after `[` or `[^` is a literal.
      i += source[i + 1] === "^" ? 2 : 1;
      if (source[i] === "]") i++;
      while (i < source.length && source[i] !== "]") i += source[i] === "\\" ? 2 : 1;
    } else if (c === "{") {
      const m = /^\{(\d+)(?:,(\d*))?\}/.exec(source.slice(i, i + 24));
      if (m && (Number(m[1]) > MAX_REPEAT || Number(m[2] || 0) > MAX_REPEAT)) {
        throw badData(`invalid regular expression ${JSON.stringify(source)}: invalid repeat count ${m[0]}`);
      }
    }
  }
}

/** RE2's POSIX classes (`[[:alpha:]]`; ASCII only, as in Go) as code point ranges. */
const POSIX: Record<string, [number, number][]> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};

/** The code points outside `ranges` (sorted, disjoint): `[:^name:]`. */
function complement(ranges: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of ranges) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  return out;
}

const hex = (cp: number) => `\\u{${cp.toString(16)}}`;

/** Characters JavaScript's `u` mode lets (and requires) us to escape outside a class. */
const quote = (text: string) => text.replace(/[\^$\\.*+?()[\]{}|/]/g, "\\$&");

/**
 * RE2 spellings JavaScript reads differently or not at all, rewritten: `[:name:]` / `[:^name:]` inside a
 * bracket expression (explicit ranges), a `]` first in a class (a literal in RE2, an empty class in
 * JavaScript), a `{` or `}` that is no repeat (a literal in RE2, an error in `u` mode), `\Q…\E` (literal
 * text), `\x{…}` (JavaScript's `\u{…}`) and `(?s:` (redundant: `.` already matches newlines). Outside a
 * class RE2 reads `[:alpha:]` as the characters `:alph`, and so does JavaScript: left alone.
 */
function re2Spellings(body: string): string {
  if (!/[[{}]|\\Q|\(\?s:/.test(body)) return body;
  let out = "";
  let classStart = -1; // index of the open "[", or -1 outside a class
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "\\" && body[i + 1] === "Q" && classStart < 0) {
      const end = body.indexOf("\\E", i + 2);
      out += quote(body.slice(i + 2, end < 0 ? body.length : end));
      i = end < 0 ? body.length : end + 1;
      continue;
    }
    if (c === "\\" && body[i + 1] === "x" && body[i + 2] === "{") {
      // \x{1F600}: RE2's code point escape, JavaScript's \u{…} in `u` mode
      const x = /^\\x\{([0-9A-Fa-f]{1,6})\}/.exec(body.slice(i));
      if (!x) throw badData(`invalid escape sequence in ${JSON.stringify(body)}`);
      out += `\\u{${x[1]}}`;
      i += x[0].length - 1;
      continue;
    }
    if (c === "\\") {
      // \p{Greek}: the braces belong to the escape
      const len = /^\\[pP]\{[^}]*\}/.exec(body.slice(i))?.[0].length ?? 2;
      out += body.slice(i, i + len);
      i += len - 1;
      continue;
    }
    if (classStart < 0) {
      const repeat = c === "{" ? /^\{\d+(,\d*)?\}/.exec(body.slice(i)) : null;
      if (repeat) {
        out += repeat[0];
        i += repeat[0].length - 1;
      } else if (c === "{" || c === "}") out += `\\${c}`;
      else if (body.startsWith("(?s:", i)) {
        out += "(?:";
        i += 3;
      } else {
        if (c === "[") classStart = i;
        out += c;
      }
      continue;
    }
    const m = /^\[:(\^?)([a-z]+):\]/.exec(body.slice(i));
    if (m) {
      const ranges = POSIX[m[2]!];
      if (!ranges) throw badData(`invalid character class range: [:${m[1]}${m[2]}:] in ${JSON.stringify(body)}`);
      out += (m[1] ? complement(ranges) : ranges).map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`)).join("");
      i += m[0].length - 1;
      continue;
    }
    // A "]" first in the class ("[]…", "[^]…") is a literal; any other ends the class.
    const first = i === classStart + 1 || (i === classStart + 2 && body[classStart + 1] === "^");
    if (c === "]" && first) out += "\\]";
    else {
      if (c === "]") classStart = -1;
      out += c;
    }
  }
  return out;
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
