import { fromBinary } from "@bufbuild/protobuf";
import SnappyJS from "snappyjs";
import { DEFAULT_LIMITS } from "../src/config.js";
import { WriteRequestSchema } from "../src/gen/prometheus/remote_pb.js";
import { decodeWriteRequest } from "../src/ingest/decode.js";
import { BulkBodyWriter, bulkSizeHint } from "../src/ingest/documents.js";
import { snappyDecompress } from "../src/ingest/snappy.js";
import { decodeWriteRequestV2 } from "../src/ingest/decode-v2.js";
import { MetricMetadata_MetricType, type SeriesSpec, writeBody, writeBodyV2 } from "../test/helpers/payload.js";
import { nodeExporterBody, nodeExporterSeries } from "./payloads.js";
import { parseHa } from "../src/config/ha.js";
import { collectPairs, Dedupe } from "../src/ingest/ha/dedupe.js";

/**
 * Decode → `_bulk` body bytes, in one process and one run:
 *   naive: snappyjs + protobuf-es fromBinary + JSON.stringify per document (the obvious implementation)
 *   ours:  our snappy + hand decoder + direct NDJSON byte writer
 */

const enc = new TextEncoder();

export function naive(body: Uint8Array): Uint8Array {
  const req = fromBinary(WriteRequestSchema, SnappyJS.uncompress(body));
  const lines: string[] = [];
  for (const ts of req.timeseries) {
    const labels: Record<string, string> = {};
    for (const l of ts.labels) labels[l.name] = l.value;
    const name = labels.__name__!;
    for (const s of ts.samples) {
      lines.push('{"create":{}}');
      lines.push(JSON.stringify({ "@timestamp": Number(s.timestamp), labels, metrics: { [name]: s.value } }));
    }
  }
  return enc.encode(`${lines.join("\n")}\n`);
}

export function ours(body: Uint8Array): Uint8Array {
  return oursWithMemory(body).ndjson;
}

/** Our path, also reporting the most buffer memory it held at once: the decoded body plus the writer's buffers. */
export function oursWithMemory(body: Uint8Array): { ndjson: Uint8Array; peakBytes: number } {
  const decoded = snappyDecompress(body, DEFAULT_LIMITS.maxDecompressedBytes);
  const writer = new BulkBodyWriter(DEFAULT_LIMITS, bulkSizeHint(decoded.length));
  decodeWriteRequest(decoded, DEFAULT_LIMITS, writer);
  return { ndjson: writer.body(), peakBytes: decoded.length + writer.peakBufferBytes };
}

function timePerOp(fn: () => unknown, minMs: number): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    for (let i = 0; i < 5; i++) fn();
    n += 5;
    t = performance.now();
  }
  return (t - t0) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Median of alternating rounds: on a shared 2-core VM one long run is at the mercy of whatever else runs;
 * alternating the two paths exposes them to the same noise.
 */
export function compare(a: () => unknown, b: () => unknown, rounds = 7, roundMs = 300): [number, number] {
  for (let i = 0; i < 30; i++) (a(), b()); // warm up the JIT on both
  const ta: number[] = [];
  const tb: number[] = [];
  for (let r = 0; r < rounds; r++) {
    ta.push(timePerOp(a, roundMs));
    tb.push(timePerOp(b, roundMs));
  }
  return [median(ta), median(tb)];
}

export interface IngestRow {
  samples: number;
  compressedBytes: number;
  decodedBytes: number;
  naiveMs: number;
  oursMs: number;
  speedup: number;
  oursSamplesPerSec: number;
  peakBytes: number;
  peakRatio: number;
}

export function benchIngest(sizes = [2000, 10000]): IngestRow[] {
  const rows: IngestRow[] = [];
  for (const samples of sizes) {
    const body = nodeExporterBody(samples, 1767268800000);
    const decodedBytes = SnappyJS.uncompress(body).length;
    // Same bytes out of both paths, or the comparison means nothing.
    const a = new TextDecoder().decode(naive(body));
    const b = new TextDecoder().decode(ours(body));
    if (a !== b) throw new Error("naive and ours disagree on the _bulk body");
    const [naiveMs, oursMs] = compare(() => naive(body), () => ours(body));
    const { peakBytes } = oursWithMemory(body);
    rows.push({
      samples,
      compressedBytes: body.length,
      decodedBytes,
      naiveMs,
      oursMs,
      speedup: naiveMs / oursMs,
      oursSamplesPerSec: samples / (oursMs / 1000),
      peakBytes,
      peakRatio: peakBytes / decodedBytes,
    });
  }
  return rows;
}

