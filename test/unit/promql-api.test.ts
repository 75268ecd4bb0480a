import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { parseDurationParam, parseTime } from "../../src/query/params.js";
import { Annotations } from "../../src/query/promql/annotations.js";
import { QueryTimeoutError } from "../../src/query/promql/deadline.js";
import type { SeriesData } from "../../src/query/promql/engine.js";
import { sampleOffset } from "../../src/query/promql/limits.js";
import { parsePromQL } from "../../src/query/promql/parse.js";
import { durationString, formatExpr } from "../../src/query/promql/printer.js";
import { instantQuery, rangeQuery } from "../../src/query/promql/query.js";
import { AGGREGATIONS, FUNCTIONS } from "../../src/query/promql/signatures.js";
import { IMPLEMENTATIONS } from "../../src/query/promql/functions.js";
import { xxhash64 } from "../../src/util/xxhash64.js";
import { basic, testConfig } from "../helpers/config.js";
import { fakeEs } from "../helpers/fake-es.js";

/**
 * The PromQL HTTP API around the engine: format_query, parameter errors, timeout, and the pieces that must
 * equal Prometheus bit for bit (printer, label hash). Values are Prometheus 3.5's own answers.
 */

const DEV = basic("dev", "dev-password");

/** Prometheus 3.5's `Pretty(0)` (what its /api/v1/format_query answers) for each query. */
const FORMATTED: [string, string][] = [
    ["(sum(rate(http_requests_total{status=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m]))) * 100 > on () group_left () vector(5)", "  (sum(rate(http_requests_total{status=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m]))) * 100\n> on () group_left ()\n  vector(5)"],
    ["+foo", "+foo"],
    ["-(foo + bar)", "-(foo + bar)"],
    ["1m", "1m"],
    ["count_values without (instance) (\"version\", build_info)", "count_values without (instance) (\"version\", build_info)"],
    ["foo @ -10", "foo @ -10.000"],
    ["foo @ 1.5", "foo @ 1.500"],
    ["foo offset 5m + bar offset 1m", "foo offset 5m + bar offset 1m"],
    ["foo[100ms]", "foo[100ms]"],
    ["foo[1500ms]", "foo[1s500ms]"],
    ["foo[1m30s]", "foo[1m30s]"],
    ["label_join(foo, \"d\", \",\", \"a\", \"b\")", "label_join(foo, \"d\", \",\", \"a\", \"b\")"],
    ["limit_ratio(0.5, foo) by (a)", "limit_ratio by (a) (0.5, foo)"],
    ["limitk(2, foo)", "limitk(2, foo)"],
    ["max_over_time((foo - bar)[1h:1m] @ start() offset 5m)", "max_over_time((foo - bar)[1h:1m] @ start() offset 5m)"],
    ["quantile_over_time(0.9, foo[1h])", "quantile_over_time(0.9, foo[1h])"],
    ["rate(foo[5m] @ end())", "rate(foo[5m] @ end())"],
    ["sort_by_label(foo, \"a\", \"b\")", "sort_by_label(foo, \"a\", \"b\")"],
    ["sum(rate(foo[5m])) by (a) > bool on (a) group_right (b) sum(rate(bar[5m])) by (a)", "sum by (a) (rate(foo[5m])) > bool on (a) group_right (b) sum by (a) (rate(bar[5m]))"],
    ["time() - 1m", "time() - 1m"],
    ["topk by (job) (3, sum by (job, instance) (rate(process_cpu_seconds_total{job=~\".+\", instance!~\"localhost:.*\"}[5m])))", "topk by (job) (\n  3,\n  sum by (job, instance) (rate(process_cpu_seconds_total{instance!~\"localhost:.*\",job=~\".+\"}[5m]))\n)"],
    ["\"str\"", "\"str\""],
    ["(1 + 2) * 3", "(1 + 2) * 3"],
    ["- - foo", "--foo"],
    ["-2 ^ 2", "-2 ^ 2"],
    ["-Inf", "-Inf"],
    ["-foo", "-foo"],
    ["0.000001", "0.000001"],
    ["0x10", "16"],
    ["1 + 2 * 3", "1 + 2 * 3"],
    ["1e-7", "0.0000001"],
    ["1e6", "1000000"],
    ["2 ^ 3 ^ 2", "2 ^ 3 ^ 2"],
    ["Inf", "+Inf"],
    ["NaN", "NaN"],
    ["a + ignoring(b) e", "a + ignoring (b) e"],
    ["a + on(b, c) group_left(d) e", "a + on (b, c) group_left (d) e"],
    ["a == ignoring() b", "a == b"],
    ["a > bool 1", "a > bool 1"],
    ["a and on() b", "a and on () b"],
    ["abs(very_long_metric_name_number_one{label_one=\"value one\", label_two=\"value two\", label_three=\"value three\"})", "abs(\n  very_long_metric_name_number_one{label_one=\"value one\",label_three=\"value three\",label_two=\"value two\"}\n)"],
    ["count_values(\"value\", foo)", "count_values(\"value\", foo)"],
    ["foo", "foo"],
    ["foo @ 100", "foo @ 100.000"],
    ["foo @ start()", "foo @ start()"],
    ["foo offset -90s", "foo offset -1m30s"],
    ["foo offset 5m", "foo offset 5m"],
    ["foo[14d]", "foo[2w]"],
    ["foo[1y]", "foo[1y]"],
    ["foo[366d]", "foo[366d]"],
    ["foo[5m] offset 1h @ 10", "foo[5m] @ 10.000 offset 1h"],
    ["foo[7d]", "foo[1w]"],
    ["foo{\"a.b\"=\"c\"}", "foo{\"a.b\"=\"c\"}"],
    ["foo{a=\"b\\\"c\\nd\"}", "foo{a=\"b\\\"c\\nd\"}"],
    ["foo{b=\"2\",a=\"1\"}", "foo{a=\"1\",b=\"2\"}"],
    ["foo{}", "foo"],
    ["histogram_quantile(0.9, sum by (le, job, instance, handler, method, status_code) (rate(http_request_duration_seconds_bucket{job=\"api-server\", handler=~\"/api/v1/.*\"}[5m])))", "histogram_quantile(\n  0.9,\n  sum by (le, job, instance, handler, method, status_code) (\n    rate(http_request_duration_seconds_bucket{handler=~\"/api/v1/.*\",job=\"api-server\"}[5m])\n  )\n)"],
    ["label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")", "label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")"],
    ["max_over_time(rate(foo[5m])[1h:5m] offset 10m)", "max_over_time(rate(foo[5m])[1h:5m] offset 10m)"],
    ["max_over_time(rate(foo[5m])[1h:])", "max_over_time(rate(foo[5m])[1h:])"],
    ["quantile without(a) (0.9, foo)", "quantile without (a) (0.9, foo)"],
    ["rate(foo[1h30m])", "rate(foo[1h30m])"],
    ["rate(foo[90m])", "rate(foo[1h30m])"],
    ["sum by (\"a.b\") (foo)", "sum by (\"a.b\") (foo)"],
    ["sum by (job) (rate(http_requests_total{job=\"api-server\"}[5m])) / on (job) group_left sum by (job) (rate(http_requests_total{job=\"api-server\", status=~\"5..\"}[5m])) > 0.5", "    sum by (job) (rate(http_requests_total{job=\"api-server\"}[5m]))\n  / on (job) group_left ()\n    sum by (job) (rate(http_requests_total{job=\"api-server\",status=~\"5..\"}[5m]))\n>\n  0.5"],
    ["sum by() (foo)", "sum(foo)"],
    ["sum by(job,instance)(rate(http_requests_total{job=\"api\",code=~\"5..\"}[5m]))", "sum by (job, instance) (rate(http_requests_total{code=~\"5..\",job=\"api\"}[5m]))"],
    ["sum without() (foo)", "sum without () (foo)"],
    ["topk(5, foo)", "topk(5, foo)"],
    ["{\"utf.metric\"}", "{__name__=\"utf.metric\"}"],
    ["{__name__=\"foo\",a=\"b\"}", "{__name__=\"foo\",a=\"b\"}"],
    ["{__name__=\"foo\"}", "{__name__=\"foo\"}"],
];

describe("/api/v1/format_query", () => {
  const app = createApp(testConfig(), fakeEs(() => "refuse").deps);
  it.each(FORMATTED)("%s", async (query, want) => {
    const res = await app.request(`/api/v1/format_query?${new URLSearchParams({ query })}`, { headers: { authorization: DEV } });
    expect(await res.json()).toEqual({ status: "success", data: want });
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
    // info() is a join the engine evaluates with its own loaded series (info.ts).
    for (const name of Object.keys(FUNCTIONS)) if (name !== "info") expect(IMPLEMENTATIONS[name], name).toBeTypeOf("function");
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
    const once = formatExpr(parsePromQL(query));
    expect(formatExpr(parsePromQL(once))).toBe(once);
  });
});
