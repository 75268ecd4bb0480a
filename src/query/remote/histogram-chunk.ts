/**
 * Prometheus' histogram chunk encodings, bit for bit (tsdb/chunkenc/histogram.go for integer histograms,
 * float_histogram.go for float ones, v0.316.0), including when Prometheus starts a new chunk and when it
 * re-encodes the open one, so a chunk holds what Prometheus itself would hold for the same samples.
 *
 * Layout: 2-byte big-endian sample count; a flags byte whose top two bits are the counter-reset header;
 * then a bit stream: the bucket layout (zero threshold, schema, positive and negative spans, and the custom
 * bounds for schema -53), then per sample:
 *
 *   integer: ts, count, zero count as varbit dods (raw first), sum XORed, bucket deltas-between-neighbours
 *            as varbit dods;
 *   float:   ts varbit dod, count, zero count, sum and every bucket XORed (raw 64 bits first).
 *
 * A staleness marker (sum = StaleNaN) writes no buckets. The chunk's layout is the union of its samples':
 * a sample with new buckets re-encodes the chunk with them (empty in the earlier samples); a counter
 * histogram missing a bucket the chunk had gets it back, empty, if its last count was 0 — else that is a
 * counter reset, which starts a new chunk, as do a schema, zero-threshold or custom-bounds change, a stale
 * marker followed by a sample, and a switch between gauge and counter histograms.
 */
import { type BucketSpan, CUSTOM_BUCKETS_SCHEMA, ResetHint } from "../../model/histogram.js";
import { BitWriter, floatBits, newXorState, putVarbitInt, putVarbitUint, STALE_HI, STALE_LO, type XorState, xorWrite, xorWriteFloat } from "./bitstream.js";
import { adjustForInserts, bucketDeltas, countBuckets, expandBothWays, expandForCounter, type Insert, insertBuckets } from "./spans.js";

/** The top two bits of a histogram chunk's flags byte. */
export const enum CounterResetHeader {
  Unknown = 0b0000_0000,
  CounterReset = 0b1000_0000,
  NotCounterReset = 0b0100_0000,
  Gauge = 0b1100_0000,
}

/** A histogram sample as the chunk encoder takes it: absolute counts (integers for integer chunks). */
export interface ChunkHistogram {
  hint: ResetHint;
  schema: number;
  zeroThreshold: number;
  count: number;
  zeroCount: number;
  sum: number;
  /** A staleness marker: the sum is written as Prometheus' StaleNaN; nothing else is. */
  stale: boolean;
  positiveSpans: BucketSpan[];
  positiveBuckets: number[];
  negativeSpans: BucketSpan[];
  negativeBuckets: number[];
  customValues: number[];
}

/** A staleness marker as Prometheus stores it in a histogram chunk: a histogram with only a StaleNaN sum. */
export const staleHistogram = (): ChunkHistogram => ({
  hint: ResetHint.Unknown,
  schema: 0,
  zeroThreshold: 0,
  count: 0,
  zeroCount: 0,
  sum: Number.NaN,
  stale: true,
  positiveSpans: [],
  positiveBuckets: [],
  negativeSpans: [],
  negativeBuckets: [],
  customValues: [],
});

const copySpans = (spans: BucketSpan[]): BucketSpan[] => spans.map((s) => ({ offset: s.offset, length: s.length }));

