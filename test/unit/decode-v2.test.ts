import { fromBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/config.js";
import * as v2 from "../../src/gen/io/prometheus/write/v2/types_pb.js";
import { decodeWriteRequest } from "../../src/ingest/decode.js";
import { decodeWriteRequestV2 } from "../../src/ingest/decode-v2.js";
import { BulkBodyWriter } from "../../src/ingest/documents.js";
import { decodeStoredHistogram } from "../../src/ingest/histogram.js";
import { type NativeHistogram, ResetHint } from "../../src/model/histogram.js";
import { bytesFromBase64 } from "../../src/util/base64.js";
import { fromGeneratedHistogram, MetricMetadata_MetricType, type SeriesSpec, writeRequestBytes, writeRequestV2Bytes } from "../helpers/payload.js";

/**
 * The remote write 2.0 hand decoder against the buf-generated reference, on seeded random requests with
 * floats, stale markers, start timestamps, integer/float/custom-bucket histograms, exemplars and metadata;
 * and against the 1.0 decoder: the same series sent either way make the same documents.
 */

type Line = Record<string, unknown>;

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomHistogram(r: () => number): NativeHistogram {
  const kind = r();
  const float = kind < 0.3;
  if (kind > 0.8) {
    const bounds = [0.005, 0.01, 0.1, 1, 10];
    const buckets = [1 + Math.floor(r() * 5), Math.floor(r() * 3), 2];
    const counts = float ? buckets.map((b) => b + 0.5) : buckets;
    return { float, schema: -53, zeroThreshold: 0, zeroCount: 0, count: counts.reduce((a, b) => a + b, 0), sum: r() * 100, positiveSpans: [{ offset: 1, length: 2 }, { offset: 1, length: 1 }], positiveBuckets: counts, negativeSpans: [], negativeBuckets: [], resetHint: ResetHint.Unknown, customValues: bounds };
  }
  const pos = Array.from({ length: 1 + Math.floor(r() * 6) }, () => Math.floor(r() * 9) + (float ? 0.25 : 0));
  const neg = r() < 0.5 ? [float ? 1.5 : 1] : [];
  const zero = float ? 0.75 : Math.floor(r() * 3);
  return {
    float,
    schema: Math.floor(r() * 13) - 4,
    zeroThreshold: r() < 0.5 ? 0 : 1e-128,
    zeroCount: zero,
    count: pos.reduce((a, b) => a + b, 0) + neg.reduce((a, b) => a + b, 0) + zero,
    sum: r() < 0.1 ? Number.NaN : r() * 1000 - 10,
    positiveSpans: pos.length > 2 ? [{ offset: -2, length: 2 }, { offset: 3, length: pos.length - 2 }] : [{ offset: 5, length: pos.length }],
    positiveBuckets: pos,
    negativeSpans: neg.length ? [{ offset: 0, length: 1 }] : [],
    negativeBuckets: neg,
    resetHint: Math.floor(r() * 4) as ResetHint,
    customValues: [],
  };
}

function randomSeries(seed: number, n: number): SeriesSpec[] {
  const r = rng(seed);
  const t0 = 1767268800000;
  return Array.from({ length: n }, (_, i) => {
    const histo = r() < 0.3;
    const name = histo ? `latency_${i % 3}_seconds` : `m_${i % 7}${r() < 0.5 ? "_total" : ""}`;
    const spec: SeriesSpec = {
      labels: { __name__: name, job: `j${i % 4}`, instance: `host-${i}:9100`, ...(r() < 0.3 ? { path: `/a "quoted" \\ ü ${i}` } : {}) },
      samples: histo ? [] : Array.from({ length: 1 + Math.floor(r() * 3) }, (_, k): [number, number | "stale"] => [t0 + k * 15_000, r() < 0.1 ? "stale" : Math.round(r() * 1e6) / 100]),
      histograms: histo ? Array.from({ length: 1 + Math.floor(r() * 2) }, (_, k): [number, NativeHistogram] => [t0 + k * 15_000, randomHistogram(r)]) : [],
      exemplars: r() < 0.3 ? [{ labels: { trace_id: `t${i}` }, value: r(), timestampMs: t0 }] : [],
      meta: { type: histo ? MetricMetadata_MetricType.HISTOGRAM : name.endsWith("_total") ? MetricMetadata_MetricType.COUNTER : MetricMetadata_MetricType.GAUGE, help: `help ${name}` },
    };
    if (r() < 0.3) spec.startMs = t0 - 3_600_000;
    return spec;
  });
}

function bulkLines(body: Uint8Array): [Line, Line][] {
  const lines = new TextDecoder().decode(body).split("\n");
  lines.pop();
  const out: [Line, Line][] = [];
  for (let i = 0; i < lines.length; i += 2) out.push([JSON.parse(lines[i]!) as Line, JSON.parse(lines[i + 1]!) as Line]);
  return out;
}

function ours(bytes: Uint8Array, version: 1 | 2) {
  const writer = new BulkBodyWriter(DEFAULT_LIMITS, 16, { exemplars: { index: "ex", dataStream: "metrics-x.prometheus-y" } });
  const stats = (version === 2 ? decodeWriteRequestV2 : decodeWriteRequest)(bytes, DEFAULT_LIMITS, writer);
  return { writer, stats, lines: bulkLines(writer.body()) };
}

describe("remote write 2.0 hand decoder", () => {
  it.each([1, 2, 3, 4, 5])("agrees with the generated decoder on random request %i", (seed) => {
    const bytes = writeRequestV2Bytes(randomSeries(seed, 60));
    const req = fromBinary(v2.RequestSchema, bytes);
    const { lines, stats, writer } = ours(bytes, 2);
    const docs = lines.filter(([a]) => !(a.create as Line)._index).map(([, d]) => d);
    const exemplars = lines.filter(([a]) => (a.create as Line)._index === "ex").map(([, d]) => d);
    let k = 0;
    let e = 0;
    let histograms = 0;
    for (const ts of req.timeseries) {
      const labels: Record<string, string> = {};
      for (let i = 0; i < ts.labelsRefs.length; i += 2) labels[req.symbols[ts.labelsRefs[i]!]!] = req.symbols[ts.labelsRefs[i + 1]!]!;
      const name = labels.__name__!;
      for (const s of ts.samples) {
        const doc = docs[k++]!;
        expect(doc["@timestamp"]).toBe(Number(s.timestamp));
        expect(doc.labels).toEqual(labels);
        const start = s.startTimestamp !== 0n ? Number(s.startTimestamp) : undefined;
        if (Number.isNaN(s.value)) expect(doc.promgate).toEqual({ special: "stale", ...(start ? { start_timestamp: start } : {}) });
        else {
          expect(doc.metrics).toEqual({ [name]: s.value });
          expect((doc.promgate as Line | undefined)?.start_timestamp).toBe(start);
        }
      }
      for (const h of ts.histograms) {
        histograms++;
        const doc = docs[k++]!;
        expect(doc["@timestamp"]).toBe(Number(h.timestamp));
        expect(doc.labels).toEqual(labels);
        const stored = decodeStoredHistogram(bytesFromBase64((doc.promgate as { histogram: string }).histogram)!);
        expect(stored).toEqual(fromGeneratedHistogram(h));
        expect((doc.promgate as Line).start_timestamp).toBe(h.startTimestamp !== 0n ? Number(h.startTimestamp) : undefined);
      }
      for (const x of ts.exemplars) {
        const doc = exemplars[e++]!;
        const xl: Record<string, string> = {};
        for (let i = 0; i < x.labelsRefs.length; i += 2) xl[req.symbols[x.labelsRefs[i]!]!] = req.symbols[x.labelsRefs[i + 1]!]!;
        expect(doc).toMatchObject({ "@timestamp": Number(x.timestamp), data_stream: "metrics-x.prometheus-y", labels, exemplar: { labels: xl, value: String(x.value) } });
      }
    }
    expect(k).toBe(docs.length);
    expect(e).toBe(exemplars.length);
    expect(stats.histograms).toBe(histograms);
    expect(writer.metadataEntries.map((m) => m.family).sort()).toEqual([...new Set(req.timeseries.map((ts) => req.symbols[ts.labelsRefs[1]!]!))].sort());
  });

  it.each([11, 12, 13])("makes the same documents as the 1.0 decoder for the same series (request %i)", (seed) => {
    const series = randomSeries(seed, 40).map((s) => ({ ...s, startMs: undefined }));
    const a = ours(writeRequestBytes(series), 1);
    const b = ours(writeRequestV2Bytes(series), 2);
    expect(b.lines).toEqual(a.lines);
  });
});

/** A 2.0 request from raw symbol bytes (the generated encoder cannot write invalid UTF-8), one sample per series. */
function rawV2(symbols: Uint8Array[], series: number[][]): Uint8Array {
  const out: number[] = [];
  const varint = (to: number[], n: number) => {
    while (n >= 0x80) (to.push((n & 0x7f) | 0x80), (n = Math.floor(n / 128)));
    to.push(n);
  };
  for (const s of symbols) (out.push(0x22), varint(out, s.length), out.push(...s));
  for (const refs of series) {
    const ts: number[] = [];
    const packed: number[] = [];
    for (const r of refs) varint(packed, r);
    ts.push(0x0a);
    varint(ts, packed.length);
    ts.push(...packed);
    // Sample { double value = 1 (1.5); int64 timestamp = 2 (1000) }
    ts.push(0x12, 12, 0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x10, 0xe8, 0x07);
    out.push(0x2a);
    varint(out, ts.length);
    out.push(...ts);
  }
  return new Uint8Array(out);
}

describe("what the writer remembers per symbol of a 2.0 request", () => {
  const text = (s: string) => new TextEncoder().encode(s);
  // 0 "", 1 __name__, 2 "a:b", 3 job, 4 `x"y`, 5 c, 6 invalid UTF-8, 7 d, 8 "1"
  const symbols = [text(""), text("__name__"), text("a:b"), text("job"), text('x"y'), text("c"), new Uint8Array([0x61, 0xc3, 0x28]), text("d"), text("1")];

  it("checks a symbol as a metric name and as a label name separately, and reuses escapes and refusals", () => {
    const bytes = rawV2(symbols, [
      [1, 2, 3, 4], // a:b{job="x\"y"}: a valid metric name
      [1, 5, 2, 8], // c{a:b="1"}: the same symbol is not a valid label name
      [1, 5, 3, 4], // c{job="x\"y"}: the escaped value again
      [1, 5, 3, 6], // c{job=<bad UTF-8>}
      [1, 7, 3, 6], // d{job=<bad UTF-8>}: refused again from what was remembered
      [1, 2, 3, 8], // a:b{job="1"}
    ]);
    const { writer, lines } = ours(bytes, 2);
    expect(lines.map(([, d]) => d.labels)).toEqual([
      { __name__: "a:b", job: 'x"y' },
      { __name__: "c", job: 'x"y' },
      { __name__: "a:b", job: "1" },
    ]);
    expect(lines.map(([, d]) => d.metrics)).toEqual([{ "a:b": 1.5 }, { c: 1.5 }, { "a:b": 1.5 }]);
    expect(writer.rejected.get("invalid label name")).toMatchObject({ series: 1, samples: 1 });
    expect(writer.rejected.get("label value not valid UTF-8")).toMatchObject({ series: 2, samples: 2 });
  });

  it("refuses a symbol that is no metric name wherever it names a metric", () => {
    const bad = [text(""), text("__name__"), text("9x"), text("job"), text("a")];
    const { writer, lines } = ours(rawV2(bad, [[1, 2, 3, 4], [1, 2, 3, 4], [1, 4, 3, 2]]), 2);
    expect(lines.map(([, d]) => d.labels)).toEqual([{ __name__: "a", job: "9x" }]);
    expect(writer.rejected.get("invalid metric name")).toMatchObject({ series: 2, samples: 2 });
  });
});
