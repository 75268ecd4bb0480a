import { create, toBinary } from "@bufbuild/protobuf";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { ReadRequest_ResponseType, ReadRequestSchema, ReadResponseSchema } from "../../src/gen/prometheus/remote_pb.js";
import { LabelMatcher_Type } from "../../src/gen/prometheus/types_pb.js";
import { fromBinary } from "@bufbuild/protobuf";
import SnappyJS from "snappyjs";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { bitsOf, decodeFrames, samplesBySeries } from "../helpers/chunks.js";
import { countDocs, integrationConfig, uniquePart } from "../helpers/es.js";
import { MetricMetadata_MetricType, type SeriesSpec, snappy, writeBody } from "../helpers/payload.js";

/** The read path over documents written through the ingest route into the real Elasticsearch. */

const app = createApp(integrationConfig(), defaultDeps());
const DEV = basic("dev", "promgate-dev");
const TEAMA = "Bearer token-of-team-a";
const ns = uniquePart("read");
const prefix = `/metrics/itread/${ns}`;
const T0 = Date.now() - 30 * 60_000; // 30 minutes ago, on a 15 s grid
const step = 15_000;

const SERIES: SeriesSpec[] = [
  { labels: { __name__: "http_requests_total", job: "api", instance: "a:80", path: "/" }, samples: [[T0, 1], [T0 + step, 2], [T0 + 2 * step, 3]] },
  { labels: { __name__: "http_requests_total", job: "api", instance: "b:80", path: "/login" }, samples: [[T0, 10], [T0 + step, 0]] },
  { labels: { __name__: "http_requests_total", job: "API", instance: "c:80" }, samples: [[T0, 5]] },
  { labels: { __name__: "up", job: "api", instance: "a:80" }, samples: [[T0, 1], [T0 + step, "stale"]] },
  { labels: { __name__: "up", job: "db", instance: "d:5432", note: 'line\nbreak "quoted"' }, samples: [[T0 + 10 * step, Number.NaN], [T0 + 11 * step, Infinity]] },
];

async function api(path: string, auth = DEV, init: RequestInit = {}) {
  const res = await app.request(path, { ...init, headers: { authorization: auth, ...(init.headers ?? {}) } });
  return { status: res.status, body: (await res.json()) as { status: string; data?: unknown; error?: string; errorType?: string; warnings?: string[] } };
}
const q = (path: string, params: Record<string, string | string[]>) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of ([] as string[]).concat(v)) u.append(k, x);
  return `${path}?${u}`;
};

beforeAll(async () => {
  const res = await app.request(`${prefix}/api/v1/write`, {
    method: "POST",
    body: writeBody(SERIES, [{ family: "http_requests_total", type: MetricMetadata_MetricType.COUNTER, help: "Requests.", unit: "" }]),
    headers: { ...PRW1_HEADERS, authorization: DEV },
  });
  expect(res.status).toBe(204);
  const teama = await app.request(`/metrics/teama/${ns}/api/v1/write`, {
    method: "POST",
    body: writeBody([{ labels: { __name__: "teama_only", job: "x" }, samples: [[T0, 1]] }]),
    headers: { ...PRW1_HEADERS, authorization: TEAMA },
  });
  expect(teama.status).toBe(204);
  await countDocs(`metrics-itread.prometheus-${ns},metrics-teama.prometheus-${ns},promgate-metadata`); // refresh
});

const names = (data: unknown) => (data as Record<string, string>[]).map((l) => `${l.__name__}{${l.instance ?? ""}}`).sort();

