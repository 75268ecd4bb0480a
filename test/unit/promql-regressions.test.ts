import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { type CompiledMatcher, compileMatcher, matchesAll } from "../../src/query/matchers.js";
import { re2ToLucene } from "../../src/query/esquery.js";
import { readMetadata } from "../../src/query/metadata.js";
import type { SampleSource, SeriesData } from "../../src/query/promql/engine.js";
import { parsePromQL } from "../../src/query/promql/parse.js";
import { instantQuery, rangeQuery } from "../../src/query/promql/query.js";

/**
 * Regressions found by the differential e2e (test/e2e/differential.test.ts: Prometheus 3 and promgate on
 * the same node_exporter data). Each case names the query that differed and what Prometheus 3 answers.
 * (Mostly PromQL; the API answers the e2e compares byte for byte are here too.)
 */

/** One series `name{labels}` with a sample every `everyMs` from 0 to `untilMs`, value = f(t in ms). */
function series(labels: Record<string, string>, everyMs: number, untilMs: number, f: (t: number) => number): SeriesData {
  const ts: number[] = [];
  for (let t = 0; t <= untilMs; t += everyMs) ts.push(t);
  return { labels, ts, vs: ts.map(f), stale: new Set() };
}

function source(data: SeriesData[]): SampleSource {
  return {
    async select(matchers: CompiledMatcher[], startMs: number, endMs: number) {
      return data
        .filter((s) => matchesAll(s.labels, matchers))
        .map((s) => {
          const keep = s.ts.flatMap((t, i) => (t >= startMs && t <= endMs ? [i] : []));
          return { labels: s.labels, ts: keep.map((i) => s.ts[i]!), vs: keep.map((i) => s.vs[i]!), stale: new Set<number>() };
        });
    },
  };
}

type Matrix = { metric: Record<string, string>; values: [number, string][] }[];

describe("subqueries without a step in range queries", () => {
  // max_over_time(up[5m:]) over a range query with step 7s: Prometheus 3 steps the subquery on its default
  // evaluation interval (1m), whatever the range query's step; promgate used the query's step, so the answer
  // started at the first sample instead of the first whole minute after it, and its values differed.
  it("steps on the default evaluation interval (1m), not the query's step", async () => {
    const src = source([series({ __name__: "x" }, 2_000, 300_000, (t) => t / 1000)]);
    const r = (await rangeQuery(parsePromQL("max_over_time(x[2m:])"), 30_000, 130_000, 7_000, src)).data.result as Matrix;
    // Subquery points at 0 s, 60 s, 120 s (multiples of 1m) within (t − 2m, t]: the max is the last whole minute.
    expect(r[0]!.values.map(([t, v]) => `${t}=${v}`)).toEqual(
      [30, 37, 44, 51, 58, 65, 72, 79, 86, 93, 100, 107, 114, 121, 128].map((t) => `${t}=${Math.floor(t / 60) * 60}`),
    );
  });
});

describe("/api/v1/metadata entries", () => {
  // Prometheus writes each entry as {"type","unit","help"}; promgate wrote help before unit, so the e2e's
  // byte comparison of Grafana's metric browser request failed.
  it("list their fields in Prometheus' order: type, unit, help", async () => {
    const config = loadConfig({ ES_URL: "http://127.0.0.1:9", ES_USERNAME: "elastic", ES_PASSWORD: "x", PROMGATE_AUTH: "none" });
    const hit = { _source: { metric_family_name: "node_cpu_seconds_total", type: "counter", help: "Seconds.", unit: "" }, sort: [1] };
    const fetchFn = async () => new Response(JSON.stringify({ hits: { hits: [hit] } }), { headers: { "content-type": "application/json" } });
    const scope = { indices: "metrics-*.prometheus-*", filter: { match_all: {} }, routePatterns: undefined, tenantPatterns: ["metrics-*.prometheus-*"] };
    const out = await readMetadata(config, fetchFn, scope, undefined, undefined, undefined);
    expect(JSON.stringify(out)).toBe('{"node_cpu_seconds_total":[{"type":"counter","unit":"","help":"Seconds."}]}');
  });
});

describe("topk / bottomk among equal values", () => {
  // topk(10, count by (__name__) ({__name__=~".+"})) — a cardinality panel, full of ties — kept other series
  // than Prometheus 3, which feeds a k-heap in input order where promgate took the first k of a stable sort.
  // Expected answers are Prometheus 3.5's (scripts/conformance-reference.sh, series created in label order).
  const src = source(["a", "b", "c", "d", "e"].map((id, i) => series({ __name__: "x", id }, 15_000, 15_000, () => [1, 1, 1, 2, 0][i]!)));
  const ids = async (q: string) => {
    const r = (await instantQuery(parsePromQL(q), 15_000, src)).data.result as { metric: Record<string, string>; value: [number, string] }[];
    return r.map((s) => `${s.metric.id}=${s.value[1]}`);
  };

  it("keeps the series Prometheus' heap keeps, in its order", async () => {
    expect(await ids("topk(2, x)")).toEqual(["d=2", "b=1"]);
    expect(await ids("topk(3, x)")).toEqual(["d=2", "b=1", "c=1"]);
    expect(await ids("bottomk(2, x)")).toEqual(["e=0", "b=1"]);
  });
});

