import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import * as v2 from "../../src/gen/io/prometheus/write/v2/types_pb.js";
import { createApp, defaultDeps } from "../../src/app.js";
import { type Fetch } from "../../src/elastic/http.js";
import { type NativeHistogram, ResetHint } from "../../src/model/histogram.js";
import { compileMatcher } from "../../src/query/matchers.js";
import { readScope } from "../../src/query/scope.js";
import { Storage } from "../../src/query/storage/storage.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { countDocs, es, integrationConfig, searchDocs, uniquePart } from "../helpers/es.js";
import { MetricMetadata_MetricType, type SeriesSpec, snappy, V2_CONTENT_TYPE, writeBody, writeBodyV2 } from "../helpers/payload.js";

/**
 * Remote write 2.0 and native histograms, exemplars, metadata and start timestamps against the real
 * Elasticsearch: what is acknowledged is stored once, reads give back exactly what was sent, and bad input
 * gets a 4xx whose written-count headers say what was stored.
 */

const TENANTS = { hist: { password: "hist-password", streams: ["metrics-*.prometheus-*"] } };
const config = integrationConfig({ PROMGATE_TENANTS: JSON.stringify(TENANTS) });
const app = createApp(config, defaultDeps());
const AUTH = basic("hist", "hist-password");
const V2_HEADERS = { ...PRW1_HEADERS, "content-type": V2_CONTENT_TYPE, "x-prometheus-remote-write-version": "2.0.0" };

const post = (path: string, body: Uint8Array<ArrayBuffer>, headers: Record<string, string> = V2_HEADERS) =>
  app.request(path, { method: "POST", body, headers: { ...headers, authorization: AUTH } });

const written = (res: Response) => [
  res.headers.get("x-prometheus-remote-write-samples-written"),
  res.headers.get("x-prometheus-remote-write-histograms-written"),
  res.headers.get("x-prometheus-remote-write-exemplars-written"),
];

const now = () => Date.now() - 60_000;

const exponential = (count: number, float = false): NativeHistogram => ({
  float,
  schema: 1,
  zeroThreshold: 0.001,
  zeroCount: 1,
  count,
  sum: 12.5,
  positiveSpans: [{ offset: -1, length: 2 }, { offset: 2, length: 1 }],
  positiveBuckets: [count - 4, 1, 1],
  negativeSpans: [{ offset: 0, length: 1 }],
  negativeBuckets: [1],
  resetHint: ResetHint.No,
  customValues: [],
});

const custom: NativeHistogram = {
  float: false,
  schema: -53,
  zeroThreshold: 0,
  zeroCount: 0,
  count: 6,
  sum: 3.25,
  positiveSpans: [{ offset: 0, length: 2 }, { offset: 1, length: 1 }],
  positiveBuckets: [1, 2, 3],
  negativeSpans: [],
  negativeBuckets: [],
  resetHint: ResetHint.Unknown,
  customValues: [0.1, 0.5, 1, 5],
};

const floatHistogram: NativeHistogram = { ...exponential(10, true), positiveBuckets: [5.5, 0.25, 1.25], count: 9.5, zeroCount: 1.5, negativeBuckets: [1] };

async function readBack(stream: string, name: string, t0: number, t1: number) {
  const storage = new Storage(config, defaultDeps().fetch as Fetch);
  const tenant = config.tenants[0]!;
  const [dataset, namespace] = stream.replace(/^metrics-/, "").split(".prometheus-") as [string, string];
  const scope = readScope(tenant, { kind: "parts", dataset, namespace });
  const matchers = [compileMatcher({ name: "__name__", type: "=", value: name })];
  const range = { startMs: t0, endMs: t1 };
  return storage.snapshot(scope, async (at) => storage.samples(at, matchers, range, await storage.series(at, matchers, range), 1e6));
}

