import { type CompiledMatcher, matchesEmpty } from "./matchers.js";

/**
 * Label matchers → an Elasticsearch bool query over `labels.*`.
 *
 * A regex that is only a list of literal strings (Grafana's multi-value variables) becomes a `terms` query,
 * of any length. Otherwise Elasticsearch's `regexp` is Lucene syntax, not RE2: we translate only a subset
 * whose meaning is provably the same (literals, `.`, classes without RE2-only features, groups,
 * alternation, greedy quantifiers, `\d` `\w` `\s`, a leading `(?i)` before ASCII text without classes;
 * other inline flags never) and only up to Elasticsearch's `index.max_regex_length`; anything else only
 * narrows the query (label must exist, or nothing) and the storage layer post-filters every series with
 * the RE2 matcher itself. Callers that need ES's answer to be exact (aggregations over label values) check
 * `exact`.
 */

export type EsQuery = Record<string, unknown>;

export interface MatcherQuery {
  filter: EsQuery[];
  mustNot: EsQuery[];
  /** True when ES alone selects exactly the series the matchers select. */
  exact: boolean;
}

const field = (name: string) => `labels.${name}`;

/** RE2 source → Lucene regexp source, or undefined when not provably equivalent. */
export function re2ToLucene(source: string): { regexp: string; caseInsensitive: boolean } | undefined {
  let s = source;
  let caseInsensitive = false;
  if (s.startsWith("(?i)")) {
    caseInsensitive = true;
    s = s.slice(4);
    // Lucene's case_insensitive folds single characters only, not class ranges ("[a-z]" misses "FOO",
    // "[^a-z]" takes it), nor the orbits of non-ASCII letters RE2 folds ("ǅ" ~ "Ǆ"): such patterns stay
    // with the post-filter. Its folding of ASCII letters equals RE2's ("k" ~ "K" ~ KELVIN SIGN).
    if (/[[\u0080-\u{10ffff}]|\\w/u.test(s)) return undefined;
  }
  let out = "";
  let depth = 0;
  // Lucene has no empty alternative: "a|" is a parse error, "|a" and "a||b" match less than RE2 does.
  // An empty one is spelled "()" (the empty string); `altStart` says nothing was written since "(" or "|".
  let altStart = true;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const written = out.length;
    if (/[A-Za-z0-9_]/.test(c) || c.charCodeAt(0) > 0x7f) {
      out += caseInsensitive ? foldedLetter(c) : c;
    } else if (c === ".") {
      out += c;
    } else if (c === "|") {
      out += altStart ? "()|" : "|";
    } else if (c === "*" || c === "+" || c === "?") {
      if (s[i + 1] === "?" || s[i + 1] === "+") return undefined; // lazy / possessive
      out += c;
    } else if (c === "(") {
      if (s.startsWith("(?:", i)) i += 2;
      else if (s[i + 1] === "?") return undefined; // named groups, flags, lookarounds
      depth++;
      out += "(";
    } else if (c === ")") {
      if (--depth < 0) return undefined;
      out += altStart && out.endsWith("|") ? "())" : ")";
    } else if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(s.slice(i));
      if (!m || s[i + m[0].length] === "?") return undefined;
      out += m[0];
      i += m[0].length - 1;
    } else if (c === "[") {
      const cls = translateClass(s, i);
      if (!cls) return undefined;
      out += cls.text;
      i = cls.end;
    } else if (c === "\\") {
      const e = s[++i];
      if (e === undefined) return undefined;
      if (e === "d") out += "[0-9]";
      else if (e === "w") out += "[0-9A-Za-z_]";
      else if (e === "s") out += "[\\t\\n\\f\\r ]";
      else if (/[.+*?()|[\]{}^$\\\-/]/.test(e)) out += `\\${e}`;
      else return undefined; // \b, \pL, \x.., \n and other escapes: leave to the post-filter
    } else if (c === "^" && i === 0) {
      // Redundant: Prometheus anchors the whole expression.
    } else if (c === "$" && i === s.length - 1) {
      // Redundant, as above.
    } else if (/[-/:,=@&~<>#"' !%;]/.test(c)) {
      out += `\\${c}`; // literal in RE2; escaped so Lucene cannot read an operator into it
    } else {
      return undefined;
    }
    if (c === "(" || c === "|") altStart = true;
    else if (out.length > written) altStart = false;
  }
  if (altStart && out.endsWith("|")) out += "()";
  return depth === 0 ? { regexp: out, caseInsensitive } : undefined;
}

/** `[...]` at s[start]: plain characters and ranges only (no POSIX classes, no escapes but \\-\\]). */
function translateClass(s: string, start: number): { text: string; end: number } | undefined {
  let i = start + 1;
  let text = "[";
  if (s[i] === "^") {
    text += "^";
    i++;
  }
  let first = true;
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (c === "]" && !first) return { text: `${text}]`, end: i };
    const atStart = first;
    first = false;
    if (c === "[") return undefined;
    if (c === "\\") {
      const e = s[++i];
      if (e === undefined || !/[\]\\\-.^]/.test(e)) return undefined;
      text += `\\${e}`;
    } else if (/[A-Za-z0-9_]/.test(c)) text += c;
    else if (c === "-") {
      // A range only between two characters; first or last it is a literal, which Lucene must see escaped.
      const ranged = !atStart && s[i + 1] !== undefined && s[i + 1] !== "]";
      text += ranged ? "-" : "\\-";
    } else if (c.charCodeAt(0) > 0x7f) text += c;
    else text += `\\${c}`;
  }
  return undefined;
}

/**
 * Elasticsearch's default `index.max_regex_length`: a longer `regexp` fails the whole search (an internal
 * error, where Prometheus answers). Counted in UTF-16 code units, as JavaScript's `length`.
 */
