import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { parseDurationParam, parseTime } from "../../src/query/params.js";
import { Annotations } from "../../src/query/promql/annotations.js";
import { QueryTimeoutError } from "../../src/query/promql/deadline.js";
import type { SeriesData } from "../../src/query/promql/engine.js";
import { sampleOffset } from "../../src/query/promql/limits.js";
import { EXPERIMENTAL_SYNTAX, parsePromQL } from "../../src/query/promql/parse.js";
import { durationString, formatExpr } from "../../src/query/promql/printer.js";
import { instantQuery, rangeQuery } from "../../src/query/promql/query.js";
import { AGGREGATIONS, FUNCTIONS } from "../../src/query/promql/signatures.js";
import { IMPLEMENTATIONS } from "../../src/query/promql/functions.js";
import { xxhash64 } from "../../src/util/xxhash64.js";
import { basic, testConfig } from "../helpers/config.js";
import { fakeEs } from "../helpers/fake-es.js";

/**
 * The PromQL HTTP API around the engine: format_query, parameter errors, timeout, and the pieces that must
 * equal Prometheus bit for bit (printer, label hash). Values are Prometheus' own answers.
 */

const DEV = basic("dev", "dev-password");

/**
 * Queries with what Prometheus 3.16's /api/v1/format_query answers (`Pretty(0)`, or the parse error):
 * scripts/conformance-reference.sh checks the same file against Prometheus' parser.
 */
const FORMAT_QUERY = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../conformance/format-query.json"), "utf8")) as [string, string][];
const PARSE_ERROR = /^\d+:\d+: parse error: /;
const FORMATTED = FORMAT_QUERY.filter(([, want]) => !PARSE_ERROR.test(want));

