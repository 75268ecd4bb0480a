import { fromBinary } from "@bufbuild/protobuf";
import SnappyJS from "snappyjs";
import { describe, expect, it } from "vitest";
import { ReadResponseSchema } from "../../src/gen/prometheus/remote_pb.js";
import { Chunk_Encoding, Histogram_ResetHint } from "../../src/gen/prometheus/types_pb.js";
import { type NativeHistogram, ResetHint } from "../../src/model/histogram.js";
import { samplesResponse, streamedResponse } from "../../src/query/remote/read.js";
import { SampleKind, sampleKinds, seriesChunks } from "../../src/query/remote/series-chunks.js";
import { decodeFrames } from "../helpers/chunks.js";
import { anyScope, fixedStorage, ReadRequest_ResponseType, readAll } from "../helpers/fake-storage.js";
import { hist, type Point, series } from "../reference/remote-read/cases.js";

/**
 * remote_read with native histograms. Byte-level agreement with Prometheus over many series is checked by
 * scripts/remote-read-reference.sh against Prometheus' Go code; these tests pin the rules one by one.
 */

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const header = (data: Uint8Array) => data[2]! & 0xc0;
const count = (data: Uint8Array) => (data[0]! << 8) | data[1]!;

describe("histogram chunks", () => {
  it("are the bytes Prometheus' chunkenc writes (vectors from storage.NewSeriesToChunkEncoder, v0.316.0)", () => {
    const zt = 2 ** -128;
    const s = series("golden", [
      [1000, hist({ schema: 3, zeroThreshold: zt, zeroCount: 1, count: 6, sum: 12.5, pos: [[2, [2, 3]]] })],
      // A new bucket in front: the chunk is written again with it (empty in the first sample).
      [16000, hist({ schema: 3, zeroThreshold: zt, zeroCount: 2, count: 12, sum: 20, pos: [[1, [1, 3, 4]]] })],
      // A bucket drops: counter reset, new chunk with the reset header; the stale marker joins it.
      [31000, hist({ schema: 3, zeroThreshold: zt, zeroCount: 2, count: 10, sum: 21, pos: [[1, [1, 3, 1]]] })],
      [46000, "stale"],
      [61000, hist({ float: true, schema: -53, customValues: [0.5, 1], zeroThreshold: 0, count: 3.5, sum: 7, pos: [[0, [1, 0.5, 2]]] })],
      [76000, hist({ float: true, schema: -53, customValues: [0.5, 1], zeroThreshold: 0, count: 4, sum: 8, pos: [[0, [1, 1, 2]]], hint: ResetHint.Gauge })],
    ]);
    expect(seriesChunks(s.series).map((c) => [c.encoding, c.minT, c.maxT, hex(c.data)])).toEqual([
      [Chunk_Encoding.HISTOGRAM, 1000, 16000, "000200749c67178fa2d140290000000000004a3f07531868eb17b100"],
      [Chunk_Encoding.HISTOGRAM, 31000, 46000, "000280749c6717c3c8c62a4806a000000000001195be0ea60c5eff8a000000000004"],
      [Chunk_Encoding.FLOAT_HISTOGRAM, 61000, 61000, "00010000ee5c664bbebe3e9f8ee48400c0000000000000000000000000000401c0000000000003ff00000000000003fe000000000000040000000000000000"],
      [Chunk_Encoding.FLOAT_HISTOGRAM, 76000, 76000, "0001c000ee5c664bbebe3e9f928e04010000000000000000000000000000040200000000000003ff00000000000003ff000000000000040000000000000000"],
    ]);
  });

  it("hold at most 120 samples and change with the sample type", () => {
    const points: Point[] = [];
    for (let i = 0; i < 250; i++) points.push([i * 1000, hist({ pos: [[0, [i, i]]] })]);
    for (let i = 250; i < 255; i++) points.push([i * 1000, i]);
    for (let i = 255; i < 260; i++) points.push([i * 1000, hist({ float: true, pos: [[0, [i / 2]]] })]);
    const chunks = seriesChunks(series("long", points).series);
    expect(chunks.map((c) => [c.encoding, count(c.data), c.minT, c.maxT])).toEqual([
      [Chunk_Encoding.HISTOGRAM, 120, 0, 119_000],
      [Chunk_Encoding.HISTOGRAM, 120, 120_000, 239_000],
      [Chunk_Encoding.HISTOGRAM, 10, 240_000, 249_000],
      [Chunk_Encoding.XOR, 5, 250_000, 254_000],
      [Chunk_Encoding.FLOAT_HISTOGRAM, 5, 255_000, 259_000],
    ]);
  });

  it("carry the counter-reset header: reset, not a reset, gauge, or unknown", () => {
    const h = (n: number, hint = ResetHint.Unknown, schema = 0) => hist({ pos: [[0, [n]]], hint, schema });
    const headers = (points: Point[]) => seriesChunks(series("hdr", points).series).map((c) => [count(c.data), header(c.data)]);
    // Opening chunk: unknown unless the sample says reset or gauge; a count that drops starts a reset chunk.
    expect(headers([[1, h(5)], [2, h(6)], [3, h(2)], [4, h(3)]])).toEqual([[2, 0x00], [2, 0x80]]);
    expect(headers([[1, h(5, ResetHint.Yes)], [2, h(6, ResetHint.Yes)]])).toEqual([[1, 0x80], [1, 0x80]]);
    expect(headers([[1, h(5, ResetHint.Gauge)], [2, h(1, ResetHint.Gauge)], [3, h(7)]])).toEqual([[2, 0xc0], [1, 0x40]]);
    // A schema change cuts without saying whether the counter reset.
    expect(headers([[1, h(5)], [2, h(6, ResetHint.Unknown, 2)]])).toEqual([[1, 0x00], [1, 0x00]]);
    // After a staleness marker only markers join the chunk.
    expect(headers([[1, h(5)], [2, "stale"], [3, "stale"], [4, h(6)]])).toEqual([[3, 0x00], [1, 0x00]]);
  });

  it("absorb buckets that appear, and empty buckets that vanish, without a new chunk", () => {
    const chunks = seriesChunks(
      series("grow", [
        [1, hist({ pos: [[0, [1, 0, 2]]] })],
        [2, hist({ pos: [[0, [1]], [1, [3]], [5, [1]]] })], // the empty bucket 1 is gone, bucket 8 is new
        [3, hist({ pos: [[-2, [1]], [2, [2, 0, 3]]] })], // bucket 0 (count 1) is gone: a counter reset
      ]).series,
    );
    expect(chunks.map((c) => [count(c.data), header(c.data)])).toEqual([[2, 0x00], [1, 0x80]]);
  });
});

