import { describe, expect, it } from "vitest";
import { chunkDocument, chunkId, readChunks } from "../../src/chunks/documents.js";
import { settledEnd, WINDOW_MS, windowStart } from "../../src/chunks/window.js";
import { ChunkError, readXorChunk, type SampleSink } from "../../src/chunks/xor-read.js";
import { XorChunk } from "../../src/query/remote/xor.js";
import { type SeriesSamples, seriesKey } from "../../src/query/storage/types.js";
import { type NativeHistogram, ResetHint } from "../../src/model/histogram.js";
import { base64FromBytes, bytesFromPaddedBase64 } from "../../src/util/base64.js";
import { bitsOf } from "../helpers/chunks.js";

const sink = (): SampleSink => ({ timestamps: [], values: [], stale: new Set() });

describe("XOR chunk reading", () => {
  it("reads back what the writer wrote: every delta-of-delta bucket, value windows and negative times", () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const gaps = [15000, 15000, 15001, 14999, 30000, 1, 200000, 9_000_000, 2 ** 40, 15000, 5, 524288, 65536];
    const samples: [number, number][] = [];
    let t = -123_456;
    for (let i = 0; i < 300; i++) {
      t += gaps[i % gaps.length]!;
      const v = i % 11 === 0 ? 0 : i % 3 === 0 ? rnd() * 1e12 : i % 7 === 0 ? -rnd() : Math.floor(i / 4) * 0.25;
      samples.push([t, v]);
    }
    const c = new XorChunk();
    for (const [ts, v] of samples) c.append(ts, v);
    const out = sink();
    readXorChunk(c.bytes(), -Infinity, Infinity, out);
    expect(out.timestamps).toEqual(samples.map(([ts]) => ts));
    expect(out.values.map(bitsOf)).toEqual(samples.map(([, v]) => bitsOf(v)));
    expect(out.stale.size).toBe(0);
  });

  it("keeps -0, ±Inf, NaN and extremes exactly, and flags the staleness marker by its bits", () => {
    const values = [1, -0, Infinity, -Infinity, Number.NaN, Number.MAX_VALUE, Number.MIN_VALUE, -1e-300, 42, 42];
    const c = new XorChunk();
    values.forEach((v, i) => c.append(1000 * i, v));
    c.appendBits(10_000, 0x7ff00000, 0x00000002);
    c.append(11_000, 3);
    const out = sink();
    readXorChunk(c.bytes(), -Infinity, Infinity, out);
    expect(out.values.slice(0, values.length).map(bitsOf)).toEqual(values.map(bitsOf));
    expect([...out.stale]).toEqual([values.length]);
    expect(out.timestamps.at(-1)).toBe(11_000);
    expect(out.values.at(-1)).toBe(3);
  });

  it("keeps only samples inside [from, to], both ends included", () => {
    const c = new XorChunk();
    for (let i = 0; i < 10; i++) c.append(i * 10, i);
    const out = sink();
    readXorChunk(c.bytes(), 20, 50, out);
    expect(out.timestamps).toEqual([20, 30, 40, 50]);
  });

  it("refuses a truncated chunk instead of inventing samples", () => {
    const c = new XorChunk();
    for (let i = 0; i < 50; i++) c.append(i * 15_000 + (i % 3), i * 1.1);
    const bytes = c.bytes();
    expect(() => readXorChunk(bytes.subarray(0, bytes.length - 20), -Infinity, Infinity, sink())).toThrow(ChunkError);
  });
});

const HISTOGRAM: NativeHistogram = { float: false, schema: 0, zeroThreshold: 0, zeroCount: 0, count: 1, sum: 1, positiveSpans: [], positiveBuckets: [], negativeSpans: [], negativeBuckets: [], resetHint: ResetHint.Unknown, customValues: [] };

describe("chunk documents", () => {
  const series = (n: number, f: (i: number) => number, stale: number[] = []): SeriesSamples => {
    const labels = { __name__: "x_total", job: "a" };
    return { key: seriesKey(labels), labels, timestamps: Array.from({ length: n }, (_, i) => 1_000_000 + i * 15_000), values: Array.from({ length: n }, (_, i) => (stale.includes(i) ? Number.NaN : f(i))), stale: new Set(stale) };
  };

  it("cuts 120-sample XOR chunks, counts the raw documents and reads back bit for bit", () => {
    const s = series(300, (i) => i * 2.5, [130, 299]);
    const doc = chunkDocument("metrics-a.prometheus-b", 0, s, "r1");
    expect(doc.chunks).toHaveLength(3);
    expect(doc.docs).toBe(300);
    const out = sink();
    readChunks(doc.chunks!, -Infinity, Infinity, out);
    expect(out.timestamps).toEqual(s.timestamps);
    expect(out.values.map(bitsOf)).toEqual(s.values.map(bitsOf));
    expect([...out.stale]).toEqual([130, 299]);
  });

  it("leaves a series with a native histogram raw, still counting its documents", () => {
    const s = series(3, (i) => i);
    s.histograms = [undefined, HISTOGRAM, undefined];
    const doc = chunkDocument("s", 0, s, "r");
    expect(doc.raw).toBe(true);
    expect(doc.chunks).toBeUndefined();
    expect(doc.docs).toBe(3);
  });

  it("gives the same series in the same window the same _id", () => {
    const a = chunkDocument("s", WINDOW_MS, series(2, (i) => i), "r1");
    const b = chunkDocument("s", WINDOW_MS, series(5, (i) => i * 3), "r2");
    expect(chunkId(a.stream, a.start, a.key)).toBe(chunkId(b.stream, b.start, b.key));
    expect(chunkId("s", 0, a.key)).not.toBe(chunkId(a.stream, a.start, a.key));
  });
});

describe("windows", () => {
  it("are two hours, aligned, and settle one window behind the horizon", () => {
    expect(windowStart(WINDOW_MS + 1)).toBe(WINDOW_MS);
    expect(windowStart(-1)).toBe(-WINDOW_MS);
    const now = 10 * WINDOW_MS + 3_600_000 + 61_000;
    expect(settledEnd(now, 3_600_000)).toBe(10 * WINDOW_MS);
    expect(settledEnd(now - 2_000, 3_600_000)).toBe(9 * WINDOW_MS);
  });
});

describe("padded base64", () => {
  it("decodes what base64FromBytes writes, every length and byte, and refuses anything else", () => {
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 31) & 0xff);
      expect(bytesFromPaddedBase64(base64FromBytes(bytes))).toEqual(bytes);
    }
    expect(bytesFromPaddedBase64(base64FromBytes(Uint8Array.from({ length: 256 }, (_, i) => i)))).toEqual(Uint8Array.from({ length: 256 }, (_, i) => i));
    for (const bad of ["A", "AB=", "A===", "AB C", "AB\nC", "ÀBCD", "AB-_", "=AAA"]) expect(bytesFromPaddedBase64(bad), bad).toBeUndefined();
  });
});