describe("remote write 2.0 into the real Elasticsearch", () => {
  it("stores floats, integer/float/custom-bucket histograms, exemplars and start timestamps; reads give back exactly what was sent; a retry stores nothing twice", async () => {
    const ns = uniquePart("v2");
    const stream = `metrics-rw2.prometheus-${ns}`;
    const t = now();
    const series: SeriesSpec[] = [
      {
        labels: { __name__: "http_requests_total", job: "api", code: "200" },
        samples: [[t, 10], [t + 15_000, 12]],
        startMs: t - 3_600_000,
        meta: { type: MetricMetadata_MetricType.COUNTER, help: "Requests served.", unit: "" },
        exemplars: [{ labels: { trace_id: "abc123" }, value: 1, timestampMs: t }],
      },
      { labels: { __name__: "rpc_latency_seconds", job: "api" }, samples: [], histograms: [[t, exponential(10)], [t + 15_000, exponential(14)]], meta: { type: MetricMetadata_MetricType.HISTOGRAM, help: "Latency.", unit: "seconds" }, exemplars: [{ labels: { trace_id: "def456", span_id: "1" }, value: 0.25, timestampMs: t + 15_000 }] },
      { labels: { __name__: "rpc_latency_seconds", job: "db" }, samples: [], histograms: [[t, floatHistogram]] },
      { labels: { __name__: "nhcb_seconds", job: "api" }, samples: [], histograms: [[t, custom], [t + 15_000, "stale"]] },
    ];
    const body = writeBodyV2(series);
    const res = await post(`/metrics/rw2/${ns}/api/v1/write`, body);
    expect(res.status).toBe(204);
    expect(written(res)).toEqual(["2", "5", "2"]);
    expect(await countDocs(stream)).toBe(7);

    const again = await post(`/metrics/rw2/${ns}/api/v1/write`, body);
    expect(again.status).toBe(204);
    expect(written(again)).toEqual(["2", "5", "2"]); // stored already counts as written
    expect(await countDocs(stream)).toBe(7);
    expect(await countDocs(config.exemplarIndex, { term: { data_stream: stream } })).toBe(2);

    // Start timestamps sit with their samples.
    const docs = await searchDocs(stream, { term: { "labels.__name__": "http_requests_total" } });
    expect(docs.map((d) => (d.promgate as { start_timestamp?: unknown } | undefined)?.start_timestamp).map(Number)).toEqual([t - 3_600_000, t - 3_600_000]);

    const latency = await readBack(stream, "rpc_latency_seconds", t - 1, t + 20_000);
    const api = latency.find((s) => s.labels.job === "api")!;
    expect(api.timestamps).toEqual([t, t + 15_000]);
    expect(api.histograms).toEqual([exponential(10), exponential(14)]);
    const db = latency.find((s) => s.labels.job === "db")!;
    expect(db.histograms).toEqual([floatHistogram]);

    const nhcb = (await readBack(stream, "nhcb_seconds", t - 1, t + 20_000))[0]!;
    expect(nhcb.histograms?.[0]).toEqual(custom);
    expect(nhcb.stale.has(1)).toBe(true);

    const floats = (await readBack(stream, "http_requests_total", t - 1, t + 20_000))[0]!;
    expect(floats.values).toEqual([10, 12]);
    expect(floats.histograms).toBeUndefined();

    // Exemplars come back per series through /api/v1/query_exemplars, as Prometheus answers.
    const ex = await app.request(`/metrics/rw2/${ns}/api/v1/query_exemplars?query=${encodeURIComponent("sum(rate(http_requests_total[5m])) + histogram_quantile(0.9, rate(rpc_latency_seconds[5m]))")}&start=${(t - 1000) / 1000}&end=${(t + 20_000) / 1000}`, { headers: { authorization: AUTH } });
    expect(ex.status).toBe(200);
    expect(((await ex.json()) as { data: unknown }).data).toEqual([
      { seriesLabels: { __name__: "http_requests_total", code: "200", job: "api" }, exemplars: [{ labels: { trace_id: "abc123" }, value: "1", timestamp: t / 1000 }] },
      { seriesLabels: { __name__: "rpc_latency_seconds", job: "api" }, exemplars: [{ labels: { span_id: "1", trace_id: "def456" }, value: "0.25", timestamp: (t + 15_000) / 1000 }] },
    ]);
    const outside = await app.request(`/metrics/rw2/${ns}/api/v1/query_exemplars?query=http_requests_total&start=${(t + 1000) / 1000}&end=${(t + 2000) / 1000}`, { headers: { authorization: AUTH } });
    expect(((await outside.json()) as { data: unknown }).data).toEqual([]);
    // A regex Elasticsearch refuses to determinize, and an alternation past its 1,000-character regexp limit.
    const jobs = `(${Array.from({ length: 300 }, (_, i) => `job-${i}\\.example`).join("|")}|api)`;
    for (const selector of ['http_requests_total{job=~"(.*p.{14})|api"}', `http_requests_total{job=~\`${jobs}\`}`]) {
      const res = await app.request(`/metrics/rw2/${ns}/api/v1/query_exemplars?query=${encodeURIComponent(selector)}&start=${(t - 1000) / 1000}&end=${(t + 20_000) / 1000}`, { headers: { authorization: AUTH } });
      expect(res.status, selector.slice(0, 60)).toBe(200);
      expect(((await res.json()) as { data: { seriesLabels: unknown }[] }).data.map((s) => s.seriesLabels)).toEqual([{ __name__: "http_requests_total", code: "200", job: "api" }]);
    }

    // Metadata 2.0 carried is served by /api/v1/metadata (once Elasticsearch has made it searchable).
    await es("POST", `/${config.metadataIndex}/_refresh`);
    const meta = await app.request(`/metrics/rw2/${ns}/api/v1/metadata`, { headers: { authorization: AUTH } });
    const metaJson = (await meta.json()) as { data: Record<string, { type: string; help: string; unit: string }[]> };
    expect(metaJson.data.rpc_latency_seconds).toEqual([{ type: "histogram", unit: "seconds", help: "Latency." }]);
    expect(metaJson.data.http_requests_total).toEqual([{ type: "counter", unit: "", help: "Requests served." }]);
  });

  it("metadata decides counter or gauge where it disagrees with the naming convention", async () => {
    const ns = uniquePart("types");
    const stream = `metrics-rw2.prometheus-${ns}`;
    const t = now();
    const res = await post(
      `/metrics/rw2/${ns}/api/v1/write`,
      writeBodyV2([
        { labels: { __name__: "queue_depth_total" }, samples: [[t, 3]], meta: { type: MetricMetadata_MetricType.GAUGE } },
        { labels: { __name__: "bytes_sent" }, samples: [[t, 3]], meta: { type: MetricMetadata_MetricType.COUNTER } },
        { labels: { __name__: "plain_total" }, samples: [[t, 3]] },
        { labels: { __name__: "plain_gauge" }, samples: [[t, 3]] },
      ]),
    );
    expect(res.status).toBe(204);
    const mapping = await es<Record<string, { mappings: { properties: { metrics: { properties: Record<string, { time_series_metric?: string }> } } } }>>("GET", `/${stream}/_mapping`);
    const fields = Object.values(mapping.json)[0]!.mappings.properties.metrics.properties;
    expect(fields.queue_depth_total?.time_series_metric).toBe("gauge");
    expect(fields.bytes_sent?.time_series_metric).toBe("counter");
    expect(fields.plain_total?.time_series_metric).toBe("counter");
    expect(fields.plain_gauge?.time_series_metric).toBe("gauge");
  });

  it("remote write 1.0 with native histograms and exemplars (send_native_histograms, send_exemplars)", async () => {
    const ns = uniquePart("v1h");
    const stream = `metrics-rw1.prometheus-${ns}`;
    const t = now();
    const res = await post(
      `/metrics/rw1/${ns}/api/v1/write`,
      writeBody([
        { labels: { __name__: "prometheus_http_request_duration_seconds", handler: "/metrics" }, samples: [], histograms: [[t, exponential(7)]], exemplars: [{ labels: { trace_id: "t1" }, value: 0.1, timestampMs: t }] },
        { labels: { __name__: "up", job: "p" }, samples: [[t, 1]] },
      ]),
      PRW1_HEADERS,
    );
    expect(res.status).toBe(204);
    expect(res.headers.get("x-prometheus-remote-write-samples-written")).toBeNull(); // a 1.0 answer
    expect(await countDocs(stream)).toBe(2);
    expect(await countDocs(config.exemplarIndex, { term: { data_stream: stream } })).toBe(1);
    const [h] = await readBack(stream, "prometheus_http_request_duration_seconds", t - 1, t + 1);
    expect(h!.histograms).toEqual([exponential(7)]);
  });

  describe("bad 2.0 input: a 4xx naming the reason, with headers saying what was stored", () => {
    const t = now();
    const good: SeriesSpec = { labels: { __name__: "good_metric" }, samples: [[t, 1]] };

    /** A 2.0 request built field by field with the generated code, refs exactly as given. */
    const raw = (symbols: string[], labelsRefs: number[], exemplarRefs?: number[]) =>
      snappy(
        toBinary(
          v2.RequestSchema,
          create(v2.RequestSchema, {
            symbols,
            timeseries: [
              {
                labelsRefs,
                samples: [{ value: 1, timestamp: BigInt(t) }],
                ...(exemplarRefs ? { exemplars: [{ labelsRefs: exemplarRefs, value: 1, timestamp: BigInt(t) }] } : {}),
              },
            ],
          }),
        ),
      );

    it.each([
      ["a label ref past the symbols table", raw(["", "__name__", "good_metric"], [1, 99]), /label ref 99 is past the symbols table \(3 symbols\)/],
      ["an odd labels_refs", raw(["", "__name__", "good_metric"], [1, 2, 1]), /odd number of refs \(3\)/],
      ["symbols[0] not empty", raw(["x", "__name__", "good_metric"], [1, 2]), /symbols\[0\] must be the empty string/],
      ["an exemplar with a ref past the symbols table", raw(["", "__name__", "good_metric", "trace_id"], [1, 2], [3, 42]), /exemplar label ref 42 is past the symbols table/],
      ["an exemplar with an odd labels_refs", raw(["", "__name__", "good_metric", "trace_id"], [1, 2], [3]), /Exemplar\.labels_refs has an odd number/],
    ])("%s: 400, nothing stored", async (_what, body, reason) => {
      const ns = uniquePart("bad");
      const res = await post(`/metrics/rw2/${ns}/api/v1/write`, body);
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(reason);
      expect(written(res)).toEqual(["0", "0", "0"]);
      expect(await countDocs(`metrics-rw2.prometheus-${ns}`)).toBe(0);
    });

    it.each([
      ["spans that disagree with the bucket counts", { ...exponential(10), positiveSpans: [{ offset: 0, length: 5 }] }, /histogram spans need 5 buckets, have 3/],
      ["a negative bucket count", { ...exponential(10, true), positiveBuckets: [-1, 1, 1] }, /negative count/],
      ["a schema out of range", { ...exponential(10), schema: 9 }, /schema 9 out of range/],
      ["a count that disagrees with the buckets", { ...exponential(10), count: 11 }, /buckets hold 10 observations, count says 11/],
    ])("%s: 400, the valid rest stored and counted", async (_what, h, reason) => {
      const ns = uniquePart("badh");
      const res = await post(
        `/metrics/rw2/${ns}/api/v1/write`,
        writeBodyV2([good, { labels: { __name__: "bad_histogram" }, samples: [], histograms: [[t, h as NativeHistogram], [t + 1000, exponential(10)]] }]),
      );
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(reason);
      expect(written(res)).toEqual(["1", "1", "0"]);
      expect(await countDocs(`metrics-rw2.prometheus-${ns}`)).toBe(2);
    });

    it("a 2.0 body sent as 1.0 and a 1.0 body sent as 2.0: 400 saying which", async () => {
      const ns = uniquePart("swap");
      const asV1 = await post(`/metrics/rw2/${ns}/api/v1/write`, writeBodyV2([good]), PRW1_HEADERS);
      expect(asV1.status).toBe(400);
      expect(await asV1.text()).toMatch(/remote write 2\.0 body .* sent as prometheus\.WriteRequest/);
      const asV2 = await post(`/metrics/rw2/${ns}/api/v1/write`, writeBody([good]));
      expect(asV2.status).toBe(400);
      expect(await asV2.text()).toMatch(/remote write 1\.0 body .* sent as io\.prometheus\.write\.v2\.Request/);
      expect(written(asV2)).toEqual(["0", "0", "0"]);
      expect(await countDocs(`metrics-rw2.prometheus-${ns}`)).toBe(0);
    });
  });
});

