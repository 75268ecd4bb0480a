import { describe, expect, it } from "vitest";
import { PromgateError } from "../../src/errors.js";
import { statusOf } from "../../src/http/errors.js";
import { type CompiledMatcher, matchesAll } from "../../src/query/matchers.js";
import type { SampleSource, SeriesData } from "../../src/query/promql/engine.js";
import { parsePromQL } from "../../src/query/promql/parse.js";
import { instantQuery, rangeQuery } from "../../src/query/promql/query.js";
import { formatValue } from "../../src/query/promql/values.js";

/**
 * Engine behaviour on hand-computed cases, in the spirit of Prometheus' promqltest scripts: series loaded
 * at a fixed interval ("_" = no sample, "stale" = staleness marker), then instant queries at given times.
 */

function load(intervalMs: number, spec: Record<string, string>): SampleSource {
  const data: SeriesData[] = Object.entries(spec).map(([sel, values]) => {
    const m = /^(\w+)(?:\{(.*)\})?$/.exec(sel)!;
    const labels: Record<string, string> = { __name__: m[1]! };
    for (const pair of (m[2] ?? "").split(",").filter(Boolean)) {
      const [k, v] = pair.split("=");
      labels[k!.trim()] = v!.trim().replace(/^"|"$/g, "");
    }
    const s: SeriesData = { labels, ts: [], vs: [], stale: new Set() };
    values.split(/\s+/).forEach((v, i) => {
      if (v === "_") return;
      if (v === "stale") s.stale.add(s.ts.length);
      s.ts.push(i * intervalMs);
      s.vs.push(v === "stale" ? Number.NaN : Number(v));
    });
    return s;
  });
  return {
    async select(matchers: CompiledMatcher[], startMs: number, endMs: number) {
      return data
        .filter((s) => matchesAll(s.labels, matchers))
        .map((s) => {
          const keep = s.ts.map((t, i) => [t, i] as const).filter(([t]) => t >= startMs && t <= endMs);
          const stale = new Set<number>();
          keep.forEach(([, i], j) => s.stale.has(i) && stale.add(j));
          return { labels: s.labels, ts: keep.map(([t]) => t), vs: keep.map(([, i]) => s.vs[i]!), stale };
        })
        .filter((s) => s.ts.length > 0);
    },
  };
}

async function at(source: SampleSource, query: string, seconds: number) {
  const r = (await instantQuery(parsePromQL(query), seconds * 1000, source)).data;
  if (r.resultType !== "vector") return r.result;
  return (r.result as { metric: Record<string, string>; value: [number, string] }[])
    .map((s) => `${JSON.stringify(s.metric)} ${s.value[1]}`)
    .sort();
}

const S = 15_000;

describe("selectors: lookback, staleness, offset, @", () => {
  const src = load(S, { 'x{a="1"}': "1 2 _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ 9", 'y{a="1"}': "5 stale 7" });

  it("uses the last sample within the left-open 5 m lookback", async () => {
    expect(await at(src, "x", 15)).toEqual(['{"__name__":"x","a":"1"} 2']);
    expect(await at(src, "x", 15 + 299.999)).toEqual(['{"__name__":"x","a":"1"} 2']);
    expect(await at(src, "x", 15 + 300)).toEqual([]);
  });

  it("ends a series at its staleness marker at once", async () => {
    expect(await at(src, "y", 10)).toEqual(['{"__name__":"y","a":"1"} 5']);
    expect(await at(src, "y", 20)).toEqual([]);
    expect(await at(src, "y", 31)).toEqual(['{"__name__":"y","a":"1"} 7']);
  });

  it("binds offset and @ to the right-most operand, as Prometheus does", async () => {
    expect(await at(src, "x - x offset 15s", 15)).toEqual(['{"a":"1"} 1']);
    expect(await at(src, "x - x @ 0", 15)).toEqual(['{"a":"1"} 1']);
    expect(await at(src, "-x offset 15s", 15)).toEqual(['{"a":"1"} -1']);
  });

  it("applies offset and @ (also start() and end())", async () => {
    expect(await at(src, "x offset 15s", 30)).toEqual(['{"__name__":"x","a":"1"} 2']);
    expect(await at(src, "x @ 0", 1000)).toEqual(['{"__name__":"x","a":"1"} 1']);
    expect(await at(src, "x @ 15 offset 15s", 1000)).toEqual(['{"__name__":"x","a":"1"} 1']);
    const r = (await rangeQuery(parsePromQL("x @ start()"), 0, 30_000, 15_000, src)).data;
    expect((r.result as { values: [number, string][] }[])[0]!.values).toEqual([[0, "1"], [15, "1"], [30, "1"]]);
  });

  it("selects ranges left-open and without stale markers", async () => {
    expect(await at(src, "count_over_time(x[15s])", 15)).toEqual(['{"a":"1"} 1']);
    expect(await at(src, "count_over_time(x[16s])", 15)).toEqual(['{"a":"1"} 2']);
    expect(await at(src, "count_over_time(y[1m])", 30)).toEqual(['{"a":"1"} 2']);
  });
});

