/**
 * One series' samples as remote_read chunks, cut as Prometheus cuts a series it encodes
 * (storage.NewSeriesToChunkEncoder, v0.316.0): a new chunk whenever the sample type changes (float,
 * integer histogram, float histogram) or the open chunk holds 120 samples, and whenever the histogram
 * encoder starts one itself (counter reset, layout change it cannot absorb, stale marker followed by data).
 */
import type { NativeHistogram } from "../../model/histogram.js";
import type { SeriesSamples } from "../storage/types.js";
import { STALE_HI, STALE_LO } from "./bitstream.js";
import { type ChunkHistogram, HistogramChunk, staleHistogram } from "./histogram-chunk.js";
import { XorChunk } from "./xor.js";

/** `prometheus.Chunk.Encoding` values (chunkenc.Encoding). */
export const enum ChunkEncoding {
  XOR = 1,
  Histogram = 2,
  FloatHistogram = 3,
}

export interface EncodedChunk {
  encoding: ChunkEncoding;
  minT: number;
  maxT: number;
  data: Uint8Array<ArrayBuffer>;
}

/** Prometheus' chunk size for a series it encodes: 120 samples. */
export const SAMPLES_PER_CHUNK = 120;

export const enum SampleKind {
  Float,
  Histogram,
  FloatHistogram,
}

const kindOf = (h: NativeHistogram): SampleKind => (h.float ? SampleKind.FloatHistogram : SampleKind.Histogram);

/**
 * The type of each sample. A staleness marker has the type of the sample before it in the series, as
 * Prometheus' head appends a marker after a histogram as a histogram; a marker opening the answer (its
 * predecessor lies before the range) takes the type of the first sample after it, else float.
 */
export function sampleKinds(s: SeriesSamples): SampleKind[] {
  const n = s.timestamps.length;
  const kinds = new Array<SampleKind | undefined>(n);
  let prev: SampleKind | undefined;
  for (let i = 0; i < n; i++) {
    const h = s.histograms?.[i];
    if (h) kinds[i] = kindOf(h);
    else if (!s.stale.has(i)) kinds[i] = SampleKind.Float;
    else kinds[i] = prev;
    prev = kinds[i];
  }
  let next: SampleKind = SampleKind.Float;
  for (let i = n - 1; i >= 0; i--) {
    if (kinds[i] === undefined) kinds[i] = next;
    else next = kinds[i]!;
  }
  return kinds as SampleKind[];
}

/** A stored histogram as the chunk encoder takes it (a stale marker: only its StaleNaN sum). */
export function chunkHistogram(h: NativeHistogram | undefined, stale: boolean): ChunkHistogram {
  if (stale || !h) return staleHistogram();
  return {
    hint: h.resetHint,
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    count: h.count,
    zeroCount: h.zeroCount,
    sum: h.sum,
    stale: false,
    positiveSpans: h.positiveSpans,
    positiveBuckets: h.positiveBuckets,
    negativeSpans: h.negativeSpans,
    negativeBuckets: h.negativeBuckets,
    customValues: h.customValues,
  };
}

type OpenChunk = { kind: SampleKind.Float; c: XorChunk; n: number } | { kind: SampleKind.Histogram | SampleKind.FloatHistogram; c: HistogramChunk; n: number };

function close(open: OpenChunk): EncodedChunk {
  if (open.kind === SampleKind.Float) return { encoding: ChunkEncoding.XOR, minT: open.c.minT, maxT: open.c.maxT, data: open.c.bytes() };
  const encoding = open.kind === SampleKind.Histogram ? ChunkEncoding.Histogram : ChunkEncoding.FloatHistogram;
  return { encoding, minT: open.c.minT, maxT: open.c.maxT, data: open.c.bytes() };
}

export function seriesChunks(s: SeriesSamples): EncodedChunk[] {
  const kinds = sampleKinds(s);
  const out: EncodedChunk[] = [];
  let open: OpenChunk | undefined;
  for (let i = 0; i < s.timestamps.length; i++) {
    const t = s.timestamps[i]!;
    const kind = kinds[i]!;
    if (!open || open.kind !== kind || open.n >= SAMPLES_PER_CHUNK) {
      if (open) out.push(close(open));
      open = kind === SampleKind.Float ? { kind, c: new XorChunk(), n: 0 } : { kind, c: new HistogramChunk(kind === SampleKind.FloatHistogram), n: 0 };
    }
    if (open.kind === SampleKind.Float) {
      if (s.stale.has(i)) open.c.appendBits(t, STALE_HI, STALE_LO);
      else open.c.append(t, s.values[i]!);
    } else {
      const h = chunkHistogram(s.histograms?.[i], s.stale.has(i));
      const next = open.c.append(t, h);
      if (next !== open.c) {
        out.push(close(open));
        open = { kind: open.kind, c: next, n: 0 };
      }
    }
    open.n++;
  }
  if (open) out.push(close(open));
  return out;
}