describe("staleness markers in histogram series", () => {
  it("take the type of the sample before them, or of the first after them when they open the answer", () => {
    const s = series("kinds", [
      [1, "stale"],
      [2, hist({ float: true, pos: [[0, [1]]] })],
      [3, "stale"],
      [4, 5],
      [5, "stale"],
      [6, hist({ pos: [[0, [1]]] })],
      [7, "stale", hist({ float: true, pos: [[0, [1]]] })],
    ]).series;
    expect(sampleKinds(s)).toEqual([
      SampleKind.FloatHistogram,
      SampleKind.FloatHistogram,
      SampleKind.FloatHistogram,
      SampleKind.Float,
      SampleKind.Float,
      SampleKind.Histogram,
      SampleKind.FloatHistogram,
    ]);
  });
});

async function samplesOf(points: Point[]) {
  const s = series("m", points).series;
  const res = await samplesResponse(fixedStorage([s]), anyScope, readAll(ReadRequest_ResponseType.SAMPLES), 1e6);
  const raw = SnappyJS.uncompress(new Uint8Array(await res.arrayBuffer())) as Uint8Array;
  return { raw, ts: fromBinary(ReadResponseSchema, raw).results[0]!.timeseries };
}

describe("SAMPLES answers with native histograms", () => {
  it("send integer histograms as counts and bucket deltas, float histograms as absolute counts", async () => {
    const intH: NativeHistogram = hist({ schema: 2, zeroThreshold: 0.001, zeroCount: 3, sum: 42.5, pos: [[-1, [4, 6]], [2, [1]]], neg: [[0, [2]]], hint: ResetHint.No });
    const floatH = hist({ float: true, schema: -53, customValues: [0.25, 1], zeroThreshold: 0, count: 7.5, sum: -3, pos: [[0, [1.5, 0, 6]]], hint: ResetHint.Gauge });
    const { ts } = await samplesOf([
      [1000, intH],
      [2000, floatH],
    ]);
    expect(ts).toHaveLength(1);
    expect(ts[0]!.samples).toEqual([]);
    const [a, b] = ts[0]!.histograms;
    expect(a).toMatchObject({
      count: { case: "countInt", value: 16n },
      zeroCount: { case: "zeroCountInt", value: 3n },
      sum: 42.5,
      schema: 2,
      zeroThreshold: 0.001,
      positiveSpans: [{ offset: -1, length: 2 }, { offset: 2, length: 1 }],
      positiveDeltas: [4n, 2n, -5n],
      positiveCounts: [],
      negativeSpans: [{ offset: 0, length: 1 }],
      negativeDeltas: [2n],
      resetHint: Histogram_ResetHint.NO,
      timestamp: 1000n,
      customValues: [],
    });
    expect(b).toMatchObject({
      count: { case: "countFloat", value: 7.5 },
      zeroCount: { case: "zeroCountFloat", value: 0 },
      sum: -3,
      schema: -53,
      positiveCounts: [1.5, 0, 6],
      positiveDeltas: [],
      resetHint: Histogram_ResetHint.GAUGE,
      timestamp: 2000n,
      customValues: [0.25, 1],
    });
  });

  it("keep floats in samples and histograms in histograms when a series has both, markers by their type", async () => {
    const { raw, ts } = await samplesOf([
      [1, 1.5],
      [2, "stale"],
      [3, hist({ pos: [[0, [2]]] })],
      [4, "stale"],
      [5, hist({ float: true, pos: [[0, [2.5]]] })],
      [6, "stale"],
    ]);
    const [t] = ts;
    expect(t!.samples.map((s) => Number(s.timestamp))).toEqual([1, 2]);
    expect(t!.histograms.map((h) => [Number(h.timestamp), h.count.case])).toEqual([
      [3, "countInt"],
      [4, "countInt"],
      [5, "countFloat"],
      [6, "countFloat"],
    ]);
    // Markers as Prometheus stores them: a histogram of the right flavour with only the StaleNaN sum.
    expect(t!.histograms[1]).toMatchObject({ count: { case: "countInt", value: 0n }, zeroCount: { case: "zeroCountInt", value: 0n }, positiveSpans: [], schema: 0 });
    expect(t!.histograms[3]).toMatchObject({ count: { case: "countFloat", value: 0 }, zeroCount: { case: "zeroCountFloat", value: 0 } });
    // The marker's exact bits (a JS number cannot hold them): float Sample.value and Histogram.sum.
    const staleBits = "020000000000f07f";
    expect(hex(raw).split(`09${staleBits}`).length - 1).toBe(1);
    expect(hex(raw).split(`19${staleBits}`).length - 1).toBe(2);
  });
});