describe("counters: rate, increase, irate, resets", () => {
  const src = load(S, { 'c{job="a"}': "0 10 20 30 40", 'r{job="a"}': "10 20 5 15" });

  it("extrapolates like Prometheus", async () => {
    // (0, 60s]: 10..40 at 15..60 s; extrapolated to the range start: 30 × 60/45 = 40 → 40/60 per second.
    expect(await at(src, "rate(c[1m])", 60)).toEqual([`{"job":"a"} ${formatValue(40 / 60)}`]);
    expect(await at(src, "increase(c[1m])", 60)).toEqual(['{"job":"a"} 40']);
    expect(await at(src, "irate(c[1m])", 60)).toEqual([`{"job":"a"} ${formatValue(10 / 15)}`]);
    expect(await at(src, "delta(c[1m])", 60)).toEqual(['{"job":"a"} 40']);
  });

  it("corrects counter resets", async () => {
    // 10 → 20 → 5 → 15: increase 5 + 20 (reset) = 25 over [0, 45] s, extrapolated within the range (0, 45]?
    expect(await at(src, "resets(r[1m])", 45)).toEqual(['{"job":"a"} 1']);
    expect(await at(src, "irate(r[1m])", 30)).toEqual([`{"job":"a"} ${formatValue(5 / 15)}`]);
  });
});

describe("aggregations, binary operators, functions", () => {
  const src = load(S, {
    'm{job="a",i="1"}': "1",
    'm{job="a",i="2"}': "3",
    'm{job="b",i="1"}': "10",
    'n{job="a"}': "2",
    'n{job="b"}': "4",
    'h{le="0.1"}': "0",
    'h{le="0.5"}': "5",
    'h{le="1"}': "10",
    'h{le="+Inf"}': "10",
  });

  it.each([
    ["sum by (job) (m)", ['{"job":"a"} 4', '{"job":"b"} 10']],
    ["avg without (i) (m)", ['{"job":"a"} 2', '{"job":"b"} 10']],
    ["max(m)", ["{} 10"]],
    ["count(m)", ["{} 3"]],
    ["stddev(m)", [`{} ${formatValue(Math.sqrt(((1 - 14 / 3) ** 2 + (3 - 14 / 3) ** 2 + (10 - 14 / 3) ** 2) / 3))}`]],
    ["topk(1, m)", ['{"__name__":"m","i":"1","job":"b"} 10']],
    ["bottomk(2, m)", ['{"__name__":"m","i":"1","job":"a"} 1', '{"__name__":"m","i":"2","job":"a"} 3']],
    ["quantile(0.5, m)", ["{} 3"]],
    ['count_values("v", m)', ['{"v":"1"} 1', '{"v":"10"} 1', '{"v":"3"} 1']],
    ["m / on(job) group_left n", ['{"i":"1","job":"a"} 0.5', '{"i":"2","job":"a"} 1.5', '{"i":"1","job":"b"} 2.5']],
    ["n * on(job) group_right m", ['{"i":"1","job":"a"} 2', '{"i":"2","job":"a"} 6', '{"i":"1","job":"b"} 40']],
    ['m > on(job, i) group_left() (m * 0 + 2)', ['{"__name__":"m","i":"2","job":"a"} 3', '{"__name__":"m","i":"1","job":"b"} 10']],
    ["n > 3", ['{"__name__":"n","job":"b"} 4']],
    ["n > bool 3", ['{"job":"a"} 0', '{"job":"b"} 1']],
    ['m and on(job) n{job="a"}', ['{"__name__":"m","i":"1","job":"a"} 1', '{"__name__":"m","i":"2","job":"a"} 3']],
    ['n or m{i="2"}', ['{"__name__":"m","i":"2","job":"a"} 3', '{"__name__":"n","job":"a"} 2', '{"__name__":"n","job":"b"} 4']],
    ['m unless on(job) n{job="a"}', ['{"__name__":"m","i":"1","job":"b"} 10']],
    ["histogram_quantile(0.5, h)", ["{} 0.5"]],
    ["histogram_quantile(0.75, h)", ["{} 0.75"]],
    ['label_replace(n, "x", "job-$1", "job", "(.*)")', ['{"__name__":"n","job":"a","x":"job-a"} 2', '{"__name__":"n","job":"b","x":"job-b"} 4']],
    ['label_join(n, "x", ":", "job", "job")', ['{"__name__":"n","job":"a","x":"a:a"} 2', '{"__name__":"n","job":"b","x":"b:b"} 4']],
    ['absent(nothing{job="z"})', ['{"job":"z"} 1']],
    ["absent(n)", []],
    ["clamp(m, 2, 5)", ['{"i":"1","job":"a"} 2', '{"i":"2","job":"a"} 3', '{"i":"1","job":"b"} 5']],
    ["-n ^ 2", ['{"job":"a"} -4', '{"job":"b"} -16']],
    ["2 ^ 3 ^ 2 + n", ['{"job":"a"} 514', '{"job":"b"} 516']],
  ])("%s", async (query, want) => {
    expect(await at(src, query, 10)).toEqual([...want].sort());
  });

  it("refuses many-to-many matching as Prometheus does", async () => {
    await expect(at(src, "m + ignoring(i) group_left n", 10)).resolves.toHaveLength(3);
    await expect(at(src, "m + on(job) n", 10)).rejects.toThrow(/multiple matches for labels: many-to-one matching must be explicit/);
    await expect(at(src, "m + ignoring(i) n", 10)).rejects.toThrow(/many-to-one matching must be explicit/);
    await expect(at(src, "n + ignoring(i) m", 10)).rejects.toThrow(/found duplicate series for the match group \{job="a"\} on the right hand-side/);
  });

  it("returns scalars and strings", async () => {
    expect(await at(src, "1 + 2 * 3", 10)).toEqual([10, "7"]);
    expect(await at(src, "scalar(sum(n))", 10)).toEqual([10, "6"]);
    expect(await at(src, '"hello"', 10)).toEqual([10, "hello"]);
    expect(await at(src, "time()", 10)).toEqual([10, "10"]);
  });

  it("refuses duplicate label sets after dropping metric names", async () => {
    const dup = load(S, { 'a{x="1"}': "1 2", 'b{x="1"}': "1 2" });
    await expect(at(dup, '{__name__=~"a|b"} > 0', 15)).resolves.toHaveLength(2);
    await expect(at(dup, '{__name__=~"a|b"} * 2', 15)).rejects.toThrow(/same labelset/);
    await expect(at(dup, 'rate({__name__=~"a|b"}[1m])', 15)).rejects.toThrow(/same labelset/);
  });
});

