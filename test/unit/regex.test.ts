import { describe, expect, it } from "vitest";
import { PromgateError } from "../../src/errors.js";
import { MAX_REGEX_LENGTH, matchersToQuery } from "../../src/query/esquery.js";
import { compileMatcher, type Matcher } from "../../src/query/matchers.js";
import { matchesAll } from "../../src/query/matchers.js";
import type { SampleSource } from "../../src/query/promql/engine.js";
import { parsePromQL } from "../../src/query/promql/parse.js";
import { instantQuery } from "../../src/query/promql/query.js";
import { literalAlternation } from "../../src/query/regex/literals.js";
import { RE2JS } from "re2js";
import { compileRe2, DFA_BYTES, dfaOf, labelRegex, RegexError, replaceRegex } from "../../src/query/regex/re2.js";
import { Lru } from "../../src/util/lru.js";

const m = (type: Matcher["type"], value: string) => compileMatcher({ name: "l", type, value });

// Patterns on which a backtracking engine takes time exponential (or of a high power) in the value's
// length. Each answer is checked; how long they take is measured in bench/regex.ts, not here: a linear-time
// engine answers in milliseconds, JavaScript's RegExp did not answer at all on these sizes.
describe("pathological patterns against long values", () => {
  const a = (n: number) => "a".repeat(n);
  it.each([
    ["(a|aa)*b", a(100_000), false],
    ["(a|aa)*b", `${a(50_000)}b`, true],
    ["(a|aa)*", a(100_000), true],
    ["(x+x+)+y", "x".repeat(100_000), false],
    ["(x+x+)+y", `${"x".repeat(10_000)}y`, true],
    ["(a*)*b", a(100_000), false],
    ["(a|a?)+b", a(50_000), false],
    ["(.*a){12}", `${a(20_000)}b`, false],
    ["(.*a){12}", a(20_000), true],
    ["(\\w+\\s?)*$x", `${"word ".repeat(20_000)}!`, false],
    ["((ab)*|a)*c", "ab".repeat(50_000), false],
  ])("%s on %d characters", (pattern, value, want) => {
    expect(m("=~", pattern).matches(value)).toBe(want);
    expect(m("!~", pattern).matches(value)).toBe(!want);
  });

  it("label_replace with such a pattern answers too", () => {
    const re = replaceRegex("(a|aa)*(b?)");
    expect(re.exec(`${a(50_000)}c`)).toBeNull();
    expect(re.exec(`${a(50_000)}b`)?.[2]).toBe("b");
  });

  it("PromQL selectors and label_replace with such patterns answer", async () => {
    const series = [{ labels: { __name__: "x", src: `${a(30_000)}!` }, ts: [0], vs: [1], stale: new Set<number>() }];
    const source: SampleSource = { select: async (ms) => series.filter((s) => matchesAll(s.labels, ms)) };
    const run = async (q: string) => (await instantQuery(parsePromQL(q), 1000, source)).data.result as { metric: Record<string, string> }[];
    expect(await run('x{src=~"(a|aa)*b"}')).toEqual([]);
    expect(await run('x{src!~"(a|aa)*b"}')).toHaveLength(1);
    const [r] = await run('label_replace(x, "dst", "$2", "src", "(a|aa)*(!)")');
    expect(r!.metric.dst).toBe("!");
  });
});

describe("memory", () => {
  it("caps the DFA re2js keeps with each compiled pattern, and still answers right past the cap", () => {
    const pattern = "(?:a|b)*a(?:a|b){20}"; // a DFA of up to 2^21 states
    const re = compileRe2(pattern, RE2JS.DOTALL);
    const oracle = new RegExp(`^(?:${pattern})$`, "s");
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 100; i++) {
      const v = Array.from({ length: 4000 }, () => (random() < 0.5 ? "a" : "b")).join("");
      expect(re.testExact(v)).toBe(oracle.test(v));
    }
    const dfa = dfaOf(re);
    expect(dfa?.stateBudget).toBe(DFA_BYTES);
    expect(dfa!.memBudget).toBeGreaterThanOrEqual(0);
    expect(dfa!.memBudget).toBeLessThanOrEqual(DFA_BYTES);
  });
});

