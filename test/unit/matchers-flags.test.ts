import { describe, expect, it } from "vitest";
import { PromgateError } from "../../src/errors.js";
import { matchersToQuery, re2ToLucene } from "../../src/query/esquery.js";
import { compileMatcher } from "../../src/query/matchers.js";

// RE2 inline flag groups. Every answer below is Go's regexp package compiling "^(?s:" + pattern + ")$" as
// Prometheus does (checked with a small Go program when the table was written).
describe("RE2 inline flag groups", () => {
  it.each([
    ["(?i:node)", ["node", "NODE", "NoDe"], ["nodex", "n0de"]],
    ["a(?i)bc", ["aBC", "abc"], ["ABC", "AbC"]],
    ["a(?i:b)c", ["aBc", "abc"], ["aBC"]],
    ["(?i)a(?-i)b", ["Ab", "ab"], ["AB"]],
    ["(?i)a(?-i:b)c", ["AbC"], ["ABC"]],
    ["x(?i:[a-z]+)y", ["xAbCy", "xaby", "x\u017fy", "x\u212ay"], ["XABY", "x1y"]],
    ["x(?i:[^a-z])y", ["x1y", "x\ny"], ["xAy", "x\u017fy", "x\u212ay"]],
    ["(?i:[^k])", ["j"], ["K", "\u212a", "k"]],
    ["x(?i:\\w)y", ["xKy", "x\u212ay", "x\u017fy", "x_y"], ["x-y"]],
    ["x(?i:\\W)y", ["x-y"], ["x\u212ay", "x\u017fy", "xay"]],
    ["(?i:[[:upper:]]+)", ["abc", "ABC", "\u017f", "\u212a"], ["1"]],
    ["(?i:[[:^lower:]])", ["1"], ["a", "A", "\u212a", "\u017f"]],
    ["(?i:\\pL)", ["a", "\u00e9"], ["1"]],
    ["(?i:[\\p{Lu}])", ["a", "A", "\u00e9", "\u00c9"], ["1"]],
    ["(?i:\\p{Lu})", ["a", "A"], ["1"]],
    ["(?i:\\PL)", ["1"], ["a"]],
    ["(?i:\u00e9t\u00e9)", ["\u00c9T\u00c9", "\u00e9t\u00e9"], ["ete"]],
    ["(?i:\u03c3)", ["\u03a3", "\u03c2", "\u03c3"], ["s"]],
    ["(?i:stra\u00dfe)", ["STRA\u1e9eE", "Stra\u00dfe"], ["STRASSE", "strasse"]],
    ["(?i:\u0130)", ["\u0130"], ["i", "I", "\u0131"]],
    ["(?i:i)", ["I"], ["\u0131", "\u0130"]],
    ["(?i:\\x41)", ["a", "A"], []],
    ["(?i:\\Qa.b\\E)", ["A.B"], ["axb"]],
    ["(?i:a\\.b)", ["A.B"], ["AxB"]],
    ["(?i:[a\\-z])", ["A", "-", "Z"], ["b"]],
    ["(?i:[]a])", ["]", "A"], []],
    ["(?i:[^]a])", ["b", "B"], ["]", "A"]],
    ["(?i:(a|b)c(?:d(e)))", ["ACDE", "bcde"], ["acd"]],
    ["(?i:a(?-i:b(?i:c)))", ["AbC", "Abc"], ["ABC", "ABc"]],
    ["(?s:a.b)", ["a\nb", "axb"], []],
    ["(?-s:a.b)", ["axb"], ["a\nb"]],
    ["(?-s)a.b", ["a\rb"], ["a\nb"]],
    ["a(?-s:.)b(.)", ["axb\n"], ["a\nbc"]],
    ["(?m)a$", ["a"], ["a\n"]],
    ["(?m:a$\\n^b)", ["a\nb"], []],
    ["(?m:a$)\\n", ["a\n"], []],
    ["(?m:.*^b)", ["a\nb"], ["a\rb", "ab"]],
    ["(?-m:.*^b)", [], ["a\nb"]],
    ["(?U)a+", ["aaa"], []],
    ["(?U:(a+)(a*))", ["aaa"], []],
    ["(?is)A.b", ["a\nB"], []],
    ["(?i-s:a.b)", ["AxB"], ["A\nB"]],
    ["(?im)^A$", ["a"], []],
    ["(?i)[k-m]", ["K", "\u212a", "L"], ["n"]],
    ["(?i)[^k-m]+", ["abc", "ABC"], ["K", "\u212a"]],
    ["(?i)[\\d]", ["1"], ["a"]],
    ["(?i)[\\D]", ["a", "A"], ["1"]],
    ["(?i)[^\\W]", ["\u212a", "a"], ["-"]],
    ["(?i)[a-c\\W]", ["B", "-"], ["\u212a", "d", "D"]],
    ["(?i)[^a-c\\W]", ["\u212a", "d", "D"], ["B", "-"]],
    ["(?i)\u00b5", ["\u03bc", "\u039c", "\u00b5"], ["u"]],
    ["(?i)\u01c5", ["\u01c4", "\u01c6", "\u01c5"], []],
    ["(?i)\\n", ["\n"], ["N"]],
    ["(?i)x{2}", ["xX"], ["xxx"]],
    ["(?i)\\bA\\b", ["a"], []],
    ["(?i:a)*", ["aAa", ""], []],
    ["(?P<n>(?i)a)b", ["Ab"], ["AB"]],
    ["((?i)a)b", ["Ab"], ["AB"]],
    ["(?i)", [""], ["a"]],
    ["(?:(?i))a", ["a"], ["A"]],
    ["(?i-i:a)", ["a"], ["A"]],
    ["(?)a", ["a"], []],
    ["[[:^alpha:]]", ["1"], ["a"]],
    ["(?i:\\x{212A})", ["k", "K"], []],
    ["(?i)[\\x{212A}]", ["k", "K"], []],
  ] as [string, string[], string[]][])("%j", (re, yes, no) => {
    const m = compileMatcher({ name: "l", type: "=~", value: re });
    for (const v of yes) expect(m.matches(v), `${re} ~ ${JSON.stringify(v)}`).toBe(true);
    for (const v of no) expect(m.matches(v), `${re} !~ ${JSON.stringify(v)}`).toBe(false);
  });

  it.each(["(?i-)a", "(?-)a", "(?x)a", "(?=a)a", "(?i"])("refuses %j with a 400 as Go does", (re) => {
    expect(() => compileMatcher({ name: "l", type: "=~", value: re })).toThrow(PromgateError);
  });

  // Each character matches exactly the members of its orbit under Unicode simple case folding.
  it.each([
    ["k", ["K", "k", "\u212a"]], // K k KELVIN SIGN
    ["\u03c3", ["\u03a3", "\u03c2", "\u03c3"]], // Σ ς σ
    ["\u0131", ["\u0131"]], // dotless ı: no simple folding to I
    ["\u00df", ["\u00df", "\u1e9e"]], // ß ẞ (not "SS": a full folding)
    ["1", ["1"]],
    ["\u017f", ["S", "s", "\u017f"]], // S s ſ (ſ maps to S one way only)
    ["\u01c5", ["\u01c4", "\u01c5", "\u01c6"]], // Ǆ ǅ ǆ (a title case in the orbit)
  ])("folds %j with its simple case folding orbit", (c, orbit) => {
    const m = compileMatcher({ name: "l", type: "=~", value: `(?i)${c}` });
    const candidates = new Set([...orbit, "I", "i", "\u0130", "SS", "ss", "K", "S", "s", "\u00e9", "\u03a3"]);
    for (const v of candidates) expect(m.matches(v), `(?i)${c} ~ ${JSON.stringify(v)}`).toBe(orbit.includes(v));
  });

  it("keeps every inline flag but a leading (?i) away from Elasticsearch", () => {
    for (const re of ["(?i:node)", "a(?i)b", "(?-s:a.b)", "(?m)^a", "(?U)a+", "(?s:a)"]) {
      expect(re2ToLucene(re), re).toBeUndefined();
      const q = matchersToQuery([compileMatcher({ name: "l", type: "=~", value: re })]);
      expect(q.exact).toBe(false);
    }
  });

  // Regression: Lucene's case_insensitive does not fold class ranges, so "(?i)[a-z]+" pushed down missed
  // "FOO" (and "!~" with "(?i)[^a-z]+" dropped it), nor non-ASCII orbits such as ǅ ~ Ǆ.
  it.each(["(?i)[a-z]+", "(?i)[^a-z]+", "(?i)\\w+", "(?i)\u01c5", "(?i)\u00e9t\u00e9"])("leaves %j to the post-filter", (re) => {
    expect(re2ToLucene(re)).toBeUndefined();
  });

  it("still pushes a leading (?i) before ASCII text down, folded by Lucene", () => {
    expect(re2ToLucene("(?i)api.*")).toEqual({ regexp: "api.*", caseInsensitive: true });
  });
});
