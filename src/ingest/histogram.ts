import {
  type BucketSpan,
  CUSTOM_BUCKETS_SCHEMA,
  MAX_EXPONENTIAL_SCHEMA,
  MIN_EXPONENTIAL_SCHEMA,
  type NativeHistogram,
  ResetHint,
} from "../model/histogram.js";
import { expectWire, malformed, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireReader } from "../protobuf/reader.js";

/**
 * Reader and checks for the `Histogram` message, which remote write 1.0 (`prometheus.Histogram`) and 2.0
 * (`io.prometheus.write.v2.Histogram`) define with the same field numbers. Wire problems (truncation, wrong
 * wire types) throw: the whole request is unreadable. A histogram that reads but is not valid (spans that
 * disagree with the buckets, negative counts, an unknown schema) comes back as a reason, so only that sample
 * is refused, as Prometheus' own receiver does.
 */

export interface HistogramSample {
  timestampMs: number;
  h: NativeHistogram;
  /** The sender's message without its timestamp field: what storage keeps (see documents.ts). */
  stored: Uint8Array;
  /** A staleness marker for a histogram series: the sum carries Prometheus' stale NaN. */
  stale: boolean;
  /** When the histogram started counting (remote write 2.0), ms; 0 = not sent. */
  startMs: number;
}

const TIMESTAMP_FIELD = 15;
const START_TIMESTAMP_FIELD = 17;

/** Reads the Histogram message in [r.pos, end). Returns the sample, or why it is invalid. */
export function readHistogram(r: WireReader, end: number, keepStored = true): HistogramSample | string {
  const start = r.pos;
  // message Histogram {
  //   oneof count { uint64 count_int = 1; double count_float = 2; }
  //   double sum = 3; sint32 schema = 4; double zero_threshold = 5;
  //   oneof zero_count { uint64 zero_count_int = 6; double zero_count_float = 7; }
  //   repeated BucketSpan negative_spans = 8; repeated sint64 negative_deltas = 9; repeated double negative_counts = 10;
  //   repeated BucketSpan positive_spans = 11; repeated sint64 positive_deltas = 12; repeated double positive_counts = 13;
  //   ResetHint reset_hint = 14; int64 timestamp = 15; repeated double custom_values = 16;
  //   int64 start_timestamp = 17;   (2.0 only)
  // }
  const h: NativeHistogram = {
    float: false,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    count: 0,
    sum: 0,
    positiveSpans: [],
    positiveBuckets: [],
    negativeSpans: [],
    negativeBuckets: [],
    resetHint: ResetHint.Unknown,
    customValues: [],
  };
  let timestampMs = 0;
  let startMs = 0;
  // Byte ranges of the timestamps, which storage keeps in fields of their own.
  const cut: number[] = [];
  let stale = false;
  let intCounts = false;
  let floatCounts = false;
  const negDeltas: number[] = [];
  const posDeltas: number[] = [];
  while (r.pos < end) {
    const fieldStart = r.pos;
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    switch (field) {
      case 1:
        expectWire(wire, WIRE_VARINT, "Histogram.count_int");
        h.count = r.uint64();
        intCounts = true;
        break;
      case 2:
        expectWire(wire, WIRE_FIXED64, "Histogram.count_float");
        h.count = r.double();
        floatCounts = true;
        break;
      case 3: {
        expectWire(wire, WIRE_FIXED64, "Histogram.sum");
        const at = r.pos;
        h.sum = r.double();
        stale = h.sum !== h.sum && r.isStaleNaN(at);
        break;
      }
      case 4:
        expectWire(wire, WIRE_VARINT, "Histogram.schema");
        h.schema = r.sint64();
        break;
      case 5:
        expectWire(wire, WIRE_FIXED64, "Histogram.zero_threshold");
        h.zeroThreshold = r.double();
        break;
      case 6:
        expectWire(wire, WIRE_VARINT, "Histogram.zero_count_int");
        h.zeroCount = r.uint64();
        intCounts = true;
        break;
      case 7:
        expectWire(wire, WIRE_FIXED64, "Histogram.zero_count_float");
        h.zeroCount = r.double();
        floatCounts = true;
        break;
      case 8:
      case 11:
        expectWire(wire, WIRE_LEN, "Histogram.*_spans");
        (field === 8 ? h.negativeSpans : h.positiveSpans).push(readSpan(r, r.lengthEnd()));
        break;
      case 9:
      case 12:
        readRepeated(r, wire, field === 9 ? negDeltas : posDeltas, "Histogram.*_deltas", WIRE_VARINT);
        intCounts = true;
        break;
      case 10:
      case 13:
        readRepeated(r, wire, field === 10 ? h.negativeBuckets : h.positiveBuckets, "Histogram.*_counts", WIRE_FIXED64);
        floatCounts = true;
        break;
      case 14:
        expectWire(wire, WIRE_VARINT, "Histogram.reset_hint");
        h.resetHint = r.uint32() as ResetHint;
        break;
      case TIMESTAMP_FIELD:
        expectWire(wire, WIRE_VARINT, "Histogram.timestamp");
        timestampMs = r.int64();
        cut.push(fieldStart, r.pos);
        break;
      case START_TIMESTAMP_FIELD:
        expectWire(wire, WIRE_VARINT, "Histogram.start_timestamp");
        startMs = r.int64();
        cut.push(fieldStart, r.pos);
        break;
      case 16:
        readRepeated(r, wire, h.customValues, "Histogram.custom_values", WIRE_FIXED64);
        break;
      case 0:
        malformed("field number 0 in Histogram");
        break;
      default:
        r.skip(wire);
    }
  }
  if (r.pos !== end) malformed("Histogram runs past its length");
  const stored = !keepStored ? new Uint8Array(0) : cut.length === 0 ? r.buf.subarray(start, end) : without(r.buf, start, end, cut);
  if (stale) return { timestampMs, h, stored, stale, startMs };
  if (intCounts && floatCounts) return "histogram mixes integer and float counts";
  h.float = floatCounts;
  if (!h.float) {
    if (!cumulate(negDeltas, h.negativeBuckets) || !cumulate(posDeltas, h.positiveBuckets)) return "histogram bucket with a negative count";
  }
  const invalid = validate(h);
  return invalid ?? { timestampMs, h, stored, stale, startMs };
}

