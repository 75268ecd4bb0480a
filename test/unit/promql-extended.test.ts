import { describe, expect, it } from "vitest";
import { PromgateError } from "../../src/errors.js";
import type { NativeHistogram } from "../../src/model/histogram.js";
import { type CompiledMatcher, matchesAll } from "../../src/query/matchers.js";
import { latestRead } from "../../src/query/frontend/reach.js";
import { goG } from "../../src/query/promql/annotations.js";
import { type SampleSource, type SeriesData } from "../../src/query/promql/engine.js";
import { experimentalSyntax, parsePromQL } from "../../src/query/promql/parse.js";
import { instantQuery, rangeQuery } from "../../src/query/promql/query.js";

/**
 * Prometheus 3.16's experimental syntax in promgate beyond what the conformance scripts show: which data
 * the anchored and smoothed selectors load, that they are never answered from bucket statistics, how the
 * query frontend sees a smoothed selector's reach, and the feature names.
 */

const ALL = { experimental: experimentalSyntax(["promql-extended-range-selectors", "promql-binop-fill-modifiers", "promql-experimental-functions"]) };
const parse = (q: string) => parsePromQL(q, ALL);

/** A source over `data` that records the windows it was asked for, and fails if bucket statistics are used. */
function recording(data: SeriesData[]): SampleSource & { windows: [number, number][]; buckets: number } {
  const src = {
    windows: [] as [number, number][],
    buckets: 0,
    async select(matchers: CompiledMatcher[], startMs: number, endMs: number) {
      src.windows.push([startMs, endMs]);
      return data
        .filter((s) => matchesAll(s.labels, matchers))
        .map((s) => {
          const keep = s.ts.flatMap((t, i) => (t >= startMs && t <= endMs ? [i] : []));
          return { labels: s.labels, ts: keep.map((i) => s.ts[i]!), vs: keep.map((i) => s.vs[i]!), stale: new Set<number>(), ...(s.hs ? { hs: keep.map((i) => s.hs![i]) } : {}) };
        });
    },
    async selectBuckets() {
      src.buckets++;
      return [];
    },
  };
  return src;
}

const counter = (name: string, untilMs: number): SeriesData => {
  const ts: number[] = [];
  for (let t = 0; t <= untilMs; t += 60_000) ts.push(t);
  return { labels: { __name__: name }, ts, vs: ts.map((t) => t / 1000), stale: new Set() };
};

describe("the data anchored and smoothed selectors load", () => {
  const M = 60_000;
  it.each([
    ["rate(x[10m])", [20 * M - 10 * M, 30 * M]],
    // anchored: the lookback before the range too, for the sample at or before its start.
    ["rate(x[10m] anchored)", [20 * M - 10 * M - 5 * M, 30 * M]],
    // smoothed: the lookback before and after the range, for the samples around both bounds.
    ["rate(x[10m] smoothed)", [20 * M - 10 * M - 5 * M, 30 * M + 5 * M]],
    ["x smoothed offset 1m", [20 * M - M - 5 * M, 30 * M - M + 5 * M]],
    ["x anchored", [20 * M - 5 * M, 30 * M]],
  ] as const)("%s over [20m, 30m]", async (query, window) => {
    const src = recording([counter("x", 40 * M)]);
    await rangeQuery(parse(query), 20 * M, 30 * M, M, src);
    expect(src.windows).toEqual([window]);
  });

  it("the samples after the evaluation time are what smoothed interpolates with", async () => {
    // x = t in seconds, every minute: at 90 s the smoothed value lies between the samples at 60 s and 120 s.
    const r = await instantQuery(parse("x smoothed"), 90_000, recording([counter("x", 10 * M)]));
    expect(r.data.result).toEqual([{ metric: { __name__: "x" }, value: [90, "90"] }]);
  });
});

describe("bucket statistics (pushdown)", () => {
  it("never answer a smoothed selector: its values are not the samples'", async () => {
    const src = recording([counter("x", 600_000)]);
    const r = await rangeQuery(parse("count(x smoothed)"), 0, 600_000, 60_000, src, {});
    expect(src.buckets).toBe(0);
    expect(src.windows.length).toBe(1);
    expect((r.data.result as unknown[]).length).toBe(1);
  });
});

describe("native histograms", () => {
  // (rate, increase, delta and smoothed instant selectors over them: extended-range-selectors.test)
  const h: NativeHistogram = { float: false, schema: 0, zeroThreshold: 0, zeroCount: 0, count: 1, sum: 1, positiveSpans: [], positiveBuckets: [], negativeSpans: [], negativeBuckets: [], resetHint: 0, customValues: [] };
  const hist: SeriesData = { labels: { __name__: "h" }, ts: [0, 60_000], vs: [Number.NaN, Number.NaN], stale: new Set(), hs: [h, { ...h, count: 2 }] };
  it.each(["h[5m] anchored", "h[5m] smoothed"])("in a range selector's own value are refused with Prometheus' error: %s", async (query) => {
    const err = await instantQuery(parse(query), 120_000, recording([hist])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PromgateError);
    expect((err as PromgateError).kind).toBe("unprocessable");
    expect((err as PromgateError).message).toMatch(/^(anchored|smoothed) modifier is not supported with histograms$/);
  });
});

describe("the query frontend", () => {
  it("knows a smoothed selector reads up to one lookback after its time (its answer can still change)", () => {
    const anchor = { startMs: 0, endMs: 0 };
    expect(latestRead(parse("x smoothed"), 1_000_000, anchor)).toBe(1_300_000);
    expect(latestRead(parse("rate(x[5m] smoothed offset 1m)"), 1_000_000, anchor)).toBe(1_240_000);
    expect(latestRead(parse("rate(x[5m] anchored)"), 1_000_000, anchor)).toBe(1_000_000);
  });
});

describe("PROMGATE_PROMQL_EXPERIMENTAL names", () => {
  it("Prometheus' flag names imply promgate's earlier names for the same syntax", () => {
    expect([...experimentalSyntax(["promql-duration-expr"])].sort()).toEqual(["duration-expressions", "promql-duration-expr"]);
    expect([...experimentalSyntax(["promql-experimental-functions"])].sort()).toEqual(["promql-experimental-functions", "query-functions"]);
    expect([...experimentalSyntax(["query-functions", "unknown"])]).toEqual(["query-functions"]);
    expect(() => parsePromQL("start()", { experimental: experimentalSyntax(["promql-experimental-functions"]) })).not.toThrow();
  });
});

describe("numbers in messages (Go's %g)", () => {
  it.each([
    [1e6, "1e+06"],
    [123456, "123456"],
    [9.223372036854776e18, "9.223372036854776e+18"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [-0, "-0"],
  ])("%s → %s", (v, want) => expect(goG(v)).toBe(want));

  it("topk's int64 overflow error writes the number as Prometheus does", async () => {
    const err = await instantQuery(parse("topk(1e19, x)"), 0, recording([counter("x", 0)])).catch((e: unknown) => e);
    expect((err as PromgateError).message).toBe("Scalar value 1e+19 overflows int64");
  });
});