describe("subqueries", () => {
  const src = load(S, { 'g{job="a"}': "1 5 2 8 3 1 1 1" });
  it("evaluate on a step grid aligned to the step, left-open", async () => {
    // (45, 105] on a 15 s grid: 60, 75, 90, 105 → g = 3, 1, 1, 1
    expect(await at(src, "max_over_time(g[1m:15s])", 105)).toEqual(['{"job":"a"} 3']);
    // (30, 90] → 45, 60, 75, 90 → 8, 3, 1, 1
    expect(await at(src, "max_over_time(g[1m:15s])", 90)).toEqual(['{"job":"a"} 8']);
    expect(await at(src, "count_over_time(g[1m:15s] offset 15s)", 105)).toEqual(['{"job":"a"} 4']);
  });
});

describe("info()", () => {
  // Prometheus lets info()'s label selector match every series (BypassEmptyMatcherCheck).
  it.each(["info(x, {})", 'info(x, {a=~".*"})', 'info(x, {__name__=~".*"})'])("parses %s", (query) => {
    expect(parsePromQL(query)).toMatchObject({ kind: "call", func: "info" });
  });

  it("joins on instance and job, newest info sample first, over an in-memory source", async () => {
    const source = load(60_000, {
      'x{instance="a",job="j"}': "1 2 3",
      'target_info{instance="a",job="j",v="old"}': "1 1 _",
      'target_info{instance="a",job="j",v="new"}': "_ 1 1",
    });
    expect(await at(source, "info(x)", 120)).toEqual(['{"__name__":"x","instance":"a","job":"j","v":"new"} 3']);
    await expect(at(source, "info(x)", 60)).rejects.toThrow(/^found duplicate series for info metric: existing \{__name__="target_info", instance="a", job="j", v="new"\} @ 60000, new \{__name__="target_info", instance="a", job="j", v="old"\} @ 60000$/);
  });
});

describe("parse errors are bad_data with the position", () => {
  it.each([
    ["sum(", /parse error/],
    ["rate(x)", /expected type range vector in call to function "rate", got instant vector/],
    ["nofunc(x)", /unknown function with name "nofunc"/],
    ['{job=~".*"}', /at least one non-empty matcher/],
    ["1 > 2", /comparisons between scalars must use BOOL modifier/],
    ["x[5m] + 1", /binary expression must contain only scalar and instant vector types/],
    ["sum(x, y)", /wrong number of arguments/],
    ["x and 1", /set operator "and" not allowed in binary scalar expression/],
    ["info(x, y)", /1:9: parse error: expected label selectors only, got vector selector instead/],
    ["info(x, sum(y))", /expected label selectors only/],
    ["info(x, y[5m])", /expected type instant vector in call to function "info", got range vector/],
    ['{job=~"(?i:.*)"}', /at least one non-empty matcher/],
  ])("%s", (query, text) => {
    let err: unknown;
    try {
      parsePromQL(query);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PromgateError);
    expect(statusOf((err as PromgateError).kind)).toBe(400);
    expect((err as PromgateError).message).toMatch(text);
  });
});

describe("number formatting as Prometheus (Go's 'f', -1)", () => {
  it.each([
    [1, "1"], [0.1, "0.1"], [1e21, "1000000000000000000000"], [1e-7, "0.0000001"], [-2.5e-8, "-0.000000025"],
    [1.5e300, `15${"0".repeat(299)}`], [123456.789, "123456.789"], [Number.NaN, "NaN"], [Infinity, "+Inf"], [-Infinity, "-Inf"],
  ])("%s → %s", (v, s) => {
    expect(formatValue(v)).toBe(s);
  });
});