function readSpan(r: WireReader, end: number): BucketSpan {
  // message BucketSpan { sint32 offset = 1; uint32 length = 2; }
  const span: BucketSpan = { offset: 0, length: 0 };
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1) {
      expectWire(wire, WIRE_VARINT, "BucketSpan.offset");
      span.offset = r.sint64();
    } else if (field === 2) {
      expectWire(wire, WIRE_VARINT, "BucketSpan.length");
      span.length = r.uint32();
    } else if (field === 0) {
      malformed("field number 0 in BucketSpan");
    } else {
      r.skip(wire);
    }
  }
  if (r.pos !== end) malformed("BucketSpan runs past its length");
  return span;
}

/** A repeated scalar, packed (the proto3 default) or one element per tag. */
function readRepeated(r: WireReader, wire: number, out: number[], what: string, elementWire: number): void {
  const one = () => (elementWire === WIRE_FIXED64 ? r.double() : r.sint64());
  if (wire === WIRE_LEN) {
    const end = r.lengthEnd();
    while (r.pos < end) out.push(one());
    if (r.pos !== end) malformed(`${what} runs past its length`);
    return;
  }
  expectWire(wire, elementWire, what);
  out.push(one());
}

/** Integer deltas into absolute counts; false when a count goes negative. */
function cumulate(deltas: number[], out: number[]): boolean {
  let c = 0;
  for (const d of deltas) {
    c += d;
    if (c < 0) return false;
    out.push(c);
  }
  return true;
}

