import SnappyJS from "snappyjs";
import type { ForwardProtocol } from "../config/forward.js";
import { ProtoWriter } from "../protobuf/writer.js";
import { compareRanges, forwardedOrder, type LabelRanges } from "./rules.js";
import type { SelectedSeries } from "./select.js";

/** One remote_write request body for a target: snappy-compressed protobuf, and what it carries. */
export interface EncodedBatch {
  body: Uint8Array<ArrayBuffer>;
  /** Float samples + native histograms in it (what the forwarding metrics count). */
  samples: number;
}

type Sample = SelectedSeries["samples"][number];
type Histogram = SelectedSeries["histograms"][number];

/** Prometheus' staleness marker, 0x7ff0000000000002, as the halves ProtoWriter.doubleBits takes. */
const STALE_LO = 2;
const STALE_HI = 0x7ff00000;

/** Bytes a series takes in a request, closely enough to cut batches (tags and lengths are a few bytes). */
export function estimateBytes(s: SelectedSeries): number {
  const { pos, count } = s.labels;
  let n = 8 + 6 * count;
  for (let p = 0; p < 4 * count; p += 4) n += pos[p + 1]! - pos[p]! + pos[p + 3]! - pos[p + 2]!;
  n += s.samples.length * 22;
  for (const h of s.histograms) n += h.message.length + 24;
  return n;
}

/**
 * Series cut into groups of at most `maxBytes` (uncompressed, estimated); a series above the bound on its own
 * is cut into pieces of its samples, so no request exceeds what the target (or a queue message) takes.
 */