describe("/api/v1/series", () => {
  it.each([
    ['http_requests_total', ["http_requests_total{a:80}", "http_requests_total{b:80}", "http_requests_total{c:80}"]],
    ['http_requests_total{job="api"}', ["http_requests_total{a:80}", "http_requests_total{b:80}"]],
    ['http_requests_total{job=~"a.*"}', ["http_requests_total{a:80}", "http_requests_total{b:80}"]], // case-sensitive
    ['http_requests_total{job=~"(?i)a.*"}', ["http_requests_total{a:80}", "http_requests_total{b:80}", "http_requests_total{c:80}"]],
    ['http_requests_total{job=~"ap"}', []], // anchored
    ['http_requests_total{path=~"/login|/"}', ["http_requests_total{a:80}", "http_requests_total{b:80}"]],
    ['http_requests_total{path=~".*"}', ["http_requests_total{a:80}", "http_requests_total{b:80}", "http_requests_total{c:80}"]], // .* matches missing
    ['http_requests_total{path=""}', ["http_requests_total{c:80}"]],
    ['http_requests_total{path!=""}', ["http_requests_total{a:80}", "http_requests_total{b:80}"]],
    ['http_requests_total{path!~"/.+"}', ["http_requests_total{a:80}", "http_requests_total{c:80}"]],
    ['http_requests_total{path!~"/.*"}', ["http_requests_total{c:80}"]],
    ['http_requests_total{path!~""}', ["http_requests_total{a:80}", "http_requests_total{b:80}"]],
    ['{__name__=~"up|http_requests_total", instance="a:80"}', ["http_requests_total{a:80}", "up{a:80}"]],
    ['{note=~"line\\nbreak.*"}', ["up{d:5432}"]],
    ['{instance=~"\\\\w:\\\\d+"}', ["http_requests_total{a:80}", "http_requests_total{b:80}", "http_requests_total{c:80}", "up{a:80}", "up{d:5432}"]],
  ])("%s", async (sel, want) => {
    const r = await api(q(`${prefix}/api/v1/series`, { "match[]": sel }));
    expect(r.status).toBe(200);
    expect(names(r.body.data)).toEqual(want);
  });

  it("returns full label sets, unions several match[] and honours limit with a warning", async () => {
    const r = await api(q(`${prefix}/api/v1/series`, { "match[]": ['up{job="db"}', 'up{job="db"}'] }));
    expect(r.body.data).toEqual([{ __name__: "up", instance: "d:5432", job: "db", note: 'line\nbreak "quoted"' }]);
    const l = await api(q(`${prefix}/api/v1/series`, { "match[]": "http_requests_total", limit: "2" }));
    expect((l.body.data as unknown[]).length).toBe(2);
    expect(l.body.warnings).toEqual(["results truncated due to limit"]);
  });

  it("respects start/end boundaries (inclusive, in seconds or RFC 3339)", async () => {
    const at = (ms: number) => String(ms / 1000);
    const only = await api(q(`${prefix}/api/v1/series`, { "match[]": "up", start: at(T0 + 10 * step), end: at(T0 + 11 * step) }));
    expect(names(only.body.data)).toEqual(["up{d:5432}"]);
    const none = await api(q(`${prefix}/api/v1/series`, { "match[]": "up", start: at(T0 + 2 * step), end: new Date(T0 + 9 * step).toISOString() }));
    expect(none.body.data).toEqual([]);
    const edge = await api(q(`${prefix}/api/v1/series`, { "match[]": "up", start: at(T0 + 11 * step), end: at(T0 + 11 * step) }));
    expect(names(edge.body.data)).toEqual(["up{d:5432}"]);
  });

  it("takes form POSTs as Grafana sends them", async () => {
    const r = await api(`${prefix}/api/v1/series`, DEV, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ "match[]": 'up{job="api"}' }).toString(),
    });
    expect(names(r.body.data)).toEqual(["up{a:80}"]);
  });

  it.each([
    [{}, /no match\[\] parameter provided/],
    [{ "match[]": "up{" }, /invalid series selector/],
    [{ "match[]": '{job=~".*"}' }, /at least one non-empty matcher/],
    [{ "match[]": 'up{job=~"("}' }, /invalid regular expression/],
    [{ "match[]": "up", start: "yesterday" }, /cannot parse "yesterday"/],
    [{ "match[]": "up", start: "10", end: "5" }, /end timestamp must not be before start/],
  ])("400 bad_data for %o", async (params, text) => {
    const r = await api(q(`${prefix}/api/v1/series`, params as Record<string, string>));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ status: "error", errorType: "bad_data" });
    expect(r.body.error).toMatch(text);
  });
});