describe("RE2 semantics as Prometheus compiles a matcher", () => {
  it.each([
    ["a.b", "a\nb", true], // (?s): `.` matches a newline
    ["(?-s:a.b)", "a\nb", false],
    ["a$", "a\n", false], // `$` is the end of the text only
    ["(?m)a$", "a\n", false], // anchored as a whole
    ["\\Qa.b\\E", "a.b", true],
    ["\\Qa.b\\E", "axb", false],
    ["[[:alpha:]]+", "abc", true],
    ["\\pL+", "\u00e9t\u00e9", true],
    ["\\x{1F600}", "\u{1F600}", true],
    [".", "\u{1F600}", true], // one code point, not two UTF-16 units
    ["(?U)a+", "aaa", true],
    ["a{2", "a{2", true], // an incomplete repeat is literal text in RE2
    ["x*", "", true],
  ])("%j against %j → %s", (pattern, value, want) => {
    expect(m("=~", pattern).matches(value)).toBe(want);
  });

  it("parses the pattern alone, as Prometheus does: a stray parenthesis cannot close the anchoring group", () => {
    expect(() => m("=~", "a)|(b")).toThrow(PromgateError);
    expect(() => labelRegex("a)|(b")).toThrow("error parsing regexp: unexpected ): `a)|(b`");
  });

  it.each([
    ["(", "missing closing ): `(`"],
    ["a**", "invalid nested repetition operator: `**`"],
    ["x{1001}", "invalid repeat count: `{1001}`"],
    ["[z-a]", "invalid character class range: `z-a`"],
    ["(?=a)", "invalid or unsupported Perl syntax: `(?=`"],
    ["\\8", "invalid escape sequence: `\\8`"],
  ])("refuses %j with Go's words", (pattern, why) => {
    expect(() => labelRegex(pattern)).toThrow(new RegexError(`error parsing regexp: ${why}`));
    expect(() => m("=~", pattern)).toThrow(`invalid regular expression: error parsing regexp: ${why}`);
  });

  it("compiles a pattern once", () => {
    expect(labelRegex("cached|pattern")).toBe(labelRegex("cached|pattern"));
    expect(labelRegex("cached.*")).toBe(labelRegex("cached.*"));
  });
});

describe("lists of literal strings", () => {
  it.each([
    ["a|b|c", ["a", "b", "c"], false],
    ["(a|b)", ["a", "b"], false],
    ["(?:a|b)", ["a", "b"], false],
    ["10\\.0\\.0\\.1:9100|web\\-1", ["10.0.0.1:9100", "web-1"], false],
    ["a||b|", ["a", "", "b", ""], false],
    ["", [""], false],
    ["plain", ["plain"], false],
    ["(?i)Api|WEB", ["Api", "WEB"], true],
    ["(?i)(a|b)", ["a", "b"], true],
    ["x\\_y\\ z\\/", ["x_y z/"], false],
    ["h\u00f6st|\u{1F600}", ["h\u00f6st", "\u{1F600}"], false],
  ])("%j is the list %j", (pattern, values, caseInsensitive) => {
    expect(literalAlternation(pattern)).toEqual({ values, caseInsensitive });
  });

  it.each(["a.b", "a|b.*", "(a)|(b)", "(a|b)c", "a\\d", "a\\Qb", "^a|b", "a]", "a{2}", "(?i:a|b)", "((?i)a|b)", "(a|b", "(?s)a|b"])(
    "%j is no list of literals",
    (pattern) => {
      expect(literalAlternation(pattern)).toBeUndefined();
    },
  );

  it("matches a list exactly as the regex does", () => {
    for (const pattern of ["a|b\\.c|", "(x|y)", "(?i)ab|K", "10\\.0\\.0\\.1"]) {
      const engine = labelRegex(`(?:${pattern})`.replace("(?:(?i)", "(?i)(?:"));
      const list = labelRegex(pattern);
      for (const v of ["", "a", "b.c", "bxc", "x", "y", "xy", "AB", "k", "\u212a", "10.0.0.1", "10x0.0.1"]) {
        expect(list.test(v), `${pattern} ~ ${JSON.stringify(v)}`).toBe(engine.test(v));
      }
    }
  });
});