export function splitSeries(series: readonly SelectedSeries[], maxBytes: number): SelectedSeries[][] {
  const groups: SelectedSeries[][] = [];
  let group: SelectedSeries[] = [];
  let size = 0;
  const add = (s: SelectedSeries, bytes: number) => {
    if (group.length > 0 && size + bytes > maxBytes) {
      groups.push(group);
      group = [];
      size = 0;
    }
    group.push(s);
    size += bytes;
  };
  for (const s of series) {
    const bytes = estimateBytes(s);
    if (bytes <= maxBytes) add(s, bytes);
    else for (const piece of pieces(s, maxBytes)) add(piece, estimateBytes(piece));
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** A large series as several with the same labels, each holding a run of its samples or histograms. */
function pieces(s: SelectedSeries, maxBytes: number): SelectedSeries[] {
  const labelsOnly = estimateBytes({ labels: s.labels, samples: [], histograms: [] });
  const out: SelectedSeries[] = [];
  let cur: SelectedSeries = { labels: s.labels, samples: [], histograms: [] };
  let size = labelsOnly;
  const flushIfFull = (bytes: number) => {
    if (size + bytes > maxBytes && (cur.samples.length > 0 || cur.histograms.length > 0)) {
      out.push(cur);
      cur = { labels: s.labels, samples: [], histograms: [] };
      size = labelsOnly;
    }
    size += bytes;
  };
  for (const smp of s.samples) {
    flushIfFull(22);
    cur.samples.push(smp);
  }
  for (const h of s.histograms) {
    flushIfFull(h.message.length + 24);
    cur.histograms.push(h);
  }
  out.push(cur);
  return out;
}

/** `extra`: the rule's extra labels, sorted (CompiledRule.extraLabels). */
export function encodeBatch(series: readonly SelectedSeries[], extra: LabelRanges, protocol: ForwardProtocol): EncodedBatch {
  const body = protocol === "2.0" ? encodeV2(series, extra) : encodeV1(series, extra);
  let samples = 0;
  for (const s of series) samples += s.samples.length + s.histograms.length;
  return { body: SnappyJS.compress(body), samples };
}

// Messages are written in one pass into one buffer, each length computed before its fields (a nested
// writer per label or sample would allocate tens of thousands of buffers per request).

/** Bytes of a varint (a negative int64 takes ten). */
function varintLen(n: number): number {
  if (n < 0) return 10;
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    len++;
  }
  return len;
}
/** A length-delimited field's full size: tag, length, content (field numbers here are all below 16). */
const fieldLen = (content: number): number => 1 + varintLen(content) + content;
const int64Len = (n: number): number => (n === 0 ? 0 : 1 + varintLen(n));

/** message Sample { double value = 1; int64 timestamp = 2; int64 start_timestamp = 3 (2.0 only); } */
const sampleLen = (s: Sample, v2: boolean): number => 9 + int64Len(s.timestampMs) + (v2 ? int64Len(s.startMs) : 0);

function writeSample(w: ProtoWriter, field: number, s: Sample, v2: boolean): void {
  w.tag(field, 2);
  w.uvarint(sampleLen(s, v2));
  // The marker's exact bits: a NaN written as a plain double may lose them, and with them its meaning.
  if (s.stale) w.doubleBits(1, STALE_LO, STALE_HI);
  else w.double(1, s.value);
  w.int64Field(2, s.timestampMs);
  if (v2) w.int64Field(3, s.startMs);
}

/** The histogram as sent: storage's copy of the message, with the timestamps it leaves out written back. */
const histogramLen = (h: Histogram, v2: boolean): number =>
  h.message.length + int64Len(h.timestampMs) + (v2 && h.startMs !== 0 ? 2 + varintLen(h.startMs) : 0); // field 17: a two-byte tag

function writeHistogram(w: ProtoWriter, field: number, h: Histogram, v2: boolean): void {
  w.tag(field, 2);
  w.uvarint(histogramLen(h, v2));
  w.raw(h.message);
  w.int64Field(15, h.timestampMs);
  if (v2) w.int64Field(17, h.startMs);
}

/** prometheus.WriteRequest (remote write 1.0). */
function encodeV1(series: readonly SelectedSeries[], extra: LabelRanges): Uint8Array {
  // message WriteRequest { repeated TimeSeries timeseries = 1; }
  // message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; repeated Exemplar exemplars = 3;
  //                      repeated Histogram histograms = 4; }
  // message Label { string name = 1; string value = 2; }
  const w = new ProtoWriter();
  const order: number[] = [];
  for (const s of series) {
    forwardedOrder(s.labels, extra, order);
    let size = 0;
    for (const ref of order) {
      // A ref of forwardedOrder: the series' own label, or (negative) one of the rule's extra labels.
      const { pos } = ref >= 0 ? s.labels : extra;
      const p = ref >= 0 ? 4 * ref : -4 * (ref + 1);
      size += fieldLen(fieldLen(pos[p + 1]! - pos[p]!) + fieldLen(pos[p + 3]! - pos[p + 2]!));
    }
    for (const smp of s.samples) size += fieldLen(sampleLen(smp, false));
    for (const h of s.histograms) size += fieldLen(histogramLen(h, false));
    w.tag(1, 2);
    w.uvarint(size);
    for (const ref of order) {
      const { buf, pos } = ref >= 0 ? s.labels : extra;
      const p = ref >= 0 ? 4 * ref : -4 * (ref + 1);
      w.tag(1, 2);
      w.uvarint(fieldLen(pos[p + 1]! - pos[p]!) + fieldLen(pos[p + 3]! - pos[p + 2]!));
      w.bytesRange(1, buf, pos[p]!, pos[p + 1]!);
      w.bytesRange(2, buf, pos[p + 2]!, pos[p + 3]!);
    }
    for (const smp of s.samples) writeSample(w, 2, smp, false);
    for (const h of s.histograms) writeHistogram(w, 4, h, false);
  }
  return w.finish();
}

/**
 * Remote write 2.0's symbols table: each distinct string once, looked up by its bytes (FNV-1a, then a byte
 * compare) so no label becomes a JavaScript string on the way.
 */
class Symbols {
  /** The symbols as byte ranges: symbol i is bytes[i].subarray(at[2i], at[2i+1]). */
  readonly bytes: Uint8Array[] = [new Uint8Array(0)]; // the spec: symbols[0] is the empty string
  readonly at: number[] = [0, 0];
  private readonly byHash = new Map<number, number[]>();

  ref(buf: Uint8Array, start: number, end: number): number {
    if (start === end) return 0;
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    let bucket = this.byHash.get(h);
    if (bucket) {
      for (const r of bucket) if (compareRanges(this.bytes[r]!, this.at[2 * r]!, this.at[2 * r + 1]!, buf, start, end) === 0) return r;
    } else this.byHash.set(h, (bucket = []));
    const r = this.bytes.length;
    this.bytes.push(buf);
    this.at.push(start, end);
    bucket.push(r);
    return r;
  }
}

/** io.prometheus.write.v2.Request (remote write 2.0): labels as refs into one symbols table per request. */
function encodeV2(series: readonly SelectedSeries[], extra: LabelRanges): Uint8Array {
  // message Request { repeated string symbols = 4; repeated TimeSeries timeseries = 5; }
  // message TimeSeries { repeated uint32 labels_refs = 1; repeated Sample samples = 2; repeated Histogram histograms = 3; … }
  const symbols = new Symbols();
  const body = new ProtoWriter();
  const order: number[] = [];
  const labelRefs: number[] = [];
  for (const s of series) {
    labelRefs.length = 0;
    for (const r of forwardedOrder(s.labels, extra, order)) {
      const { buf, pos } = r >= 0 ? s.labels : extra;
      const p = r >= 0 ? 4 * r : -4 * (r + 1);
      labelRefs.push(symbols.ref(buf, pos[p]!, pos[p + 1]!), symbols.ref(buf, pos[p + 2]!, pos[p + 3]!));
    }
    let refsLen = 0;
    for (const r of labelRefs) refsLen += varintLen(r);
    let size = fieldLen(refsLen);
    for (const smp of s.samples) size += fieldLen(sampleLen(smp, true));
    for (const h of s.histograms) size += fieldLen(histogramLen(h, true));
    body.tag(5, 2);
    body.uvarint(size);
    body.tag(1, 2);
    body.uvarint(refsLen);
    for (const r of labelRefs) body.uvarint(r);
    for (const smp of s.samples) writeSample(body, 2, smp, true);
    for (const h of s.histograms) writeHistogram(body, 3, h, true);
  }
  const w = new ProtoWriter();
  for (let i = 0; i < symbols.bytes.length; i++) w.bytesRange(4, symbols.bytes[i]!, symbols.at[2 * i]!, symbols.at[2 * i + 1]!);
  w.raw(body.finish());
  return w.finish();
}
