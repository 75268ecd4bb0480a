import SnappyJS from "snappyjs";
import type { ForwardProtocol } from "../config/forward.js";
import { ProtoWriter } from "../protobuf/writer.js";
import { withExtraLabels } from "./rules.js";
import type { SelectedSeries } from "./select.js";

/** One remote_write request body for a target: snappy-compressed protobuf, and what it carries. */
export interface EncodedBatch {
  body: Uint8Array<ArrayBuffer>;
  /** Float samples + native histograms in it (what the forwarding metrics count). */
  samples: number;
}

/** Prometheus' staleness marker, 0x7ff0000000000002, as the halves ProtoWriter.doubleBits takes. */
const STALE_LO = 2;
const STALE_HI = 0x7ff00000;

const enc = new TextEncoder();

/** Bytes a series takes in a request, closely enough to cut batches (tags and lengths are a few bytes). */
export function estimateBytes(s: SelectedSeries): number {
  let n = 8;
  for (const [k, v] of s.labels) n += enc.encode(k).length + enc.encode(v).length + 6;
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

export function encodeBatch(series: readonly SelectedSeries[], extraLabels: Readonly<Record<string, string>>, protocol: ForwardProtocol): EncodedBatch {
  const body = protocol === "2.0" ? encodeV2(series, extraLabels) : encodeV1(series, extraLabels);
  let samples = 0;
  for (const s of series) samples += s.samples.length + s.histograms.length;
  return { body: SnappyJS.compress(body), samples };
}

function writeSample(w: ProtoWriter, s: SelectedSeries["samples"][number], v2: boolean): void {
  // The marker's exact bits: a NaN written as a plain double may lose them, and with them its meaning.
  if (s.stale) w.doubleBits(1, STALE_LO, STALE_HI);
  else w.double(1, s.value);
  w.int64Field(2, s.timestampMs);
  if (v2) w.int64Field(3, s.startMs);
}

/** The histogram as sent, with the timestamps that storage's copy leaves out written back. */
function writeHistogram(w: ProtoWriter, field: number, h: SelectedSeries["histograms"][number], v2: boolean): void {
  w.message(field, (m) => {
    m.raw(h.message);
    m.int64Field(15, h.timestampMs);
    if (v2) m.int64Field(17, h.startMs);
  });
}

/** prometheus.WriteRequest (remote write 1.0). */
function encodeV1(series: readonly SelectedSeries[], extra: Readonly<Record<string, string>>): Uint8Array {
  // message WriteRequest { repeated TimeSeries timeseries = 1; }
  // message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; repeated Exemplar exemplars = 3;
  //                      repeated Histogram histograms = 4; }
  const w = new ProtoWriter();
  for (const s of series) {
    w.message(1, (ts) => {
      for (const [name, value] of withExtraLabels(s.labels, extra)) {
        ts.message(1, (l) => {
          l.string(1, name);
          l.string(2, value);
        });
      }
      for (const smp of s.samples) ts.message(2, (m) => writeSample(m, smp, false));
      for (const h of s.histograms) writeHistogram(ts, 4, h, false);
    });
  }
  return w.finish();
}

/** io.prometheus.write.v2.Request (remote write 2.0): labels as refs into one symbols table per request. */
function encodeV2(series: readonly SelectedSeries[], extra: Readonly<Record<string, string>>): Uint8Array {
  // message Request { repeated string symbols = 4; repeated TimeSeries timeseries = 5; }
  // message TimeSeries { repeated uint32 labels_refs = 1; repeated Sample samples = 2; repeated Histogram histograms = 3; … }
  const symbols = [""]; // the spec: symbols[0] is the empty string
  const refs = new Map<string, number>([["", 0]]);
  const ref = (s: string): number => {
    let r = refs.get(s);
    if (r === undefined) {
      r = symbols.length;
      symbols.push(s);
      refs.set(s, r);
    }
    return r;
  };
  const body = new ProtoWriter();
  for (const s of series) {
    body.message(5, (ts) => {
      const labelRefs: number[] = [];
      for (const [name, value] of withExtraLabels(s.labels, extra)) labelRefs.push(ref(name), ref(value));
      ts.message(1, (p) => {
        for (const r of labelRefs) p.uvarint(r);
      });
      for (const smp of s.samples) ts.message(2, (m) => writeSample(m, smp, true));
      for (const h of s.histograms) writeHistogram(ts, 3, h, true);
    });
  }
  const w = new ProtoWriter();
  for (const s of symbols) w.string(4, s);
  w.raw(body.finish());
  return w.finish();
}