describe("STREAMED_XOR_CHUNKS answers with native histograms", () => {
  it("stream each series' chunks with their encodings, frames within Prometheus' 1 MiB rule", async () => {
    const points: Point[] = [];
    const wide = Array.from({ length: 300 }, (_, i) => i * 1.25);
    for (let i = 0; i < 1200; i++) {
      for (let b = 0; b < wide.length; b++) wide[b]! += ((i * 7919 + b * 104729) % 1000) / 7;
      points.push([i * 15_000, hist({ float: true, pos: [[0, wide.slice()]] })]);
    }
    points.push([1200 * 15_000, 4], [1201 * 15_000, hist({ pos: [[0, [1]]] })]);
    const s = series("wide", points).series;
    const res = await streamedResponse(fixedStorage([s]), anyScope, readAll(ReadRequest_ResponseType.STREAMED_XOR_CHUNKS), 1e7);
    const frames = decodeFrames(new Uint8Array(await res.arrayBuffer()));
    const chunks = frames.flatMap((f) => f.chunkedSeries.flatMap((cs) => cs.chunks));
    expect(chunks.map((c) => [c.type, hex(c.data)])).toEqual(seriesChunks(s).map((c) => [c.encoding, hex(c.data)]));
    expect(chunks.map((c) => c.type).slice(-3)).toEqual([Chunk_Encoding.FLOAT_HISTOGRAM, Chunk_Encoding.XOR, Chunk_Encoding.HISTOGRAM]);
    expect(frames.length).toBeGreaterThan(1);
    for (const f of frames) {
      const cs = f.chunkedSeries[0]!;
      expect(cs.labels.map((l) => l.name)).toEqual(["__name__", "job"]);
      // A frame closes with the chunk that reaches the limit: all but its last chunk fit under 1 MiB.
      const sizes = cs.chunks.map((c) => c.data.length);
      expect(sizes.slice(0, -1).reduce((a, b) => a + b, 0)).toBeLessThan(1024 * 1024);
    }
  });
});
