import { describe, expect, it } from "vitest";
import { ResetHint, type NativeHistogram } from "../../src/model/histogram.js";
import { bucketsFromSamples } from "../../src/query/storage/buckets-from-samples.js";
import { mergePieces } from "../../src/query/storage/settled.js";
import { type SeriesSamples, seriesKey } from "../../src/query/storage/types.js";

const labels = { __name__: "x", job: "a" };
const piece = (ts: number[], vs: number[], stale: number[] = []): SeriesSamples => ({ key: seriesKey(labels), labels, timestamps: ts, values: vs, stale: new Set(stale) });
const H: NativeHistogram = { float: false, schema: 0, zeroThreshold: 0, zeroCount: 0, count: 1, sum: 1, positiveSpans: [], positiveBuckets: [], negativeSpans: [], negativeBuckets: [], resetHint: ResetHint.Unknown, customValues: [] };

describe("mergePieces", () => {
  it("joins a series' pieces in time order, whatever order they come in, keeping stale markers and histograms in place", () => {
    const late = piece([30, 40], [3, Number.NaN], [1]);
    const early = piece([10, 20], [1, Number.NaN]);
    early.histograms = [undefined, H];
    const [m] = mergePieces([late, piece([], []), early]);
    expect(m!.timestamps).toEqual([10, 20, 30, 40]);
    expect(m!.values.slice(0, 1)).toEqual([1]);
    expect([...m!.stale]).toEqual([3]);
    expect(m!.histograms).toEqual([undefined, H, undefined, undefined]);
  });
});

describe("bucketsFromSamples", () => {
  it("gives Storage.buckets' statistics: stale markers not counted, NaN counted but not in min/max, ±Inf in it, histograms apart", () => {
    const s = piece([1, 5, 9, 10, 11, 19, 20, 25], [4, Number.NaN, 2, Infinity, 7, Number.NaN, 1, 3], [5]);
    s.histograms = [undefined, undefined, undefined, undefined, H, undefined, undefined, undefined];
    s.values[4] = Number.NaN;
    // Buckets of 10 ms with ends ≡ 9 (mod 10), each holding (end − 10, end].
    const [b] = bucketsFromSamples([s], { bucketMs: 10, alignMs: 9, stat: "max", last: true });
    expect(b!.ends).toEqual([9, 19, 29]);
    expect(b!.counts).toEqual([3, 2, 2]); // 1,5,9 | 10,11 (19 is stale) | 20,25
    expect(b!.stat).toEqual([4, Infinity, 3]);
    expect(b!.histograms).toEqual([0, 1, 0]);
    expect(b!.last).toEqual([9, 19, 25]);
    expect(b!.lastStale).toEqual([false, true, false]);
  });

  it("leaves out `last` when no sample is a stale marker, and `histograms` for a series without any", () => {
    const [b] = bucketsFromSamples([piece([1, 2], [1, 2])], { bucketMs: 60, alignMs: 0, stat: "min", last: true });
    expect(b!.last).toBeUndefined();
    expect(b!.histograms).toBeUndefined();
    expect(b!.ends).toEqual([60]);
    expect(b!.stat).toEqual([1]);
  });
});
