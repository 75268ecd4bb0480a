import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import SnappyJS from "snappyjs";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { ReadRequest_ResponseType, ReadRequestSchema, ReadResponseSchema } from "../../src/gen/prometheus/remote_pb.js";
import { type Histogram, LabelMatcher_Type } from "../../src/gen/prometheus/types_pb.js";
import { type NativeHistogram, ResetHint } from "../../src/model/histogram.js";
import { seriesChunks } from "../../src/query/remote/series-chunks.js";
import type { SeriesSamples } from "../../src/query/storage/types.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { decodeFrames } from "../helpers/chunks.js";
import { countDocs, integrationConfig, uniquePart } from "../helpers/es.js";
import { fromGeneratedHistogram, type SeriesSpec, snappy, writeBody } from "../helpers/payload.js";

/**
 * remote_read of native histograms stored in the real Elasticsearch: what remote write sent comes back in
 * SAMPLES answers (integer histograms as deltas, float ones as counts, markers typed by their series) and as
 * the histogram chunks Prometheus would cut from the same samples (whose bytes scripts/remote-read-reference.sh
 * checks against Prometheus' Go code).
 */

const app = createApp(integrationConfig(), defaultDeps());
const DEV = basic("dev", "promgate-dev");
const ns = uniquePart("rrhist");
const prefix = `/metrics/rrhist/${ns}`;
const T0 = Date.now() - 60 * 60_000;
const STEP = 15_000;

const exp = (count: number, extra: Partial<NativeHistogram> = {}): NativeHistogram => ({
  float: false,
  schema: 2,
  zeroThreshold: 2 ** -128,
  zeroCount: 1,
  count,
  sum: count * 0.75,
  positiveSpans: [{ offset: -1, length: 2 }],
  positiveBuckets: [count - 3, 2],
  negativeSpans: [],
  negativeBuckets: [],
  resetHint: ResetHint.Unknown,
  customValues: [],
  ...extra,
});

// 130 counter histograms: a bucket appears at 40, the counter resets at 90; then a stale marker.
const latency: [number, NativeHistogram | "stale"][] = Array.from({ length: 130 }, (_, i) => {
  const n = i < 90 ? 10 + i : 4 + (i - 90);
  const h = i < 40 ? exp(n) : exp(n + 1, { positiveSpans: [{ offset: -1, length: 2 }, { offset: 3, length: 1 }], positiveBuckets: [n - 3, 2, 1] });
  return [T0 + i * STEP, h];
});
latency.push([T0 + 130 * STEP, "stale"]);

const gauge: [number, NativeHistogram][] = [0, 1, 2, 3].map((i) => [
  T0 + i * STEP,
  { ...exp(0), float: true, count: 2.5 + i, zeroCount: 0.5, positiveSpans: [{ offset: i, length: 1 }], positiveBuckets: [2 + i], resetHint: ResetHint.Gauge },
]);

const nhcb: [number, NativeHistogram][] = [0, 1].map((i) => [
  T0 + i * STEP,
  { ...exp(0), schema: -53, zeroThreshold: 0, zeroCount: 0, count: 6 + i, positiveSpans: [{ offset: 0, length: 3 }], positiveBuckets: [1, 2 + i, 3], customValues: [0.1, 0.5, 1] },
]);

const SERIES: SeriesSpec[] = [
  { labels: { __name__: "rr_latency_seconds", job: "api" }, samples: [], histograms: latency },
  { labels: { __name__: "rr_queue_fill", job: "api" }, samples: [], histograms: gauge },
  { labels: { __name__: "rr_nhcb_seconds", job: "api" }, samples: [], histograms: nhcb },
  // Floats, then histograms, under one label set (an instrumentation change): both kinds come back.
  { labels: { __name__: "rr_changed", job: "api" }, samples: [[T0, 1], [T0 + STEP, 2]], histograms: [[T0 + 2 * STEP, exp(5)], [T0 + 3 * STEP, exp(6)]] },
];

/** What storage should hand the encoders for a spec: samples in time order, histograms where sent. */
function expected(spec: SeriesSpec): SeriesSamples {
  const points: [number, number | NativeHistogram | "stale"][] = [...spec.samples, ...(spec.histograms ?? [])].sort((a, b) => a[0] - b[0]);
  const s: SeriesSamples = { key: "", labels: spec.labels, timestamps: [], values: [], stale: new Set(), histograms: [] };
  for (const [t, v] of points) {
    if (v === "stale") s.stale.add(s.timestamps.length);
    s.histograms!.push(typeof v === "object" ? v : undefined);
    s.timestamps.push(t);
    s.values.push(typeof v === "number" ? v : Number.NaN);
  }
  return s;
}

