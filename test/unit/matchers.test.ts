import { describe, expect, it } from "vitest";
import { PromgateError } from "../../src/errors.js";
import { matchersToQuery, re2ToLucene } from "../../src/query/esquery.js";
import { compileMatcher, matchesAll, type Matcher } from "../../src/query/matchers.js";
import { parseSelector, unquote } from "../../src/query/selector.js";

const m = (name: string, type: Matcher["type"], value: string) => compileMatcher({ name, type, value });

describe("matchers (Prometheus 3 semantics)", () => {
  it.each([
    ["=~", ".*", "", true],
    ["=~", "a.*", "", false],
    ["=~", "a.*", "abc", true],
    ["=~", "b", "abc", false], // anchored: no substring match
    ["=~", "a|b", "b", true],
    ["=~", "a|b", "ab", false],
    ["=~", ".+", "", false],
    ["=~", "a.c", "a\nc", true], // `.` matches newline in Prometheus 3
    ["=~", "(?i)abc", "ABC", true],
    ["=~", "[0-9]+", "123", true],
    ["=~", "\\d{2}", "12", true],
    ["=~", "(?P<x>a)b", "ab", true],
    ["!~", ".*", "", false],
    ["!~", "a.*", "", true],
    ["!~", "a.*", "b", true],
    ["=", "", "", true],
    ["!=", "", "", false],
    ["=", "x", "X", false],
  ] as const)("%s %j against %j → %s", (type, value, input, want) => {
    expect(m("l", type, value).matches(input)).toBe(want);
  });

  it("treats a missing label as the empty string", () => {
    expect(matchesAll({ a: "1" }, [m("b", "=", "")])).toBe(true);
    expect(matchesAll({ a: "1" }, [m("b", "=~", ".*")])).toBe(true);
    expect(matchesAll({ a: "1" }, [m("b", "!=", "")])).toBe(false);
  });

  it("refuses regexes it cannot evaluate faithfully with a 400", () => {
    // ("a{2" is no longer here: RE2 reads an incomplete repeat as literal text, and Prometheus answers it.)
    // (Inline flags such as "(?U)a" and "a(?i)b" are answered now: matchers-flags.test.ts.)
    for (const bad of ["(", "(?x)a", "(?i-)a"]) {
      expect(() => m("l", "=~", bad)).toThrow(PromgateError);
    }
  });
});

describe("RE2 → Lucene regexp (pushdown only when the meaning is the same)", () => {
  it.each([
    ["abc", "abc"],
    ["a.*", "a.*"],
    ["a|b|c", "a|b|c"],
    ["(?:ab)+", "(ab)+"],
    ["[a-z]{2,3}", "[a-z]{2,3}"],
    ["^api$", "api"],
    ["a-b/c:d", "a\\-b\\/c\\:d"],
    ["\\d+", "[0-9]+"],
    ["10\\.0\\..*", "10\\.0\\..*"],
    ["a~b&c<d>#@", "a\\~b\\&c\\<d\\>\\#\\@"],
  ])("%s → %s", (re2, lucene) => {
    expect(re2ToLucene(re2)?.regexp).toBe(lucene);
  });

  it.each(["a*?", "\\bword", "(?=x)", "[[:alpha:]]", "a^b", "\\pL"])("leaves %s to the post-filter", (re2) => {
    expect(re2ToLucene(re2)).toBeUndefined();
  });

  it("requires the label for !~ only when the matcher rejects the empty value", () => {
    expect(matchersToQuery([m("p", "!~", "/.+")]).filter).toEqual([]);
    expect(matchersToQuery([m("p", "!~", "/.*")]).filter).toEqual([]);
    expect(matchersToQuery([m("p", "!~", "")]).filter).toEqual([{ exists: { field: "labels.p" } }]);
    expect(matchersToQuery([m("p", "!~", ".*")]).filter).toEqual([{ exists: { field: "labels.p" } }]);
  });

  it("builds queries where empty-matching matchers also select series without the label", () => {
    const q = matchersToQuery([m("job", "=~", "a|"), m("env", "!=", ""), m("x", "=", ""), m("y", "=~", "\\bz")]);
    expect(q.exact).toBe(false);
    expect(JSON.stringify(q.filter)).toContain('"must_not":{"exists":{"field":"labels.job"}}');
    expect(q.filter).toContainEqual({ exists: { field: "labels.env" } });
    expect(q.mustNot).toContainEqual({ exists: { field: "labels.x" } });
    expect(q.filter).toContainEqual({ exists: { field: "labels.y" } });
  });
});

describe("series selectors", () => {
  it("parses match[] selectors with Go string escapes", () => {
    expect(parseSelector('up{job="a\\"b", path=~`C:\\x`, env!=\'p\'}')).toEqual([
      { name: "__name__", type: "=", value: "up" },
      { name: "job", type: "=", value: 'a"b' },
      { name: "path", type: "=~", value: "C:\\x" },
      { name: "env", type: "!=", value: "p" },
    ]);
    expect(parseSelector('{"utf8.metric", x!~"y"}')).toEqual([
      { name: "__name__", type: "=", value: "utf8.metric" },
      { name: "x", type: "!~", value: "y" },
    ]);
    expect(unquote('"\\u00e9\\x41\\101\\n"')).toBe("éAA\n");
  });

  it.each(["up{", "sum(up)", "up + 1", "", "up{job=~}"])("rejects %j with a 400", (sel) => {
    expect(() => parseSelector(sel)).toThrow(PromgateError);
  });
});
