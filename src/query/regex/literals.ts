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

/** Outside a class, these ASCII characters are RE2 operators; any other character stands for itself. */
const META = new Uint8Array(128);
for (const c of "\\.+*?()|[]{}^$") META[c.charCodeAt(0)] = 1;

/** RE2 reads a backslash before an ASCII character that is not a letter or digit as that character. */
const isQuotable = (code: number) => code < 0x80 && !((code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a));

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
  // One pass; text between operators is copied in slices (a 5,000-host list is ~150,000 characters).
  const values: string[] = [];
  let cur = "";
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code >= 0x80 || META[code] === 0) continue;
    if (code === 0x7c) {
      values.push(cur + s.slice(from, i)); // "|"
      cur = "";
    } else if (code === 0x5c && i + 1 < s.length && isQuotable(s.charCodeAt(i + 1))) {
      cur += s.slice(from, i) + s[i + 1]; // "\\." and the like
      i++;
    } else return undefined;
    from = i + 1;
  }
  values.push(cur + s.slice(from));
  return { values, caseInsensitive };
}