export const MAX_REGEX_LENGTH = 1000;

/** Elasticsearch's default `index.max_terms_count`: values one `terms` query may list. */
export const MAX_TERMS = 65_536;

/** At most this many `regexp` clauses for one case-insensitive list of literals; more stay in promgate. */
const MAX_REGEXP_CLAUSES = 64;

const regexp = (name: string, value: string, caseInsensitive: boolean): EsQuery => ({
  regexp: { [field(name)]: { value, flags: "NONE", ...(caseInsensitive ? { case_insensitive: true } : {}) } },
});

/** Text as a Lucene regexp of itself: a backslash makes any character literal there. */
const luceneQuote = (text: string) => text.replace(/[^0-9A-Za-z_]/g, "\\$&");

/**
 * The ASCII letters whose RE2 case orbit holds a third, non-ASCII member: `k` ~ `K` ~ KELVIN SIGN, `s` ~ `S`
 * ~ LONG S. Lucene 10's `case_insensitive` (Elasticsearch 9) folds them so; Lucene 9's (Elasticsearch 8)
 * only pairs them with their ASCII case. Spelled out as a class, the regexp matches the same values on both.
 */
const THREE_WAY_FOLDS: Record<string, string> = { k: "[kK\u212a]", K: "[kK\u212a]", s: "[sS\u017f]", S: "[sS\u017f]" };
const foldedLetter = (c: string): string => THREE_WAY_FOLDS[c] ?? c;

/** luceneQuote for a `case_insensitive` regexp: with the three-way folds spelled out. */
const luceneQuoteFolded = (text: string) => luceneQuote(text).replace(/[kKsS]/g, foldedLetter);

/**
 * A list of literal strings as one `terms` query (no length limit). The empty string is left out: no stored
 * label has it (the caller handles the missing label).
 */
function termsQuery(name: string, values: string[]): EsQuery | undefined {
  const stored = [...new Set(values)].filter((v) => v !== "");
  if (stored.length === 0) return { match_none: {} };
  return stored.length <= MAX_TERMS ? { terms: { [field(name)]: stored } } : undefined;
}

/**
 * A case-insensitive list of literal strings as `regexp` alternations of at most MAX_REGEX_LENGTH
 * characters each, with `case_insensitive` — whose folding equals RE2's for ASCII text only (`k` ~ KELVIN
 * SIGN, `s` ~ LONG S included; `term`'s own `case_insensitive` lacks those two). Undefined when the list
 * does not fit.
 */
function caseInsensitiveQuery(name: string, values: string[]): EsQuery | undefined {
  const stored = [...new Set(values)].filter((v) => v !== "");
  if (stored.length === 0) return { match_none: {} };
  if (stored.some((v) => /[^\x20-\x7e]/.test(v))) return undefined;
  const clauses: EsQuery[] = [];
  let chunk = "";
  for (const v of stored) {
    const quoted = luceneQuoteFolded(v);
    if (quoted.length > MAX_REGEX_LENGTH) return undefined;
    if (chunk !== "" && chunk.length + 1 + quoted.length > MAX_REGEX_LENGTH) {
      clauses.push(regexp(name, chunk, true));
      chunk = "";
    }
    chunk = chunk === "" ? quoted : `${chunk}|${quoted}`;
  }
  clauses.push(regexp(name, chunk, true));
  if (clauses.length > MAX_REGEXP_CLAUSES) return undefined;
  return clauses.length === 1 ? clauses[0] : { bool: { should: clauses, minimum_should_match: 1 } };
}

/**
 * The query that selects the values a regex matcher's pattern matches, or undefined if none is exact.
 * `pushRegexps` false: only `terms`, no `regexp` (Elasticsearch refused one of the selector's).
 */
function regexQuery(m: CompiledMatcher, pushRegexps: boolean): EsQuery | undefined {
  if (m.literals && !m.literals.caseInsensitive) return termsQuery(m.name, m.literals.values);
  if (!pushRegexps) return undefined;
  if (m.literals) return caseInsensitiveQuery(m.name, m.literals.values);
  const t = re2ToLucene(m.value);
  // Longer than Elasticsearch allows: promgate filters alone rather than have the search refused.
  if (!t || t.regexp.length > MAX_REGEX_LENGTH) return undefined;
  return regexp(m.name, t.regexp, t.caseInsensitive);
}

const exists = (name: string): EsQuery => ({ exists: { field: field(name) } });

/** `pushRegexps` false: no `regexp` clause, those matchers are left to promgate's post-filter. */
export function matchersToQuery(matchers: CompiledMatcher[], pushRegexps = true): MatcherQuery {
  const q: MatcherQuery = { filter: [], mustNot: [], exact: true };
  for (const m of matchers) {
    const empty = matchesEmpty(m);
    switch (m.type) {
      case "=":
        if (m.value === "") q.mustNot.push(exists(m.name));
        else q.filter.push({ term: { [field(m.name)]: m.value } });
        break;
      case "!=":
        if (m.value === "") q.filter.push(exists(m.name));
        else q.mustNot.push({ term: { [field(m.name)]: m.value } });
        break;
      case "=~": {
        const re = regexQuery(m, pushRegexps);
        if (!re) {
          q.exact = false;
          if (!empty) q.filter.push(exists(m.name));
        } else if (empty) {
          q.filter.push({ bool: { should: [re, { bool: { must_not: exists(m.name) } }], minimum_should_match: 1 } });
        } else q.filter.push(re);
        break;
      }
      case "!~": {
        // A series without the label has value "": it is selected only if the matcher accepts "".
        const re = regexQuery(m, pushRegexps);
        if (!empty) q.filter.push(exists(m.name));
        if (re) q.mustNot.push(re);
        else q.exact = false;
        break;
      }
    }
  }
  return q;
}
