import { beforeAll, describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { es, integrationConfig, uniquePart } from "../helpers/es.js";
import { writeBody } from "../helpers/payload.js";

/**
 * The PromQL API's envelope over the real Elasticsearch: warnings and infos with positions, `limit`, `stats`,
 * step placement, GET and form POST. (The evaluation itself is covered by conformance.test.ts.)
 */

const DEV = basic("dev", "promgate-dev");
const app = createApp(integrationConfig(), defaultDeps());
const prefix = `/metrics/conformance/${uniquePart("api")}`;

beforeAll(async () => {
  const series = [
    ...["a", "b", "c"].map((i) => ({ labels: { __name__: "reqs_total", i }, samples: Array.from({ length: 11 }, (_, k) => [k * 60_000, k * 10] as [number, number]) })),
    { labels: { __name__: "queue_depth", i: "a" }, samples: Array.from({ length: 11 }, (_, k) => [k * 60_000, k] as [number, number]) },
  ];
  const res = await app.request(`${prefix}/api/v1/write`, { method: "POST", body: writeBody(series), headers: { ...PRW1_HEADERS, authorization: DEV } });
  expect(res.status).toBe(204);
  await es("POST", `/metrics-conformance.prometheus-${prefix.split("/").pop()}/_refresh`);
});

async function get(path: string, params: Record<string, string>) {
  const res = await app.request(`${prefix}${path}?${new URLSearchParams(params)}`, { headers: { authorization: DEV } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { data?: { result: unknown[]; stats?: unknown } } };
}

describe("annotations in the envelope", () => {
  it("infos carry the text and the position of the argument", async () => {
    const r = await get("/api/v1/query", { query: "sum(rate(queue_depth[5m]))", time: "600" });
    expect(r.body.infos).toEqual(['PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "queue_depth" (1:10)']);
    expect(r.body.warnings).toBeUndefined();
  });

  it("warnings too, and neither when there is nothing to say", async () => {
    const r = await get("/api/v1/query_range", { query: "quantile(2, reqs_total)", start: "0", end: "600", step: "300" });
    expect(r.body.warnings).toEqual(["PromQL warning: quantile value should be between 0 and 1, got 2 (1:10)"]);
    const quiet = await get("/api/v1/query", { query: "rate(reqs_total[5m])", time: "600" });
    expect(quiet.body).not.toHaveProperty("warnings");
    expect(quiet.body).not.toHaveProperty("infos");
  });
});

describe("limit", () => {
  it("truncates an instant result and says so", async () => {
    const r = await get("/api/v1/query", { query: "reqs_total", time: "600", limit: "2" });
    expect(r.body.data!.result).toHaveLength(2);
    expect(r.body.warnings).toEqual(["results truncated due to limit"]);
    const all = await get("/api/v1/query", { query: "reqs_total", time: "600", limit: "3" });
    expect(all.body.data!.result).toHaveLength(3);
    expect(all.body).not.toHaveProperty("warnings");
  });

  it("truncates a range result after sorting by labels", async () => {
    const r = await get("/api/v1/query_range", { query: "reqs_total", start: "0", end: "600", step: "60", limit: "1" });
    expect((r.body.data!.result as { metric: Record<string, string> }[]).map((s) => s.metric.i)).toEqual(["a"]);
    expect(r.body.warnings).toEqual(["results truncated due to limit"]);
  });
});

describe("stats", () => {
  it("are off by default", async () => {
    const r = await get("/api/v1/query", { query: "reqs_total", time: "600" });
    expect(r.body.data).not.toHaveProperty("stats");
  });

  it("stats=all gives Prometheus' shape with the samples loaded and real timings", async () => {
    const r = await get("/api/v1/query_range", { query: "sum(reqs_total)", start: "0", end: "600", step: "60", stats: "all" });
    const stats = r.body.data!.stats as { timings: Record<string, number>; samples: Record<string, number> };
    expect(Object.keys(stats.timings).sort()).toEqual(["evalTotalTime", "execQueueTime", "execTotalTime", "innerEvalTime", "queryPreparationTime", "resultSortTime"]);
    for (const v of Object.values(stats.timings)) expect(v).toBeGreaterThanOrEqual(0);
    expect(stats.timings.execTotalTime).toBeGreaterThan(0);
    expect(stats.timings.execTotalTime).toBeGreaterThanOrEqual(stats.timings.evalTotalTime!);
    expect(stats.samples).toEqual({ totalQueryableSamples: 33, peakSamples: 33 });
  });
});

describe("steps and methods", () => {
  it("places steps at start + k·step, as Prometheus (no alignment of start)", async () => {
    const r = await get("/api/v1/query_range", { query: "queue_depth", start: "7", end: "250", step: "60" });
    const values = (r.body.data!.result as { values: [number, string][] }[])[0]!.values;
    expect(values).toEqual([[7, "0"], [67, "1"], [127, "2"], [187, "3"], [247, "4"]]);
  });

  it("takes float seconds, RFC 3339 and duration steps", async () => {
    const r = await get("/api/v1/query_range", { query: "queue_depth", start: "1970-01-01T00:01:00Z", end: "180.5", step: "1m" });
    expect((r.body.data!.result as { values: [number, string][] }[])[0]!.values).toEqual([[60, "1"], [120, "2"], [180, "3"]]);
  });

  it("answers a form POST like a GET", async () => {
    const res = await app.request(`${prefix}/api/v1/query`, {
      method: "POST",
      body: new URLSearchParams({ query: "sum(reqs_total)", time: "600" }),
      headers: { authorization: DEV, "content-type": "application/x-www-form-urlencoded" },
    });
    expect(await res.json()).toEqual({ status: "success", data: { resultType: "vector", result: [{ metric: {}, value: [600, "300"] }] } });
  });
});
