import { describe, expect, it } from "vitest";
import { type CompiledMatcher, matchesAll } from "../../src/query/matchers.js";
import { type SampleSource, type SeriesData } from "../../src/query/promql/engine.js";
import { parsePromQL } from "../../src/query/promql/parse.js";
import { instantQuery } from "../../src/query/promql/query.js";
import { type Families, familyOf, typeAndUnitSource, withMetadataLabels } from "../../src/query/type-and-unit.js";

/**
 * PROMGATE_PROMQL_EXPERIMENTAL=type-and-unit-labels: series carry `__type__` and `__unit__` from their
 * family's metadata when PromQL reads them (Prometheus' type-and-unit-labels puts them on at ingestion).
 */

const families: Families = new Map([
  ["http_requests_total", { type: "counter", unit: "", help: "" }],
  ["req_duration_seconds", { type: "histogram", unit: "seconds", help: "" }],
  ["mem", { type: "gauge", unit: "bytes", help: "" }],
  ["odd", { type: "unknown", unit: "", help: "" }],
]);

const series = (labels: Record<string, string>, v: number): SeriesData => ({ labels, ts: [0], vs: [v], stale: new Set() });
const DATA = [
  series({ __name__: "http_requests_total", job: "a" }, 1),
  series({ __name__: "req_duration_seconds_bucket", job: "a", le: "+Inf" }, 2),
  series({ __name__: "mem", job: "a" }, 3),
  series({ __name__: "odd", job: "a", __type__: "gauge" }, 4),
  series({ __name__: "no_metadata", job: "a", __type__: "counter" }, 5),
];

/** An in-memory source that, like Elasticsearch, knows only the labels series were written with. */
function source(): SampleSource & { asked: string[][] } {
  const asked: string[][] = [];
  return {
    asked,
    async select(matchers: CompiledMatcher[]) {
      asked.push(matchers.map((m) => m.name));
      return DATA.filter((s) => matchesAll(s.labels, matchers));
    },
  };
}

describe("metadata labels", () => {
  it("come from the series' family: its own name, or its name without a histogram/summary/counter suffix", () => {
    expect(familyOf("http_requests_total", families)?.type).toBe("counter");
    expect(familyOf("req_duration_seconds_bucket", families)?.type).toBe("histogram");
    expect(familyOf("req_duration_seconds_count", families)?.unit).toBe("seconds");
    expect(familyOf("nothing_total", families)).toBeUndefined();
  });

  it("are set as Prometheus sets them: no __type__ for an unknown type, no __unit__ for an empty unit", () => {
    expect(withMetadataLabels({ __name__: "mem", job: "a" }, families)).toEqual({ __name__: "mem", job: "a", __type__: "gauge", __unit__: "bytes" });
    expect(withMetadataLabels({ __name__: "odd", __type__: "gauge" }, families)).toEqual({ __name__: "odd" });
    // Without metadata a series keeps what it was written with.
    expect(withMetadataLabels({ __name__: "x", __type__: "counter" }, families)).toEqual({ __name__: "x", __type__: "counter" });
  });
});

describe("typeAndUnitSource", () => {
  const query = async (q: string) => {
    const src = source();
    const r = await instantQuery(parsePromQL(q), 0, typeAndUnitSource(src, async () => families));
    return { result: r.data.result, asked: src.asked };
  };

  it("selects on __type__ and __unit__ once they are set, asking storage without those matchers", async () => {
    const { result, asked } = await query('{__type__="gauge", job="a"}');
    expect(result).toEqual([{ metric: { __name__: "mem", __type__: "gauge", __unit__: "bytes", job: "a" }, value: [0, "3"] }]);
    expect(asked).toEqual([["job"]]);
  });

  it("puts them on every series read, and PromQL drops them with the name", async () => {
    expect((await query('req_duration_seconds_bucket{le="+Inf"}')).result).toEqual([
      { metric: { __name__: "req_duration_seconds_bucket", __type__: "histogram", __unit__: "seconds", job: "a", le: "+Inf" }, value: [0, "2"] },
    ]);
    expect((await query("mem * 2")).result).toEqual([{ metric: { job: "a" }, value: [0, "6"] }]);
    const counts = (await query('count by (__type__) ({job="a"})')).result as { metric: Record<string, string>; value: [number, string] }[];
    expect(Object.fromEntries(counts.map((s) => [s.metric.__type__ ?? "", s.value[1]]))).toEqual({ counter: "2", gauge: "1", histogram: "1", "": "1" });
  });
});