describe("/api/v1/format_query", () => {
  // Prometheus 3.16 parses duration expressions and anchored/smoothed without a flag (and the functions of
  // the query and fill modifiers with the flags the reference turns on); promgate with PROMGATE_PROMQL_EXPERIMENTAL.
  const app = createApp(
    testConfig({ PROMGATE_PROMQL_EXPERIMENTAL: "promql-duration-expr,promql-experimental-functions,promql-extended-range-selectors,promql-binop-fill-modifiers" }),
    fakeEs(() => "refuse").deps,
  );
  it.each(FORMAT_QUERY)("%s", async (query, want) => {
    const res = await app.request(`/api/v1/format_query?${new URLSearchParams({ query })}`, { headers: { authorization: DEV } });
    if (PARSE_ERROR.test(want)) expect(await res.json()).toEqual({ status: "error", errorType: "bad_data", error: `invalid parameter "query": ${want}` });
    else expect(await res.json()).toEqual({ status: "success", data: want });
  });

  it.each(["foo[1m+1m]", "foo offset step()", "foo[(5m)]", "foo[5m:min_of(1m, range())]"])("refuses the duration expression %s unless PROMGATE_PROMQL_EXPERIMENTAL has it", async (query) => {
    const stable = createApp(testConfig(), fakeEs(() => "refuse").deps);
    for (const path of ["/api/v1/format_query", "/api/v1/query"]) {
      const res = await stable.request(`${path}?${new URLSearchParams({ query })}`, { headers: { authorization: DEV } });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ errorType: "bad_data", error: expect.stringMatching(/^invalid parameter "query": 1:\d+: parse error: duration expressions are experimental: set PROMGATE_PROMQL_EXPERIMENTAL=duration-expressions$/) });
    }
  });

  it.each(["start()", "end() - start()", "min_of(1, 2)", "vector(max_of(time(), 5))"])("refuses the query function in %s unless PROMGATE_PROMQL_EXPERIMENTAL has it", async (query) => {
    const stable = createApp(testConfig({ PROMGATE_PROMQL_EXPERIMENTAL: "duration-expressions" }), fakeEs(() => "refuse").deps);
    const res = await stable.request(`/api/v1/query?${new URLSearchParams({ query })}`, { headers: { authorization: DEV } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: expect.stringMatching(/^invalid parameter "query": 1:\d+: parse error: function "\w+" is experimental: set PROMGATE_PROMQL_EXPERIMENTAL=query-functions$/) });
  });

  it("answers a parse error as bad_data naming the parameter", async () => {
    const res = await app.request("/api/v1/format_query", {
      method: "POST",
      body: new URLSearchParams({ query: "sum(" }),
      headers: { authorization: DEV, "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errorType: "bad_data", error: expect.stringMatching(/^invalid parameter "query": 1:\d+: parse error: /) });
  });

  it("formats durations as Prometheus' model.Duration", () => {
    expect([0, 1, 1500, 90_000, 5_400_000, 86_400_000, 604_800_000, 31_536_000_000, 31_622_400_000].map(durationString)).toEqual(
      ["0s", "1ms", "1s500ms", "1m30s", "1h30m", "1d", "1w", "1y", "366d"],
    );
  });
});

describe("query parameters, with Prometheus' messages", () => {
  const app = createApp(testConfig(), fakeEs(() => "refuse").deps);
  const ask = async (path: string) => {
    const res = await app.request(path, { headers: { authorization: DEV } });
    return { status: res.status, body: (await res.json()) as { errorType?: string; error?: string } };
  };
  it.each([
    ["/api/v1/query_range?query=up&start=0&end=10", 'invalid parameter "step": cannot parse "" to a valid duration'],
    ["/api/v1/query_range?query=up&start=0&end=10&step=0", 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer'],
    ["/api/v1/query_range?query=up&start=0&end=10&step=-1", 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer'],
    ["/api/v1/query_range?query=up&start=0&end=10&step=1x", 'invalid parameter "step": cannot parse "1x" to a valid duration'],
    ["/api/v1/query_range?query=up&start=0&end=10&step=1s30m", 'invalid parameter "step": cannot parse "1s30m" to a valid duration'],
    ["/api/v1/query_range?query=up&start=10&end=0&step=1", 'invalid parameter "end": end timestamp must not be before start time'],
    ["/api/v1/query_range?query=up&start=x&end=0&step=1", 'invalid parameter "start": cannot parse "x" to a valid timestamp'],
    ["/api/v1/query_range?query=up&end=0&step=1", 'invalid parameter "start": cannot parse "" to a valid timestamp'],
    ["/api/v1/query_range?query=up&start=0&end=11001&step=1", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"],
    ["/api/v1/query_range?query=up[5m]&start=0&end=10&step=1", 'invalid parameter "query": invalid expression type "range vector" for range query, must be Scalar or instant Vector'],
    ["/api/v1/query?query=up&time=yesterday", `invalid parameter "time": invalid time value for 'time': cannot parse "yesterday" to a valid timestamp`],
    ["/api/v1/query?query=up&time=2026-01-01T00:00:00", `invalid parameter "time": invalid time value for 'time': cannot parse "2026-01-01T00:00:00" to a valid timestamp`],
    ["/api/v1/query?query=up&limit=-1", 'invalid parameter "limit": limit must be non-negative'],
    ["/api/v1/query?query=up&limit=x", 'invalid parameter "limit": strconv.Atoi: parsing "x": invalid syntax'],
    ["/api/v1/query?query=up&timeout=soon", 'invalid parameter "timeout": cannot parse "soon" to a valid duration'],
    ["/api/v1/query", 'invalid parameter "query": unknown position: parse error: no expression found in input'],
    ["/api/v1/query?query=sum(up", 'invalid parameter "query": 1:7: parse error: unclosed left parenthesis'],
  ])("%s", async (path, error) => {
    expect(await ask(path)).toEqual({ status: 400, body: { status: "error", errorType: "bad_data", error } });
  });

  it("accepts 11,000 steps exactly, float seconds and RFC 3339 (then only Elasticsearch is missing)", async () => {
    for (const path of [
      "/api/v1/query_range?query=up&start=0&end=11000&step=1",
      "/api/v1/query_range?query=up&start=2026-01-01T00:00:00Z&end=2026-01-01T01:10:00.5%2B01:00&step=0.5",
      "/api/v1/query_range?query=up&start=1.5&end=100&step=1m30s",
    ]) {
      expect((await ask(path)).body.errorType).toBe("unavailable");
    }
  });

  it("parses times and durations as Prometheus", () => {
    expect(parseTime("1.5", "t")).toBe(1500);
    expect(parseTime("-1.5", "t")).toBe(-1500);
    expect(parseTime("1e3", "t")).toBe(1_000_000);
    expect(parseTime("2026-01-01T00:00:00.123Z", "t")).toBe(Date.UTC(2026, 0, 1, 0, 0, 0, 123));
    expect(parseTime("2026-01-01T01:00:00+01:00", "t")).toBe(Date.UTC(2026, 0, 1));
    expect(parseDurationParam("1.5", "step")).toBe(1500);
    expect(parseDurationParam("1h30m", "step")).toBe(5_400_000);
    expect(parseDurationParam("2w1d", "step")).toBe(15 * 86_400_000);
    expect(() => parseDurationParam("30m1h", "step")).toThrow(/cannot parse "30m1h" to a valid duration/);
  });
});

/** Elasticsearch answering every read empty after 60 ms (a point in time is opened first, as on the real one). */
const slowEmptyEs = (req: { url: URL }) =>
  new Promise<Response>((r) => setTimeout(() => r(Response.json(req.url.pathname.endsWith("/_pit") ? { id: "pit-1" } : {})), 60));

describe("query timeout", () => {
  it("gives errorType timeout (503) once the deadline passes, checked between reads and steps", async () => {
    // Elasticsearch answers (empty) after 60 ms; the query may take 20 ms.
    const es = fakeEs(slowEmptyEs);
    const app = createApp(testConfig({ ES_TIMEOUT_MS: "5000" }), es.deps);
    const res = await app.request("/api/v1/query?query=up&timeout=20ms", { headers: { authorization: DEV } });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "error", errorType: "timeout", error: "query timed out in expression evaluation" });
  });

  it("answers 502 when Elasticsearch opens a point in time without an id (regression: a read reopened it forever)", async () => {
    const es = fakeEs(() => Response.json({}));
    const app = createApp(testConfig(), es.deps);
    for (const path of ["/api/v1/query?query=up", "/api/v1/series?match[]=up"]) {
      const res = await app.request(path, { headers: { authorization: DEV } });
      expect(res.status, path).toBe(502);
      expect(((await res.json()) as { error: string }).error).toContain("point in time");
    }
    expect(es.requests.filter((r) => r.url.pathname.endsWith("/_pit"))).toHaveLength(2);
  });

  it("bounds every query by PROMGATE_QUERY_TIMEOUT; a request's timeout cannot lengthen it", async () => {
    const es = fakeEs(slowEmptyEs);
    const app = createApp(testConfig({ ES_TIMEOUT_MS: "5000", PROMGATE_QUERY_TIMEOUT: "20ms" }), es.deps);
    for (const path of ["/api/v1/query?query=up", "/api/v1/query?query=up&timeout=1h", "/api/v1/query_range?query=up&start=0&end=60&step=15"]) {
      const res = await app.request(path, { headers: { authorization: DEV } });
      expect(res.status, path).toBe(503);
      expect(await res.json()).toMatchObject({ errorType: "timeout" });
    }
    expect(testConfig().queryTimeoutMs).toBe(120_000);
  });

  it("stops a long evaluation between steps", async () => {
    const source = { select: async (): Promise<SeriesData[]> => [{ labels: { __name__: "x" }, ts: [0], vs: [1], stale: new Set<number>() }] };
    await expect(rangeQuery(parsePromQL("x"), 0, 10_000_000, 1000, source, { deadline: Date.now() - 1 })).rejects.toBeInstanceOf(QueryTimeoutError);
  });
});

describe("engine tables", () => {
  it("has an implementation for every function it accepts", () => {
    // info() is a join the engine evaluates with its own loaded series (info.ts); start(), end(), range()
    // and step() become numbers when the query starts (query-context.ts).
    const elsewhere = new Set(["info", "start", "end", "range", "step"]);
    for (const name of Object.keys(FUNCTIONS)) if (!elsewhere.has(name)) expect(IMPLEMENTATIONS[name], name).toBeTypeOf("function");
  });

  it("evaluates every aggregation it accepts", async () => {
    const source = { select: async (): Promise<SeriesData[]> => [{ labels: { __name__: "x", a: "1" }, ts: [0], vs: [2], stale: new Set<number>() }] };
    for (const [op, def] of Object.entries(AGGREGATIONS)) {
      const param = def.param === "string" ? '"v", ' : def.param ? "1, " : "";
      const r = await instantQuery(parsePromQL(`${op}(${param}x)`), 0, source);
      expect(r.data.resultType, op).toBe("vector");
    }
  });
});

describe("Prometheus-identical hashing and annotations", () => {
  it("xxHash64 gives the reference digests", () => {
    const e = new TextEncoder();
    expect(xxhash64(e.encode("")).toString(16)).toBe("ef46db3751d8e999");
    expect(xxhash64(e.encode("a")).toString(16)).toBe("d24ec4f1a98c6e5b");
    expect(xxhash64(e.encode("abc")).toString(16)).toBe("44bc2cf5ad770999");
  });

  it("places a series by its label hash, independent of label order", () => {
    const a = sampleOffset({ __name__: "x", a: "1", b: "2" });
    expect(sampleOffset({ b: "2", a: "1", __name__: "x" })).toBe(a);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(1);
  });

  it("deduplicates annotations and appends line:column", () => {
    const an = new Annotations("sum(\n  rate(x[5m]))");
    an.info("metric might not be a counter", 7);
    an.info("metric might not be a counter", 7);
    an.warn("w", undefined);
    expect(an.infos).toEqual(["PromQL info: metric might not be a counter (2:3)"]);
    expect(an.warnings).toEqual(["PromQL warning: w"]);
  });
});

describe("format_query round trip", () => {
  it.each(FORMATTED)("%s parses back to the same text", (query) => {
    const options = { experimental: new Set(EXPERIMENTAL_SYNTAX) };
    const once = formatExpr(parsePromQL(query, options));
    expect(formatExpr(parsePromQL(once, options))).toBe(once);
  });
});