const read = (name: string, type: ReadRequest_ResponseType) =>
  app.request(`${prefix}/api/v1/read`, {
    method: "POST",
    body: snappy(
      toBinary(
        ReadRequestSchema,
        create(ReadRequestSchema, {
          queries: [{ startTimestampMs: BigInt(T0 - 1), endTimestampMs: BigInt(T0 + 200 * STEP), matchers: [{ type: LabelMatcher_Type.EQ, name: "__name__", value: name }] }],
          acceptedResponseTypes: [type],
        }),
      ),
    ),
    headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", authorization: DEV },
  });


beforeAll(async () => {
  const res = await app.request(`${prefix}/api/v1/write`, { method: "POST", body: writeBody(SERIES), headers: { ...PRW1_HEADERS, authorization: DEV } });
  expect(res.status).toBe(204);
  expect(await countDocs(`metrics-rrhist.prometheus-${ns}`)).toBe(131 + 4 + 2 + 4);
});

describe("remote_read of native histograms from Elasticsearch", () => {
  it("SAMPLES: every histogram as written, the stale marker as an integer histogram of that series", async () => {
    for (const spec of SERIES) {
      const name = spec.labels.__name__!;
      const res = await read(name, ReadRequest_ResponseType.SAMPLES);
      expect(res.status).toBe(200);
      const raw = SnappyJS.uncompress(new Uint8Array(await res.arrayBuffer())) as Uint8Array;
      const [ts] = fromBinary(ReadResponseSchema, raw).results[0]!.timeseries;
      expect(ts!.samples.map((s) => [Number(s.timestamp), s.value]), name).toEqual(spec.samples);
      const hs = ts!.histograms.map((h) => [Number(h.timestamp), h]);
      const sent = spec.histograms!.filter(([, h]) => h !== "stale");
      expect(hs.filter(([, h]) => !Number.isNaN((h as Histogram).sum)).map(([t, h]) => [t, fromGeneratedHistogram(h as Histogram)]), name).toEqual(sent);
    }
    const res = await read("rr_latency_seconds", ReadRequest_ResponseType.SAMPLES);
    const raw = SnappyJS.uncompress(new Uint8Array(await res.arrayBuffer())) as Uint8Array;
    const marker = fromBinary(ReadResponseSchema, raw).results[0]!.timeseries[0]!.histograms.at(-1)!;
    expect(marker).toMatchObject({ timestamp: BigInt(T0 + 130 * STEP), count: { case: "countInt", value: 0n }, positiveSpans: [] });
    // Histogram.sum with the StaleNaN bits (tag 0x19), which a JS number cannot carry.
    expect(Buffer.from(raw).includes(Buffer.from([0x19, 0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]))).toBe(true);
  });

  it("STREAMED_XOR_CHUNKS: the chunks Prometheus cuts from the samples written", async () => {
    for (const spec of SERIES) {
      const name = spec.labels.__name__!;
      const res = await read(name, ReadRequest_ResponseType.STREAMED_XOR_CHUNKS);
      expect(res.status).toBe(200);
      const chunks = decodeFrames(new Uint8Array(await res.arrayBuffer())).flatMap((f) => f.chunkedSeries.flatMap((s) => s.chunks));
      const want = seriesChunks(expected(spec));
      expect(chunks.map((c) => [c.type, Number(c.minTimeMs), Number(c.maxTimeMs), Buffer.from(c.data).toString("hex")]), name).toEqual(
        want.map((c) => [c.encoding, c.minT, c.maxT, Buffer.from(c.data).toString("hex")]),
      );
    }
    // The long series: 120 samples, then a new chunk at the reset (header 0b10), the marker joining it.
    const res = await read("rr_latency_seconds", ReadRequest_ResponseType.STREAMED_XOR_CHUNKS);
    const chunks = decodeFrames(new Uint8Array(await res.arrayBuffer())).flatMap((f) => f.chunkedSeries.flatMap((s) => s.chunks));
    expect(chunks.map((c) => [(c.data[0]! << 8) | c.data[1]!, c.data[2]! & 0xc0])).toEqual([
      [90, 0x00],
      [41, 0x80],
    ]);
  });
});