describe("/api/v1/labels, /api/v1/label/{name}/values, /api/v1/metadata, buildinfo", () => {
  it("lists label names, all or of matching series", async () => {
    expect((await api(`${prefix}/api/v1/labels`)).body.data).toEqual(["__name__", "instance", "job", "note", "path"]);
    expect((await api(q(`${prefix}/api/v1/labels`, { "match[]": 'up{job="api"}' }))).body.data).toEqual(["__name__", "instance", "job"]);
  });

  it("lists label values, with pushed-down and post-filtered matchers alike", async () => {
    expect((await api(`${prefix}/api/v1/label/job/values`)).body.data).toEqual(["API", "api", "db"]);
    expect((await api(`${prefix}/api/v1/label/__name__/values`)).body.data).toEqual(["http_requests_total", "up"]);
    expect((await api(q(`${prefix}/api/v1/label/instance/values`, { "match[]": 'up{job=~"a.+"}' }))).body.data).toEqual(["a:80"]);
    // \b cannot be pushed down: the same answer through the post-filter
    expect((await api(q(`${prefix}/api/v1/label/instance/values`, { "match[]": 'http_requests_total{path=~"\\\\/\\\\blogin"}' }))).body.data).toEqual(["b:80"]);
    expect((await api(q(`${prefix}/api/v1/label/job/values`, { limit: "1" }))).body.warnings).toEqual(["results truncated due to limit"]);
  });

  it("serves the metadata remote_write sent", async () => {
    const r = await api(`${prefix}/api/v1/metadata`);
    expect(r.body.data).toEqual({ http_requests_total: [{ type: "counter", help: "Requests.", unit: "" }] });
    expect((await api(q(`${prefix}/api/v1/metadata`, { metric: "nope" }))).body.data).toEqual({});
  });

  it("answers buildinfo like Prometheus", async () => {
    const r = await api("/api/v1/status/buildinfo");
    expect(r.body).toMatchObject({ status: "success", data: { version: expect.stringMatching(/^\d+\.\d+\.\d+$/) } });
  });
});

describe("tenant isolation", () => {
  it("tenant teama sees nothing of other streams, on every route", async () => {
    const paths = [
      q("/api/v1/series", { "match[]": '{job=~".+"}' }),
      "/api/v1/labels",
      "/api/v1/label/__name__/values",
      "/api/v1/label/instance/values",
      "/api/v1/metadata",
    ];
    for (const p of paths) {
      const r = await api(p, TEAMA);
      expect(r.status, p).toBe(200);
      expect(JSON.stringify(r.body.data), p).not.toMatch(/http_requests_total|a:80|d:5432/);
    }
    const own = await api(q("/api/v1/series", { "match[]": "teama_only" }), TEAMA);
    expect(names(own.body.data)).toEqual(["teama_only{}"]);
    expect((await api(q(`${prefix}/api/v1/series`, { "match[]": "up" }), TEAMA)).status).toBe(403);
    expect((await api(q("/api/v1/series", { "match[]": "up" }), "Bearer wrong-token-x")).status).toBe(401);
  });
});

