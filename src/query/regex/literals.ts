/**
 * Regexes that are only a list of literal strings — `a|b|c`, what Grafana writes for a multi-value variable,
 * usually as `(a|b|c)` with metacharacters escaped (`10\.0\.0\.1`). Such a matcher is a set lookup: in
 * promgate (as in Prometheus, which does not even parse them) and in Elasticsearch, where a `terms` query
 * has no length limit like `regexp`'s `index.max_regex_length` (1,000 characters by default, about 50 host
 * names).
 */
export interface LiteralAlternation {
  /** The strings matched, in pattern order (the empty string when an alternative is empty). */
  values: string[];
  /** Under `(?i)`: each value matches case-insensitively (RE2's Unicode simple case folding). */
  caseInsensitive: boolean;
}

/** Outside a class, these are RE2 operators; any other character stands for itself. */
const META = new Set(["\\", ".", "+", "*", "?", "(", ")", "|", "[", "]", "{", "}", "^", "$"]);

/** RE2 reads a backslash before an ASCII character that is not a letter or digit as that character. */
const isQuotable = (c: string) => c.charCodeAt(0) < 0x80 && !/[0-9A-Za-z]/.test(c);

/**
 * The literal strings `source` (RE2, anchored as a Prometheus matcher) matches, or undefined when it is
 * anything else. Accepted: an optional leading `(?i)`, at most one group around the whole list (`(…)` or
 * `(?:…)`), alternatives of plain characters and backslash-quoted punctuation. Anything in doubt
 * (`]` or `{` on its own, which RE2 also reads literally) is left to the regex engine, which is always right.
 */
export function literalAlternation(source: string): LiteralAlternation | undefined {
  let s = source;
  let caseInsensitive = false;
  if (s.startsWith("(?i)")) {
    caseInsensitive = true;
    s = s.slice(4);
  }
  const open = s.startsWith("(?:") ? 3 : s.startsWith("(") && s[1] !== "?" ? 1 : 0;
  if (open > 0) {
    // "(a)|(b)" also starts and ends so; its inner ")" fails the scan below.
    if (!s.endsWith(")")) return undefined;
    s = s.slice(open, -1);
  }
  const values: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "|") {
      values.push(cur);
      cur = "";
    } else if (c === "\\") {
      const e = s[i + 1];
      if (e === undefined || !isQuotable(e)) return undefined;
      cur += e;
      i++;
    } else if (META.has(c)) return undefined;
    else cur += c;
  }
  values.push(cur);
  return { values, caseInsensitive };
}