describe("regex matchers as Elasticsearch queries", () => {
  const hosts = (n: number) => Array.from({ length: n }, (_, i) => `host-${i}.example.com:9100`);
  const escaped = (vs: string[]) => vs.map((v) => v.replace(/[.]/g, "\\.")).join("|");
  const regexps = (q: unknown): string[] => {
    const out: string[] = [];
    JSON.stringify(q, (k, v) => {
      if (k === "regexp") out.push(...Object.values(v as Record<string, { value: string }>).map((r) => r.value));
      return v;
    });
    return out;
  };

  it("turns a list of 5,000 literals into one terms query, exactly", () => {
    const q = matchersToQuery([m("=~", `(${escaped(hosts(5000))})`)]);
    expect(q).toEqual({ filter: [{ terms: { "labels.l": hosts(5000) } }], mustNot: [], exact: true });
  });

  it("excludes a list with must_not; series without the label match as the empty string does", () => {
    expect(matchersToQuery([m("!~", "a|b\\.c")])).toEqual({ filter: [], mustNot: [{ terms: { "labels.l": ["a", "b.c"] } }], exact: true });
    expect(matchersToQuery([m("!~", "a||b")])).toEqual({
      filter: [{ exists: { field: "labels.l" } }],
      mustNot: [{ terms: { "labels.l": ["a", "b"] } }],
      exact: true,
    });
    expect(matchersToQuery([m("=~", "a|")]).filter).toEqual([
      { bool: { should: [{ terms: { "labels.l": ["a"] } }, { bool: { must_not: { exists: { field: "labels.l" } } } }], minimum_should_match: 1 } },
    ]);
  });

  it("splits a case-insensitive list into regexps under Elasticsearch's length limit", () => {
    const q = matchersToQuery([m("=~", `(?i)(${escaped(hosts(500))})`)]);
    expect(q.exact).toBe(true);
    const parts = regexps(q);
    expect(parts.length).toBeGreaterThan(10);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(MAX_REGEX_LENGTH);
    // Every host is in exactly one part, quoted for Lucene.
    const all = parts.flatMap((p) => p.split("|")).map((p) => p.replace(/\[sS\u017f\]/g, "s").replace(/\\(.)/g, "$1"));
    expect(all).toEqual(hosts(500));
    expect(JSON.stringify(q)).toContain('"case_insensitive":true');
  });

  it("spells out k ~ K ~ KELVIN SIGN and s ~ S ~ LONG S, which Elasticsearch 8's case_insensitive does not fold", () => {
    // Elasticsearch 8.19 (Lucene 9) missed "\u212aelvin" for (?i)kelvin; 9.x folds it itself.
    expect(regexps(matchersToQuery([m("=~", "(?i)kelvin|Mass")]))).toEqual(["[kK\u212a]elvin|Ma[sS\u017f][sS\u017f]"]);
    expect(regexps(matchersToQuery([m("=~", "(?i)(ok|yes)+")]))).toEqual(["(o[kK\u212a]|ye[sS\u017f])+"]);
  });

  it("leaves a case-insensitive list of non-ASCII text to promgate (Lucene folds it differently)", () => {
    expect(matchersToQuery([m("=~", "(?i)\u00e9t\u00e9|b")]).exact).toBe(false);
  });

  it("never sends a regexp longer than Elasticsearch's limit: a 2,000-character pattern stays in promgate", () => {
    const long = `(${hosts(80).map((h) => `${h.replace(/\./g, "\\.")}.*`).join("|")})`;
    expect(long.length).toBeGreaterThan(2000);
    const q = matchersToQuery([m("=~", long)]);
    expect(regexps(q)).toEqual([]);
    expect(q).toEqual({ filter: [{ exists: { field: "labels.l" } }], mustNot: [], exact: false });
    expect(matchersToQuery([m("!~", long)])).toEqual({ filter: [], mustNot: [], exact: false });
  });

  it("still sends a short pattern as a regexp, and none when asked not to", () => {
    expect(regexps(matchersToQuery([m("=~", "api-.*")]))).toEqual(["api\\-.*"]);
    const q = matchersToQuery([m("=~", "api-.*"), m("!~", "x|y")], false);
    expect(q).toEqual({ filter: [{ exists: { field: "labels.l" } }], mustNot: [{ terms: { "labels.l": ["x", "y"] } }], exact: false });
  });
});

describe("Lru", () => {
  it("drops the least recently used entry past its count", () => {
    const c = new Lru<string, number>(2, 100);
    c.set("a", 1);
    c.set("b", 2);
    expect(c.get("a")).toBe(1); // a is now the most recent
    c.set("c", 3);
    expect([c.get("a"), c.get("b"), c.get("c")]).toEqual([1, undefined, 3]);
  });

  it("drops entries past its weight, and never keeps one heavier than the whole", () => {
    const c = new Lru<string, number>(10, 10);
    c.set("a", 1, 4);
    c.set("b", 2, 4);
    c.set("c", 3, 4);
    expect([c.get("a"), c.get("b"), c.get("c")]).toEqual([undefined, 2, 3]);
    c.set("huge", 4, 11);
    expect(c.get("huge")).toBeUndefined();
    expect(c.size).toBe(2);
  });
});