function boundsMatch(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The zero threshold in one byte when it is 0 (0) or a power of two from 2^-243 to 2^10 (its frexp exponent
 * + 243); otherwise 255 and the 64 bits.
 */
function putZeroThreshold(w: BitWriter, zt: number): void {
  if (zt === 0) {
    w.byte(0);
    return;
  }
  const [hi, lo] = floatBits(zt);
  const biased = (hi >>> 20) & 0x7ff;
  const powerOfTwo = hi >>> 31 === 0 && (hi & 0xfffff) === 0 && lo === 0 && biased !== 0 && biased !== 0x7ff;
  const exp = biased - 1022; // zt = 0.5 · 2^exp
  if (powerOfTwo && exp >= -242 && exp <= 11) w.byte(exp + 243);
  else {
    w.byte(255);
    w.write64(hi, lo, 64);
  }
}

/** Custom bounds that are multiples of 0.001 in [0, 33554.43] as varbit (bound·1000 + 1); others 0 bit + 64 bits. */
function putCustomBound(w: BitWriter, f: number): void {
  const tf = f * 1000;
  if (tf < 0 || tf > 33554430 || Math.round(tf) / 1000 !== f) {
    w.write(0, 1);
    const [hi, lo] = floatBits(f);
    w.write64(hi, lo, 64);
    return;
  }
  putVarbitUint(w, Math.round(tf) + 1);
}

function putSpans(w: BitWriter, spans: BucketSpan[]): void {
  putVarbitUint(w, spans.length);
  for (const s of spans) {
    putVarbitUint(w, s.length);
    putVarbitInt(w, s.offset);
  }
}

function putLayout(w: BitWriter, h: ChunkHistogram): void {
  putZeroThreshold(w, h.zeroThreshold);
  putVarbitInt(w, h.schema);
  putSpans(w, h.positiveSpans);
  putSpans(w, h.negativeSpans);
  if (h.schema === CUSTOM_BUCKETS_SCHEMA) {
    putVarbitUint(w, h.customValues.length);
    for (const b of h.customValues) putCustomBound(w, b);
  }
}

const sumBits = (h: ChunkHistogram): [number, number] => (h.stale ? [STALE_HI, STALE_LO] : floatBits(h.sum));

/** Per-sample encoding state of one flavour (Go's appender fields beyond the layout). */
interface SampleStream {
  /** Writes sample number `num` (0: raw values) of the chunk. */
  write(w: BitWriter, num: number, t: number, h: ChunkHistogram): void;
}

class IntegerStream implements SampleStream {
  private t = 0;
  private cnt = 0;
  private zCnt = 0;
  private tDelta = 0;
  private cntDelta = 0;
  private zCntDelta = 0;
  private pBuckets: number[] = [];
  private nBuckets: number[] = [];
  private pBucketsDelta: number[] = [];
  private nBucketsDelta: number[] = [];
  private readonly sum: XorState = newXorState();

  write(w: BitWriter, num: number, t: number, h: ChunkHistogram): void {
    const pos = bucketDeltas(h.positiveBuckets);
    const neg = bucketDeltas(h.negativeBuckets);
    const [sHi, sLo] = sumBits(h);
    let tDelta = 0;
    let cntDelta = 0;
    let zCntDelta = 0;
    if (num === 0) {
      const np = countBuckets(h.positiveSpans);
      const nn = countBuckets(h.negativeSpans);
      this.pBuckets = new Array<number>(np).fill(0);
      this.pBucketsDelta = new Array<number>(np).fill(0);
      this.nBuckets = new Array<number>(nn).fill(0);
      this.nBucketsDelta = new Array<number>(nn).fill(0);
      putVarbitInt(w, t);
      putVarbitUint(w, h.count);
      putVarbitUint(w, h.zeroCount);
      w.write64(sHi, sLo, 64);
      this.sum.hi = sHi;
      this.sum.lo = sLo;
      for (const b of pos) putVarbitInt(w, b);
      for (const b of neg) putVarbitInt(w, b);
    } else {
      tDelta = t - this.t;
      cntDelta = h.count - this.cnt;
      zCntDelta = h.zeroCount - this.zCnt;
      putVarbitInt(w, tDelta - this.tDelta);
      putVarbitInt(w, h.stale ? 0 : cntDelta - this.cntDelta);
      putVarbitInt(w, h.stale ? 0 : zCntDelta - this.zCntDelta);
      xorWrite(w, this.sum, sHi, sLo);
      for (let i = 0; i < pos.length; i++) {
        const delta = pos[i]! - this.pBuckets[i]!;
        putVarbitInt(w, delta - this.pBucketsDelta[i]!);
        this.pBucketsDelta[i] = delta;
      }
      for (let i = 0; i < neg.length; i++) {
        const delta = neg[i]! - this.nBuckets[i]!;
        putVarbitInt(w, delta - this.nBucketsDelta[i]!);
        this.nBucketsDelta[i] = delta;
      }
    }
    this.t = t;
    this.cnt = h.count;
    this.zCnt = h.zeroCount;
    this.tDelta = tDelta;
    this.cntDelta = cntDelta;
    this.zCntDelta = zCntDelta;
    // Go's copy(): as many as both hold (a stale marker has none, so the last buckets stay).
    for (let i = 0; i < pos.length && i < this.pBuckets.length; i++) this.pBuckets[i] = pos[i]!;
    for (let i = 0; i < neg.length && i < this.nBuckets.length; i++) this.nBuckets[i] = neg[i]!;
  }
}

class FloatStream implements SampleStream {
  private t = 0;
  private tDelta = 0;
  private readonly cnt: XorState = newXorState();
  private readonly zCnt: XorState = newXorState();
  private readonly sum: XorState = newXorState();
  private pBuckets: XorState[] = [];
  private nBuckets: XorState[] = [];

  write(w: BitWriter, num: number, t: number, h: ChunkHistogram): void {
    const [sHi, sLo] = sumBits(h);
    let tDelta = 0;
    if (num === 0) {
      const raw = (st: XorState, hi: number, lo: number) => {
        w.write64(hi, lo, 64);
        st.hi = hi;
        st.lo = lo;
      };
      const states = (values: number[]) => values.map((v) => newXorState(...floatBits(v)));
      this.pBuckets = states(h.positiveBuckets.slice(0, countBuckets(h.positiveSpans)));
      this.nBuckets = states(h.negativeBuckets.slice(0, countBuckets(h.negativeSpans)));
      putVarbitInt(w, t);
      raw(this.cnt, ...floatBits(h.count));
      raw(this.zCnt, ...floatBits(h.zeroCount));
      raw(this.sum, sHi, sLo);
      for (const b of h.positiveBuckets) w.write64(...floatBits(b), 64);
      for (const b of h.negativeBuckets) w.write64(...floatBits(b), 64);
    } else {
      tDelta = t - this.t;
      putVarbitInt(w, tDelta - this.tDelta);
      xorWriteFloat(w, this.cnt, h.count);
      xorWriteFloat(w, this.zCnt, h.zeroCount);
      xorWrite(w, this.sum, sHi, sLo);
      for (let i = 0; i < h.positiveBuckets.length; i++) xorWriteFloat(w, this.pBuckets[i]!, h.positiveBuckets[i]!);
      for (let i = 0; i < h.negativeBuckets.length; i++) xorWriteFloat(w, this.nBuckets[i]!, h.negativeBuckets[i]!);
    }
    this.t = t;
    this.tDelta = tDelta;
  }
}

/** A stale marker carries nothing but its sum (Go empties the histogram before writing it). */
const emptied = (h: ChunkHistogram): ChunkHistogram => (h.stale ? staleHistogram() : h);

interface Appendability {
  ok: boolean;
  /** Why not, for the new chunk's header (integer chunks write it as is; float chunks only CounterReset). */
  header: CounterResetHeader;
  pForward: Insert[];
  nForward: Insert[];
  pBackward: Insert[];
  nBackward: Insert[];
  /** Gauge histograms: spans covering both the chunk's and the sample's buckets. */
  pMerged?: BucketSpan[];
  nMerged?: BucketSpan[];
}

const refuse = (header: CounterResetHeader): Appendability => ({ ok: false, header, pForward: [], nForward: [], pBackward: [], nBackward: [] });
const accept = (): Appendability => ({ ok: true, header: CounterResetHeader.NotCounterReset, pForward: [], nForward: [], pBackward: [], nBackward: [] });

/** One histogram chunk being built; `append` says whether the sample went in or started the next chunk. */
export class HistogramChunk {
  header = CounterResetHeader.Unknown;
  minT = 0;
  maxT = 0;
  private w = new BitWriter();
  private stream: SampleStream;
  /** The samples so far as encoded (already widened to the layout), to re-encode on a layout change. */
  private samples: { t: number; h: ChunkHistogram }[] = [];
  // The layout, fixed by the first sample (or a re-encoding).
  private schema = 0;
  private zeroThreshold = 0;
  private positiveSpans: BucketSpan[] = [];
  private negativeSpans: BucketSpan[] = [];
  private customValues: number[] = [];

  constructor(readonly float: boolean) {
    this.stream = float ? new FloatStream() : new IntegerStream();
  }

  get count(): number {
    return this.samples.length;
  }

  private get last(): ChunkHistogram {
    return this.samples[this.samples.length - 1]!.h;
  }

  /** Go's appendHistogram/appendFloatHistogram: one sample onto the stream, the first writing the layout. */
  private write(t: number, given: ChunkHistogram): void {
    const h = emptied(given);
    if (this.samples.length === 0) {
      putLayout(this.w, h);
      this.schema = h.schema;
      this.zeroThreshold = h.zeroThreshold;
      this.positiveSpans = copySpans(h.positiveSpans);
      this.negativeSpans = copySpans(h.negativeSpans);
      this.customValues = h.customValues.slice();
      this.minT = t;
    }
    this.stream.write(this.w, this.samples.length, t, h);
    this.samples.push({ t, h });
    this.maxT = t;
  }

  /** A new chunk that starts with this sample under the given header. */
  private cut(t: number, h: ChunkHistogram, header: CounterResetHeader): HistogramChunk {
    const next = new HistogramChunk(this.float);
    next.header = header;
    next.write(t, h);
    return next;
  }

  /**
   * Appends a sample: returns this chunk, or the new chunk the sample started (this one is then complete).
   * The empty chunk takes the header from the first sample's hint (gauge or counter reset; else unknown).
   */
  append(t: number, given: ChunkHistogram): HistogramChunk {
    if (this.samples.length === 0) {
      this.write(t, given);
      if (given.hint === ResetHint.Gauge) this.header = CounterResetHeader.Gauge;
      else if (given.hint === ResetHint.Yes) this.header = CounterResetHeader.CounterReset;
      return this;
    }
    const gauge = given.hint === ResetHint.Gauge;
    const a = gauge ? this.appendableGauge(given) : this.appendable(given);
    if (!a.ok) {
      if (gauge) return this.cut(t, given, CounterResetHeader.Gauge);
      // Go's float appender sets only the counter-reset header on a cut; the integer one sets what it found.
      const header = this.float && a.header !== CounterResetHeader.CounterReset ? CounterResetHeader.Unknown : a.header;
      return this.cut(t, given, header);
    }
    const h: ChunkHistogram = { ...given };
    if (a.pBackward.length > 0 || a.nBackward.length > 0) {
      if (gauge) {
        h.positiveSpans = a.pMerged!;
        h.negativeSpans = a.nMerged!;
      } else if (a.pForward.length === 0 && a.nForward.length === 0) {
        h.positiveSpans = copySpans(this.positiveSpans);
        h.negativeSpans = copySpans(this.negativeSpans);
      } else {
        h.positiveSpans = adjustForInserts(h.positiveSpans, a.pBackward);
        h.negativeSpans = adjustForInserts(h.negativeSpans, a.nBackward);
      }
      if (a.pBackward.length > 0) h.positiveBuckets = insertBuckets(h.positiveBuckets, a.pBackward, false, countBuckets(h.positiveSpans));
      if (a.nBackward.length > 0) h.negativeBuckets = insertBuckets(h.negativeBuckets, a.nBackward, false, countBuckets(h.negativeSpans));
    }
    if (a.pForward.length > 0 || a.nForward.length > 0) this.reencode(a.pForward, a.nForward, h.positiveSpans, h.negativeSpans);
    this.write(t, h);
    return this;
  }

  /** Go's appendable (counter histograms): may the sample join, with which inserts, or why not. */
  private appendable(h: ChunkHistogram): Appendability {
    if (this.header === CounterResetHeader.Gauge) return refuse(CounterResetHeader.NotCounterReset);
    if (h.hint === ResetHint.Yes) return refuse(CounterResetHeader.CounterReset);
    if (h.stale) return accept();
    const last = this.last;
    if (last.stale) return refuse(CounterResetHeader.Unknown);
    if (h.count < last.count) return refuse(CounterResetHeader.CounterReset);
    if (h.schema !== this.schema || h.zeroThreshold !== this.zeroThreshold) return refuse(CounterResetHeader.Unknown);
    if (h.schema === CUSTOM_BUCKETS_SCHEMA && !boundsMatch(h.customValues, this.customValues)) return refuse(CounterResetHeader.CounterReset);
    if (h.zeroCount < last.zeroCount) return refuse(CounterResetHeader.CounterReset);
    const p = expandForCounter(this.positiveSpans, h.positiveSpans, last.positiveBuckets, h.positiveBuckets);
    if (!p) return refuse(CounterResetHeader.CounterReset);
    const n = expandForCounter(this.negativeSpans, h.negativeSpans, last.negativeBuckets, h.negativeBuckets);
    if (!n) return refuse(CounterResetHeader.CounterReset);
    return { ok: true, header: CounterResetHeader.NotCounterReset, pForward: p.forward, nForward: n.forward, pBackward: p.backward, nBackward: n.backward };
  }

  /** Go's appendableGauge: any bucket change fits; only layout-defining fields or a stale marker cut. */
  private appendableGauge(h: ChunkHistogram): Appendability {
    if (this.header !== CounterResetHeader.Gauge) return refuse(CounterResetHeader.Gauge);
    if (h.stale) return accept();
    if (this.last.stale) return refuse(CounterResetHeader.Gauge);
    if (h.schema !== this.schema || h.zeroThreshold !== this.zeroThreshold) return refuse(CounterResetHeader.Gauge);
    if (h.schema === CUSTOM_BUCKETS_SCHEMA && !boundsMatch(h.customValues, this.customValues)) return refuse(CounterResetHeader.Gauge);
    const p = expandBothWays(this.positiveSpans, h.positiveSpans);
    const n = expandBothWays(this.negativeSpans, h.negativeSpans);
    return {
      ok: true,
      header: CounterResetHeader.Gauge,
      pForward: p.forward,
      nForward: n.forward,
      pBackward: p.backward,
      nBackward: n.backward,
      pMerged: p.merged,
      nMerged: n.merged,
    };
  }

  /** Go's recode: the chunk written again under new spans, earlier samples given the new buckets empty. */
  private reencode(pForward: Insert[], nForward: Insert[], positiveSpans: BucketSpan[], negativeSpans: BucketSpan[]): void {
    const old = this.samples;
    this.w = new BitWriter();
    this.stream = this.float ? new FloatStream() : new IntegerStream();
    this.samples = [];
    const np = countBuckets(positiveSpans);
    const nn = countBuckets(negativeSpans);
    for (const { t, h } of old) {
      this.write(t, {
        ...h,
        positiveSpans,
        negativeSpans,
        positiveBuckets: pForward.length > 0 ? insertBuckets(h.positiveBuckets, pForward, false, np) : h.positiveBuckets,
        negativeBuckets: nForward.length > 0 ? insertBuckets(h.negativeBuckets, nForward, false, nn) : h.negativeBuckets,
      });
    }
  }

  bytes(): Uint8Array<ArrayBuffer> {
    const body = this.w.finish();
    const out = new Uint8Array(3 + body.length);
    out[0] = (this.samples.length >>> 8) & 0xff;
    out[1] = this.samples.length & 0xff;
    out[2] = this.header;
    out.set(body, 3);
    return out;
  }
}