function spansFit(spans: BucketSpan[], buckets: number, custom: boolean): string | undefined {
  let n = 0;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!;
    if ((i > 0 || custom) && s.offset < 0) return `histogram span ${i + 1} has a negative offset ${s.offset}`;
    n += s.length;
  }
  return n === buckets ? undefined : `histogram spans need ${n} buckets, have ${buckets}`;
}

/** Prometheus' histogram validation rules (model/histogram: Validate), one reason per failure. */
function validate(h: NativeHistogram): string | undefined {
  const custom = h.schema === CUSTOM_BUCKETS_SCHEMA;
  if (!custom && (h.schema < MIN_EXPONENTIAL_SCHEMA || h.schema > MAX_EXPONENTIAL_SCHEMA)) {
    return `histogram schema ${h.schema} out of range (-4 to 8, or -53 for custom buckets)`;
  }
  if (custom) {
    if (h.zeroCount !== 0 || h.zeroThreshold !== 0) return "custom-bucket histogram with a zero bucket";
    if (h.negativeSpans.length > 0 || h.negativeBuckets.length > 0) return "custom-bucket histogram with negative buckets";
    let prev = -Infinity;
    for (const v of h.customValues) {
      if (v !== v || v <= prev) return "custom-bucket bounds not strictly increasing";
      prev = v;
    }
    if (prev === Infinity) return "custom-bucket bounds end in +Inf";
    let covered = 0;
    for (const s of h.positiveSpans) covered += s.offset + s.length;
    if (covered > h.customValues.length + 1) return `histogram spans reach past the ${h.customValues.length} custom bounds`;
  } else if (h.customValues.length > 0) {
    return "exponential histogram with custom bounds";
  }
  const bad = spansFit(h.positiveSpans, h.positiveBuckets.length, custom) ?? spansFit(h.negativeSpans, h.negativeBuckets.length, custom);
  if (bad) return bad;
  let inBuckets = h.zeroCount;
  for (const c of h.positiveBuckets) {
    if (!(c >= 0)) return "histogram bucket with a negative count";
    inBuckets += c;
  }
  for (const c of h.negativeBuckets) {
    if (!(c >= 0)) return "histogram bucket with a negative count";
    inBuckets += c;
  }
  if (!(h.zeroCount >= 0)) return "histogram zero bucket with a negative count";
  if (!(h.count >= 0)) return "histogram with a negative count";
  // Integer histograms must add up exactly (a NaN sum allows more observations than the buckets hold);
  // float histograms are left as Prometheus leaves them (rounding makes exact sums meaningless).
  if (!h.float && (h.sum === h.sum ? inBuckets !== h.count : inBuckets > h.count)) {
    return `histogram buckets hold ${inBuckets} observations, count says ${h.count}`;
  }
  return undefined;
}

/** `buf[start, end)` without the ascending byte ranges `cut` ([from, to) pairs). */
function without(buf: Uint8Array, start: number, end: number, cut: number[]): Uint8Array {
  let removed = 0;
  for (let i = 0; i < cut.length; i += 2) removed += cut[i + 1]! - cut[i]!;
  const out = new Uint8Array(end - start - removed);
  let from = start;
  let at = 0;
  for (let i = 0; i < cut.length; i += 2) {
    out.set(buf.subarray(from, cut[i]!), at);
    at += cut[i]! - from;
    from = cut[i + 1]!;
  }
  out.set(buf.subarray(from, end), at);
  return out;
}

/** Reads a histogram that storage kept (its timestamp removed): the read path's inverse of `stored`. */
export function decodeStoredHistogram(bytes: Uint8Array): NativeHistogram | undefined {
  try {
    const r = new WireReader(bytes);
    const s = readHistogram(r, bytes.length, false);
    return typeof s === "string" ? undefined : s.h;
  } catch {
    return undefined;
  }
}
