import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { WriteRequestSchema } from "../../src/gen/prometheus/remote_pb.js";
import { snappyDecompress } from "../../src/ingest/snappy.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { countDocs, es, integrationConfig, searchDocs, uniquePart } from "../helpers/es.js";
import { fixture, MetricMetadata_MetricType, snappy, writeBody, writeRequestBytes } from "../helpers/payload.js";

const app = createApp(integrationConfig(), defaultDeps());
const DEV = basic("dev", "promgate-dev");

function post(path: string, body: Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}) {
  return app.request(path, { method: "POST", body, headers: { ...PRW1_HEADERS, authorization: DEV, ...headers } });
}

const now = () => Date.now() - 60_000; // inside every window, whatever the clock skew between us and ES

describe("remote_write into the real Elasticsearch", () => {
  it("stores documents in metrics-generic.prometheus-default in ES's document shape", async () => {
    const run = uniquePart("run");
    const t = now();
    const res = await post(
      "/api/v1/write",
      writeBody([
        { labels: { __name__: "http_requests_total", job: "api", run }, samples: [[t, 1027], [t + 15_000, 1030]] },
        { labels: { __name__: "go_goroutines", job: "api", run }, samples: [[t, 42.5]] },
      ]),
    );
    expect(res.status).toBe(204);
    const docs = await searchDocs("metrics-generic.prometheus-default", { term: { "labels.run": run } });
    expect(docs).toHaveLength(3);
    const counter = docs.filter((d) => (d.labels as Record<string, string>).__name__ === "http_requests_total");
    expect(counter.map((d) => d.metrics)).toEqual([{ http_requests_total: 1027 }, { http_requests_total: 1030 }]);
    expect(new Date(counter[0]!["@timestamp"] as string).getTime()).toBe(t);
    expect(counter[0]!.labels).toEqual({ __name__: "http_requests_total", job: "api", run });
  });

  it("creates a TSDS data stream per /metrics/{dataset}/{namespace} with labels as dimensions and counter/gauge types", async () => {
    const ns = uniquePart("ns");
    const stream = `metrics-itest.prometheus-${ns}`;
    const t = now();
    const res = await post(
      `/metrics/itest/${ns}/api/v1/write`,
      writeBody([
        { labels: { __name__: "node_cpu_seconds_total", cpu: "0", mode: "idle" }, samples: [[t, 1]] },
        { labels: { __name__: "rpc_duration_seconds_sum" }, samples: [[t, 2]] },
        { labels: { __name__: "rpc_duration_seconds_count" }, samples: [[t, 3]] },
        { labels: { __name__: "rpc_duration_seconds_bucket", le: "0.5" }, samples: [[t, 4]] },
        { labels: { __name__: "node_load1" }, samples: [[t, 0.5]] },
      ]),
    );
    expect(res.status).toBe(204);
    expect(await countDocs(stream)).toBe(5);

    const settings = await es<Record<string, { settings: { index: { mode: string; routing_path: string[] } } }>>(
      "GET",
      `/${stream}/_settings`,
    );
    const [backing, s] = Object.entries(settings.json)[0]!;
    expect(backing).toMatch(new RegExp(`^\\.ds-${stream.replace(/\./g, "\\.")}-`)); // a data stream's backing index
    expect(s.settings.index.mode).toBe("time_series");

    const mapping = await es<Record<string, { mappings: { properties: Record<string, { properties: Record<string, Record<string, unknown>> }> } }>>(
      "GET",
      `/${stream}/_mapping`,
    );
    const props = Object.values(mapping.json)[0]!.mappings.properties;
    expect(props.labels!.properties.cpu).toEqual({ type: "keyword", time_series_dimension: true });
    expect(props.labels!.properties.__name__).toEqual({ type: "keyword", time_series_dimension: true });
    const metric = (n: string) => props.metrics!.properties[n]!.time_series_metric;
    expect(metric("node_cpu_seconds_total")).toBe("counter");
    expect(metric("rpc_duration_seconds_sum")).toBe("counter");
    expect(metric("rpc_duration_seconds_count")).toBe("counter");
    expect(metric("rpc_duration_seconds_bucket")).toBe("counter");
    expect(metric("node_load1")).toBe("gauge");
  });

  it("answers 204 to the same request twice and stores each sample once (TSDS id + 409 as success)", async () => {
    const ns = uniquePart("dup");
    const t = now();
    const body = writeBody([
      { labels: { __name__: "up", job: "a" }, samples: [[t, 1], [t + 1000, 1]] },
      { labels: { __name__: "up", job: "b" }, samples: [[t, 0]] },
    ]);
    expect((await post(`/metrics/dup/${ns}/api/v1/write`, body)).status).toBe(204);
    expect((await post(`/metrics/dup/${ns}/api/v1/write`, body)).status).toBe(204);
    expect(await countDocs(`metrics-dup.prometheus-${ns}`)).toBe(3);
  });

  it("stores staleness markers and non-finite values as marker documents", async () => {
    const ns = uniquePart("stale");
    const t = now();
    const res = await post(
      `/metrics/stale/${ns}/api/v1/write`,
      writeBody([{ labels: { __name__: "up", job: "x" }, samples: [[t, 1], [t + 1000, "stale"], [t + 2000, Number.NaN], [t + 3000, -Infinity]] }]),
    );
    expect(res.status).toBe(204);
    const docs = await searchDocs(`metrics-stale.prometheus-${ns}`, { match_all: {} });
    expect(docs.map((d) => d.promgate ?? d.metrics)).toEqual([
      { up: 1 },
      { special: "stale" },
      { special: "NaN" },
      { special: "-Inf" },
    ]);
  });

  it("stores every sample of Prometheus' own captured requests (timestamps moved to now)", async () => {
    const ns = uniquePart("fixture");
    let expected = 0;
    for (const name of ["rw-1.snappy", "rw-2.snappy", "rw-3.snappy", "rw-4.snappy"]) {
      const req = fromBinary(WriteRequestSchema, snappyDecompress(fixture(name), 1 << 25));
      const shift = BigInt(now()) - req.timeseries[0]!.samples[0]!.timestamp;
      for (const ts of req.timeseries) for (const s of ts.samples) s.timestamp += shift;
      expected += req.timeseries.reduce((n, ts) => n + ts.samples.length, 0);
      const res = await post(`/metrics/fixture/${ns}/api/v1/write`, snappy(toBinary(WriteRequestSchema, create(WriteRequestSchema, req))));
      expect(res.status).toBe(204);
    }
    expect(expected).toBeGreaterThan(1500);
    expect(await countDocs(`metrics-fixture.prometheus-${ns}`)).toBe(expected);
  });

  it("keeps metadata (the captured metadata-only request) in the metadata index, overwriting on resend", async () => {
    const ns = uniquePart("meta");
    for (let i = 0; i < 2; i++) expect((await post(`/metrics/meta/${ns}/api/v1/write`, fixture("rw-5.snappy"))).status).toBe(204);
    const stream = `metrics-meta.prometheus-${ns}`;
    expect(await countDocs("promgate-metadata", { term: { data_stream: stream } })).toBe(202);
    const extra = writeBody([], [{ family: "my_requests_total", type: MetricMetadata_MetricType.COUNTER, help: "Requests served.", unit: "requests" }]);
    expect((await post(`/metrics/meta/${ns}/api/v1/write`, extra)).status).toBe(204);
    const [doc] = await searchDocs("promgate-metadata", { bool: { filter: [{ term: { data_stream: stream } }, { term: { metric_family_name: "my_requests_total" } }] } });
    expect(doc).toMatchObject({ type: "counter", help: "Requests served.", unit: "requests", data_stream: stream });
  });

  it("stores the valid series of a partly invalid request and answers 400 naming the rest", async () => {
    const ns = uniquePart("partial");
    const t = now();
    const res = await post(
      `/metrics/partial/${ns}/api/v1/write`,
      writeBody([
        { labels: { __name__: "ok_metric" }, samples: [[t, 1]] },
        { labels: { job: "nameless" }, samples: [[t, 1]] },
        { labels: { __name__: "x", ["n".repeat(300)]: "v" }, samples: [[t, 1]] },
      ]),
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/stored 1 samples; not stored: series without __name__ label.*label name too long/);
    expect(await countDocs(`metrics-partial.prometheus-${ns}`)).toBe(1);
  });

  it("stores nothing from requests that cannot be decoded or are refused", async () => {
    const ns = uniquePart("bad");
    const path = `/metrics/bad/${ns}/api/v1/write`;
    const t = now();
    const good = writeRequestBytes([{ labels: { __name__: "up" }, samples: [[t, 1]] }]);
    const cases: [Uint8Array<ArrayBuffer>, Record<string, string>, number][] = [
      [snappy(good), { "content-encoding": "identity" }, 415],
      [snappy(good), { "content-type": "application/json" }, 415],
      [snappy(good), { authorization: basic("dev", "wrong") }, 401],
      [snappy(good), { authorization: "Bearer token-of-team-a" }, 403],
      [snappy(good).subarray(0, 5), {}, 400],
      [snappy(good.subarray(0, good.length - 3)), {}, 400],
      [new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]), {}, 413],
    ];
    for (const [body, headers, status] of cases) {
      const res = await post(path, body as Uint8Array<ArrayBuffer>, headers);
      expect(res.status, JSON.stringify(headers)).toBe(status);
    }
    expect(await countDocs(`metrics-bad.prometheus-${ns}`)).toBe(0);
  });

  it("answers 400 for samples outside the data stream's time window, storing the ones inside", async () => {
    // Full Elasticsearch bounds each TSDS backing index by index.look_back_time / look_ahead_time; the test
    // distribution lacks the module that sets those bounds, so this stream gets explicit ones, on top of
    // promgate's own component templates.
    const ns = uniquePart("window");
    const t = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const put = await es("PUT", `/_index_template/window-test-${ns}`, {
      index_patterns: [`metrics-window.prometheus-${ns}`],
      data_stream: {},
      priority: 600,
      composed_of: ["promgate-metrics@settings", "promgate-metrics@mappings"],
      template: { settings: { "index.time_series.start_time": iso(t - 3_600_000), "index.time_series.end_time": iso(t + 3_600_000) } },
    });
    expect(put.status).toBe(200);
    const res = await post(
      `/metrics/window/${ns}/api/v1/write`,
      writeBody([{ labels: { __name__: "up" }, samples: [[t - 3 * 3_600_000, 1], [t - 60_000, 1], [t + 3 * 3_600_000, 1]] }]),
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/^2 of 3 samples rejected by elasticsearch: timestamp_error ×2: the document timestamp .* is outside of ranges/);
    expect(await countDocs(`metrics-window.prometheus-${ns}`)).toBe(1);
  });

  it("stores a 10,000-sample request completely in one _bulk", async () => {
    const ns = uniquePart("big");
    const t = now();
    const series = Array.from({ length: 10_000 }, (_, i) => ({
      labels: { __name__: "node_cpu_seconds_total", cpu: String(i % 64), instance: `host-${Math.floor(i / 64)}:9100`, mode: "user" },
      samples: [[t, i] as [number, number]],
    }));
    expect((await post(`/metrics/big/${ns}/api/v1/write`, writeBody(series))).status).toBe(204);
    expect(await countDocs(`metrics-big.prometheus-${ns}`)).toBe(10_000);
  });
});
