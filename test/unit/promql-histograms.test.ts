import { describe, expect, it } from "vitest";
import { type NativeHistogram, ResetHint } from "../../src/model/histogram.js";
import { type CompiledMatcher, matchesAll } from "../../src/query/matchers.js";
import { Annotations } from "../../src/query/promql/annotations.js";
import type { SampleSource, SeriesData } from "../../src/query/promql/engine.js";
import { exponentialBound } from "../../src/query/promql/histogram/bounds.js";
import { histogramSampleWeight } from "../../src/query/promql/histogram/float.js";
import { marshalFloat } from "../../src/query/promql/histogram/json.js";
import { parsePromQL } from "../../src/query/promql/parse.js";
import { type BucketSeries, PushedCall, type PushdownPlan } from "../../src/query/promql/pushdown.js";
import { instantQuery, rangeQuery } from "../../src/query/promql/query.js";

/**
 * Native histograms around the engine: the HTTP API's JSON form (Prometheus' MarshalHistogram), sample
 * weights, pushdown with histogram samples, and Prometheus' bucket boundaries. The evaluation itself is
 * pinned by test/conformance/scripts/native-histograms.test (run in memory by promql-scripts.test.ts).
 */

/** count 5, sum 3: zero bucket 1 (threshold 0.001), (0.5,1] 1, (1,2] 2, [-1,-0.5) 1. */
const H: NativeHistogram = {
  float: false,
  schema: 0,
  zeroThreshold: 0.001,
  zeroCount: 1,
  count: 5,
  sum: 3,
  positiveSpans: [{ offset: 0, length: 2 }],
  positiveBuckets: [1, 2],
  negativeSpans: [{ offset: 0, length: 1 }],
  negativeBuckets: [1],
  resetHint: ResetHint.Unknown,
  customValues: [],
};

function source(series: SeriesData[]): SampleSource {
  return {
    async select(matchers: CompiledMatcher[], startMs: number, endMs: number) {
      return series
        .filter((s) => matchesAll(s.labels, matchers))
        .map((s) => {
          const keep = s.ts.flatMap((t, i) => (t >= startMs && t <= endMs ? [i] : []));
          return { labels: s.labels, ts: keep.map((i) => s.ts[i]!), vs: keep.map((i) => s.vs[i]!), stale: new Set<number>(), hs: keep.map((i) => s.hs?.[i]) };
        })
        .filter((s) => s.ts.length > 0);
    },
  };
}

/** `m`: a float at 0 s, the histogram at 60 s and 120 s. `h`: the histogram at 60 s only. */
const SRC = source([
  { labels: { __name__: "m" }, ts: [0, 60_000, 120_000], vs: [7, Number.NaN, Number.NaN], stale: new Set(), hs: [undefined, H, H] },
  { labels: { __name__: "h" }, ts: [60_000], vs: [Number.NaN], stale: new Set(), hs: [H] },
]);

const JSON_H = { count: "5", sum: "3", buckets: [[1, "-1", "-0.5", "1"], [3, "-0.001", "0.001", "1"], [0, "0.5", "1", "1"], [0, "1", "2", "2"]] };

describe("native histograms in the HTTP API's JSON", () => {
  it("writes an instant histogram sample as `histogram` with count, sum and the populated buckets", async () => {
    const r = await instantQuery(parsePromQL("h"), 60_000, SRC);
    expect(JSON.parse(JSON.stringify(r.data.result))).toEqual([{ metric: { __name__: "h" }, histogram: [60, JSON_H] }]);
  });

  it("writes a range series' floats as `values` and its histograms as `histograms`, either left out when empty", async () => {
    const r = await rangeQuery(parsePromQL("{__name__=~\"m|h\"}"), 0, 120_000, 60_000, SRC);
    expect(JSON.parse(JSON.stringify(r.data.result))).toEqual([
      { metric: { __name__: "h" }, histograms: [[60, JSON_H], [120, JSON_H]] },
      { metric: { __name__: "m" }, values: [[0, "7"]], histograms: [[60, JSON_H], [120, JSON_H]] },
    ]);
    const matrix = await instantQuery(parsePromQL("m[3m]"), 120_000, SRC);
    expect(JSON.parse(JSON.stringify(matrix.data.result))).toEqual([{ metric: { __name__: "m" }, values: [[0, "7"]], histograms: [[60, JSON_H], [120, JSON_H]] }]);
  });

  it("leaves `buckets` out when no bucket is populated", async () => {
    const r = await instantQuery(parsePromQL("h - h"), 60_000, SRC);
    expect(JSON.parse(JSON.stringify(r.data.result))).toEqual([{ metric: {}, histogram: [60, { count: "0", sum: "0" }] }]);
  });

  it("writes numbers as Prometheus' MarshalFloat: exponent form below 1e-6 and from 1e21", () => {
    expect([1e-7, 1.5e21, 123.5, 1e-6, 0, -2.5e-9, Infinity, Number.NaN].map(marshalFloat)).toEqual(["1e-07", "1.5e+21", "123.5", "0.000001", "0", "-2.5e-09", "+Inf", "NaN"]);
  });
});