describe("remote_read", () => {
  const readRequest = (types: ReadRequest_ResponseType[], matchers: { type: LabelMatcher_Type; name: string; value: string }[], start = T0 - 1, end = T0 + 60 * step) =>
    snappy(
      toBinary(
        ReadRequestSchema,
        create(ReadRequestSchema, {
          queries: [{ startTimestampMs: BigInt(start), endTimestampMs: BigInt(end), matchers }],
          acceptedResponseTypes: types,
        }),
      ),
    );
  const read = (body: Uint8Array<ArrayBuffer>, auth = DEV, headers: Record<string, string> = {}) =>
    app.request(`${prefix}/api/v1/read`, {
      method: "POST",
      body,
      headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", authorization: auth, ...headers },
    });
  const upMatchers = [{ type: LabelMatcher_Type.EQ, name: "__name__", value: "up" }];
  const expectedUp = new Map([
    [JSON.stringify([["__name__", "up"], ["instance", "a:80"], ["job", "api"]]), [{ t: T0, bits: bitsOf(1) }, { t: T0 + step, bits: "7ff0000000000002" }]],
    [
      JSON.stringify([["__name__", "up"], ["instance", "d:5432"], ["job", "db"], ["note", 'line\nbreak "quoted"']]),
      [{ t: T0 + 10 * step, bits: bitsOf(Number.NaN) }, { t: T0 + 11 * step, bits: bitsOf(Infinity) }],
    ],
  ]);

  it("answers SAMPLES with every sample, the staleness marker bit-exact", async () => {
    const res = await read(readRequest([ReadRequest_ResponseType.SAMPLES], upMatchers));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-encoding")).toBe("snappy");
    const raw = SnappyJS.uncompress(new Uint8Array(await res.arrayBuffer()));
    const decoded = fromBinary(ReadResponseSchema, raw);
    expect(decoded.results).toHaveLength(1);
    const got = new Map(
      decoded.results[0]!.timeseries.map((ts) => [
        JSON.stringify(ts.labels.map((l) => [l.name, l.value])),
        ts.samples.map((s) => ({ t: Number(s.timestamp), bits: bitsOf(s.value) })),
      ]),
    );
    // protobuf-es reads doubles through JS numbers, which may quiet the stale NaN: check its bytes instead.
    const staleBytes = [0x09, 0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f];
    expect(Buffer.from(raw).includes(Buffer.from(staleBytes))).toBe(true);
    const norm = (m: Map<string, { t: number; bits: string }[]>) =>
      new Map([...m].map(([k, v]) => [k, v.map((s) => ({ t: s.t, bits: s.bits.startsWith("7ff") && s.bits !== "7ff0000000000000" ? "nan" : s.bits }))]));
    expect(norm(got)).toEqual(norm(expectedUp));
  });

  it("answers STREAMED_XOR_CHUNKS with CRC-checked frames of XOR chunks", async () => {
    const res = await read(readRequest([ReadRequest_ResponseType.STREAMED_XOR_CHUNKS, ReadRequest_ResponseType.SAMPLES], upMatchers));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse");
    const frames = decodeFrames(new Uint8Array(await res.arrayBuffer()));
    expect(frames.every((f) => f.queryIndex === 0n)).toBe(true);
    expect(samplesBySeries(frames)).toEqual(expectedUp);
  });

  it("splits long series into chunks of at most 120 samples", async () => {
    const many: SeriesSpec = { labels: { __name__: "long_series", job: "x" }, samples: Array.from({ length: 300 }, (_, i) => [T0 + i * 1000, i] as [number, number]) };
    expect((await app.request(`${prefix}/api/v1/write`, { method: "POST", body: writeBody([many]), headers: { ...PRW1_HEADERS, authorization: DEV } })).status).toBe(204);
    await countDocs(`metrics-itread.prometheus-${ns}`);
    const res = await read(readRequest([ReadRequest_ResponseType.STREAMED_XOR_CHUNKS], [{ type: LabelMatcher_Type.EQ, name: "__name__", value: "long_series" }]));
    const frames = decodeFrames(new Uint8Array(await res.arrayBuffer()));
    const chunks = frames.flatMap((f) => f.chunkedSeries.flatMap((s) => s.chunks));
    expect(chunks.map((c) => (c.data[0]! << 8) | c.data[1]!)).toEqual([120, 120, 60]);
    const [samples] = [...samplesBySeries(frames).values()];
    expect(samples!.map((s) => s.t)).toEqual(many.samples.map(([t]) => t));
  });

  it("rejects bad requests with a 4xx and a reason", async () => {
    expect((await read(new Uint8Array([1, 2, 3]))).status).toBe(400);
    expect((await read(snappy(new Uint8Array([0x0a, 0x05, 0x01])))).status).toBe(400);
    expect((await read(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]))).status).toBe(413);
    const unknownType = await read(readRequest([7 as ReadRequest_ResponseType], upMatchers));
    expect(unknownType.status).toBe(400);
    expect(await unknownType.text()).toMatch(/unsupported response types/);
    const badRegex = await read(readRequest([], [{ type: LabelMatcher_Type.RE, name: "job", value: "(" }]));
    expect(badRegex.status).toBe(400);
    expect((await read(readRequest([], upMatchers), DEV, { "content-encoding": "gzip" })).status).toBe(415);
    expect((await read(readRequest([], upMatchers), "Bearer nope-nope-nope")).status).toBe(401);
  });
});