/** Our path for a remote write 2.0 body: the same snappy, the 2.0 hand decoder, the same document writer. */
export function oursV2(body: Uint8Array): Uint8Array {
  const decoded = snappyDecompress(body, DEFAULT_LIMITS.maxDecompressedBytes);
  const writer = new BulkBodyWriter(DEFAULT_LIMITS, bulkSizeHint(decoded.length, "prw2"));
  decodeWriteRequestV2(decoded, DEFAULT_LIMITS, writer);
  return writer.body();
}

export interface ProtocolRow {
  samples: number;
  v1Ms: number;
  v2Ms: number;
  v1SamplesPerSec: number;
  v2SamplesPerSec: number;
  v2Bytes: number;
  v1Bytes: number;
}

/**
 * Remote write 1.0 vs 2.0 for the same scrape: 2.0 as Prometheus 3 sends it, with each series' metadata
 * (type and help) and strings interned in the symbols table. Both must produce the same `_bulk` body.
 */
export function benchProtocols(sizes = [2000, 10000]): ProtocolRow[] {
  const rows: ProtocolRow[] = [];
  for (const samples of sizes) {
    const series = nodeExporterSeries(samples, 1767268800000).map((s) => ({
      ...s,
      meta: { type: s.labels.__name__!.endsWith("_total") ? MetricMetadata_MetricType.COUNTER : MetricMetadata_MetricType.GAUGE, help: `Help of ${s.labels.__name__}.` },
    }));
    const v1 = writeBody(series);
    const v2 = writeBodyV2(series);
    if (new TextDecoder().decode(ours(v1)) !== new TextDecoder().decode(oursV2(v2))) throw new Error("1.0 and 2.0 bodies give different _bulk bodies");
    const [v1Ms, v2Ms] = compare(() => ours(v1), () => oursV2(v2));
    rows.push({ samples, v1Ms, v2Ms, v1SamplesPerSec: samples / (v1Ms / 1000), v2SamplesPerSec: samples / (v2Ms / 1000), v1Bytes: v1.length, v2Bytes: v2.length });
  }
  return rows;
}

/** Native histograms (schema 3, ~40 populated buckets each, as a latency histogram has) per second, 2.0. */
export function benchHistograms(count = 1000): { histograms: number; ms: number; perSec: number } {
  const buckets = Array.from({ length: 40 }, (_, i) => 1 + ((i * 7) % 13));
  const total = buckets.reduce((a, b) => a + b, 0);
  const series: SeriesSpec[] = Array.from({ length: count }, (_, i) => ({
    labels: { __name__: "http_request_duration_seconds", handler: `/api/v${i % 20}`, instance: `10.0.0.${i % 250}:8080`, job: "api" },
    samples: [],
    histograms: [
      [
        1767268800000,
        { float: false, schema: 3, zeroThreshold: 2.938735877055719e-39, zeroCount: 0, count: total, sum: 123.25, positiveSpans: [{ offset: -20, length: 40 }], positiveBuckets: buckets, negativeSpans: [], negativeBuckets: [], resetHint: 2, customValues: [] },
      ],
    ],
  }));
  const body = writeBodyV2(series);
  const [ms] = compare(() => oursV2(body), () => oursV2(body), 5, 200);
  return { histograms: count, ms, perSec: count / (ms / 1000) };
}

export interface HaRow {
  samples: number;
  plainMs: number;
  haMs: number;
  ratio: number;
}

/**
 * The HA step's cost on the write path (src/ingest/ha/dedupe.ts), elections already decided: the same
 * request with `cluster` and `__replica__` on every series, decoded into documents as for a tenant without
 * `ha`, then with the label-only first pass and the visitor that removes the replica label.
 */
export function benchHa(sizes = [2000, 10000]): HaRow[] {
  const ha = parseHa("bench", { enabled: true })!;
  const rows: HaRow[] = [];
  for (const samples of sizes) {
    const series = nodeExporterSeries(samples, 1767268800000).map((s) => ({ ...s, labels: { ...s.labels, cluster: "eu-1", __replica__: "r1" } }));
    const body = writeBody(series);
    const plain = () => ours(body);
    const withHa = () => {
      const decoded = snappyDecompress(body, DEFAULT_LIMITS.maxDecompressedBytes);
      const pairs = collectPairs(ha, decoded, "prw1", DEFAULT_LIMITS);
      const accepted = new Map([...pairs].map(([cluster, replicas]) => [cluster, new Map([...replicas].map((r) => [r, true]))]));
      const writer = new BulkBodyWriter(DEFAULT_LIMITS, bulkSizeHint(decoded.length));
      decodeWriteRequest(decoded, DEFAULT_LIMITS, new Dedupe(ha, accepted).wrap(writer));
      return writer.body();
    };
    if (new TextDecoder().decode(withHa()).includes("__replica__")) throw new Error("the HA path kept the replica label");
    const [plainMs, haMs] = compare(plain, withHa);
    rows.push({ samples, plainMs, haMs, ratio: haMs / plainMs });
  }
  return rows;
}