describe("native histogram sample weights", () => {
  it("counts a histogram as (size + 8) / 16 samples, as Prometheus' HPoint.size", () => {
    // 168 bytes of struct + 8 per span and per bucket: 168 + 2·8 + 3·8 = 208 → 216 / 16.
    expect(histogramSampleWeight(H)).toBe(13);
  });

  it("adds the weights to the stats' queryable samples", async () => {
    const r = await instantQuery(parsePromQL("m"), 120_000, SRC, { stats: true });
    expect(r.data.stats!.samples.totalQueryableSamples).toBe(1 + 2 * 13);
  });
});

describe("pushed-down range functions over buckets holding histogram samples", () => {
  const plan = (func: string): PushdownPlan => ({
    func,
    selector: { kind: "vector", matchers: [], offsetMs: 0, at: undefined, text: "x" },
    rangeMs: 60_000,
    startMs: 1,
    endMs: 60_000,
    request: { bucketMs: 60_000, alignMs: 60_000, stat: func === "min_over_time" ? "min" : undefined },
  });
  const buckets: BucketSeries[] = [
    { labels: { __name__: "x", s: "hist" }, ends: [60_000], counts: [2], histograms: [2], stat: [Number.NaN] },
    { labels: { __name__: "x", s: "mixed" }, ends: [60_000], counts: [3], histograms: [1], stat: [5] },
    { labels: { __name__: "x", s: "floats" }, ends: [60_000], counts: [2], stat: [4] },
  ];

  it("min_over_time leaves windows of histograms only out and reports the mixed ones", () => {
    const annotations = new Annotations("min_over_time(x[1m])");
    const out = new PushedCall(plan("min_over_time"), buckets, annotations, 14).at(60_000);
    expect(out).toEqual([
      { labels: { s: "mixed" }, value: 5 },
      { labels: { s: "floats" }, value: 4 },
    ]);
    expect(annotations.infos).toEqual(['PromQL info: ignored histograms in a range containing both floats and histograms for metric name "x" (1:15)']);
  });

  it("count_over_time counts histogram samples like floats", () => {
    const out = new PushedCall(plan("count_over_time"), buckets).at(60_000);
    expect(out.map((s) => s.value)).toEqual([2, 3, 2]);
  });
});

describe("native histogram bucket boundaries", () => {
  it("takes exponential boundaries from Prometheus' table, bit for bit", () => {
    expect(exponentialBound(1, 0)).toBe(2);
    expect(exponentialBound(-1, 0)).toBe(0.5);
    expect(exponentialBound(1, 3)).toBe(1.0905077326652577);
    expect(exponentialBound(3, 8)).toBe(2 * 0.5040779490592088);
    expect(exponentialBound(1, -2)).toBe(16);
    expect(exponentialBound(-3, 2)).toBe(0.5946035575013605);
  });

  it("ends the last finite bucket at the largest float, the next one at +Inf", () => {
    expect(exponentialBound(1024, 0)).toBe(Number.MAX_VALUE);
    expect(exponentialBound(1025, 0)).toBe(Infinity);
    expect(exponentialBound(256, -2)).toBe(Number.MAX_VALUE);
    expect(exponentialBound(1024 * 256, 8)).toBe(Number.MAX_VALUE);
  });
});