describe("label order in answers", () => {
  // label_replace(node_uname_info, "host", …) answered {…, "version": …, "host": …}: Prometheus writes every
  // label set in name order, and clients that print the object as given (legends) showed another order.
  const src = source([series({ __name__: "x", mode: "user", instance: "a:1" }, 15_000, 15_000, () => 1)]);
  const keys = (r: unknown) => (r as { metric: Record<string, string> }[]).map((s) => Object.keys(s.metric).join(","));

  it("is by name, for instant and range queries", async () => {
    for (const [q, want] of [
      [`label_replace(x, "host", "$1", "instance", "(.*):.*")`, "__name__,host,instance,mode"],
      ["sum by (mode, instance) (x)", "instance,mode"],
      [`count_values("a", x)`, "a"],
    ] as const) {
      expect(keys((await instantQuery(parsePromQL(q), 15_000, src)).data.result), q).toEqual([want]);
      expect(keys((await rangeQuery(parsePromQL(q), 0, 15_000, 15_000, src)).data.result), q).toEqual([want]);
    }
  });
});

describe("regex matchers with an empty alternative", () => {
  // up{job=~"node|"} (Grafana's "value or no label" idiom) failed: Lucene's regexp has no empty alternative —
  // "node|" is a parse error (ES 400) and "|node" or "node||prometheus" silently matched less than RE2 does.
  // An empty alternative becomes the empty group "()", which Lucene reads as the empty string.
  it.each([
    ["node|", "node|()"],
    ["|node", "()|node"],
    ["node||prometheus", "node|()|prometheus"],
    ["no(de|)", "no(de|())"],
    ["(|a)b", "(()|a)b"],
    ["a|(?:)", "a|()"],
  ])("%s → %s", (re2, lucene) => {
    expect(re2ToLucene(re2)?.regexp).toBe(lucene);
  });
});

describe("POSIX classes in regex matchers", () => {
  // node_uname_info{nodename=~"[[:alpha:]]+"} is valid RE2 (Prometheus answers it); promgate refused it as a
  // parse error, since JavaScript has no [:alpha:] inside a class.
  it.each([
    ["[[:alpha:]]+", ["vm", "Node"], ["v1", ""]],
    ["[[:digit:]_]+", ["0_1"], ["a"]],
    ["[^[:space:]]+", ["a-b"], ["a b"]],
    ["[[:upper:][:digit:]]", ["A", "7"], ["a"]],
    ["[[:punct:]]", ["#", "@", "-", "~"], ["a", " "]],
    ["[[:xdigit:]]+", ["fF09"], ["g"]],
    ["[:alpha:]+", [":ap"], ["b"]], // outside a class: the characters : a l p h
  ])("%s", (re, yes, no) => {
    const m = compileMatcher({ name: "l", type: "=~", value: re });
    for (const v of yes) expect(m.matches(v), `${re} ~ ${JSON.stringify(v)}`).toBe(true);
    for (const v of no) expect(m.matches(v), `${re} !~ ${JSON.stringify(v)}`).toBe(false);
  });

  it("negated ([:^alpha:]) matches everything else; an unknown name is refused", () => {
    const m = compileMatcher({ name: "l", type: "=~", value: "[[:^alpha:]]" });
    expect([m.matches("1"), m.matches("é"), m.matches("a")]).toEqual([true, true, false]);
    expect(() => compileMatcher({ name: "l", type: "=~", value: "[[:nope:]]" })).toThrow(/invalid character class range/);
  });
});

describe("RE2 spellings JavaScript or Lucene read differently", () => {
  // Each of these is valid RE2 that Prometheus answers; promgate refused it (JavaScript: "[]" is an empty
  // class, a lone "{" an error; no \Q…\E, no (?s:…)) or Elasticsearch refused it ("[o-]" in Lucene).
  it.each([
    ["n[]o]de", ["n]de", "node"], ["nxde"]],
    ["n[^]x]de", ["node"], ["n]de", "nxde"]],
    ["node{,2}", ["node{,2}"], ["node", "nodee"]],
    ["a{1}}", ["a}"], ["a"]],
    ["\\Qa.b*\\E+", ["a.b*", "a.b**"], ["axbb"]],
    ["(?s:n.de)", ["node", "n\nde"], ["nde"]],
    ["n[o-]de", ["node", "n-de"], ["nxde"]],
    ["\\p{L}ode{1}", ["node", "éode"], ["1ode"]], // (the braces of \p{…} are no literal)
    ["\\x{41}[\\x{42}-\\x{44}]+\\x{1F600}", ["ABD😀"], ["aBD😀", "AE😀"]], // (JavaScript spells it \u{…})
  ])("%s", (re, yes, no) => {
    const m = compileMatcher({ name: "l", type: "=~", value: re });
    for (const v of yes) expect(m.matches(v), `${re} ~ ${JSON.stringify(v)}`).toBe(true);
    for (const v of no) expect(m.matches(v), `${re} !~ ${JSON.stringify(v)}`).toBe(false);
  });

  it("escapes a '-' that is no range inside a class for Lucene", () => {
    expect(re2ToLucene("n[o-]de")?.regexp).toBe("n[o\\-]de");
    expect(re2ToLucene("n[-o]de")?.regexp).toBe("n[\\-o]de");
    expect(re2ToLucene("n[^-o]de")?.regexp).toBe("n[^\\-o]de");
    expect(re2ToLucene("n[a-c]de")?.regexp).toBe("n[a-c]de");
  });
});