describe("pagination", () => {
  it("finds more than 10,000 series, and all of their label values and samples", async () => {
    const big = uniquePart("page");
    const total = 10_500;
    const series = (from: number, to: number): SeriesSpec[] =>
      Array.from({ length: to - from }, (_, k) => ({ labels: { __name__: "paged_metric", idx: String(from + k).padStart(5, "0") }, samples: [[T0, from + k]] }));
    for (const [from, to] of [[0, 6000], [6000, total]] as const) {
      const res = await app.request(`/metrics/itpage/${big}/api/v1/write`, { method: "POST", body: writeBody(series(from, to)), headers: { ...PRW1_HEADERS, authorization: DEV } });
      expect(res.status).toBe(204);
    }
    expect(await countDocs(`metrics-itpage.prometheus-${big}`)).toBe(total);
    const p = `/metrics/itpage/${big}`;
    const s = await api(q(`${p}/api/v1/series`, { "match[]": "paged_metric" }));
    expect((s.body.data as unknown[]).length).toBe(total);
    const v = await api(`${p}/api/v1/label/idx/values`);
    expect(v.body.data).toEqual(series(0, total).map((x) => x.labels.idx));
    const body = snappy(
      toBinary(ReadRequestSchema, create(ReadRequestSchema, {
        queries: [{ startTimestampMs: BigInt(T0 - 1), endTimestampMs: BigInt(T0 + 1), matchers: [{ type: LabelMatcher_Type.EQ, name: "__name__", value: "paged_metric" }] }],
        acceptedResponseTypes: [ReadRequest_ResponseType.STREAMED_XOR_CHUNKS],
      })),
    );
    const res = await app.request(`${p}/api/v1/read`, { method: "POST", body, headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", authorization: DEV } });
    const got = samplesBySeries(decodeFrames(new Uint8Array(await res.arrayBuffer())));
    expect(got.size).toBe(total);
    expect([...got.values()].every((x) => x.length === 1)).toBe(true);
  });
});

describe("streams with many metrics", () => {
  it("reads samples of more than 100 distinct metrics in one query (regression: docvalue_fields limit)", async () => {
    const wide = uniquePart("wide");
    const series: SeriesSpec[] = Array.from({ length: 150 }, (_, i) => ({ labels: { __name__: `wide_metric_${i}`, job: "w" }, samples: [[T0, i]] }));
    const w = await app.request(`/metrics/itwide/${wide}/api/v1/write`, { method: "POST", body: writeBody(series), headers: { ...PRW1_HEADERS, authorization: DEV } });
    expect(w.status).toBe(204);
    await countDocs(`metrics-itwide.prometheus-${wide}`);
    for (const type of [ReadRequest_ResponseType.SAMPLES, ReadRequest_ResponseType.STREAMED_XOR_CHUNKS]) {
      const body = snappy(
        toBinary(ReadRequestSchema, create(ReadRequestSchema, {
          queries: [{ startTimestampMs: BigInt(T0 - 1), endTimestampMs: BigInt(T0 + 1), matchers: [{ type: LabelMatcher_Type.EQ, name: "job", value: "w" }] }],
          acceptedResponseTypes: [type],
        })),
      );
      const res = await app.request(`/metrics/itwide/${wide}/api/v1/read`, { method: "POST", body, headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", authorization: DEV } });
      expect(res.status).toBe(200);
      const buf = new Uint8Array(await res.arrayBuffer());
      const n =
        type === ReadRequest_ResponseType.SAMPLES
          ? fromBinary(ReadResponseSchema, SnappyJS.uncompress(buf)).results[0]!.timeseries.filter((ts) => ts.samples.length === 1).length
          : samplesBySeries(decodeFrames(buf)).size;
      expect(n).toBe(150);
    }
  });
});
