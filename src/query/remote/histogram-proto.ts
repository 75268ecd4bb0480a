/**
 * A native histogram sample as remote_read's SAMPLES answer carries it: the 1.0 `prometheus.Histogram`
 * message, as Prometheus' prompb.FromIntHistogram / FromFloatHistogram fill it and gogoproto writes it
 * (fields ascending, zero scalars left out, the count oneofs always present). Integer histograms send
 * count_int/zero_count_int and bucket deltas (each bucket minus the one before), float histograms
 * count_float/zero_count_float and absolute counts. A staleness marker is a histogram of that flavour with
 * only its StaleNaN sum, as Prometheus' TSDB returns it.
 */
import type { NativeHistogram } from "../../model/histogram.js";
import { STALE_HI, STALE_LO } from "./bitstream.js";
import type { ProtoWriter } from "../../protobuf/writer.js";
import { bucketDeltas } from "./spans.js";

function spans(w: ProtoWriter, field: number, list: NativeHistogram["positiveSpans"]): void {
  for (const s of list) {
    w.message(field, (m) => {
      m.sintField(1, s.offset);
      m.int64Field(2, s.length);
    });
  }
}

/** Writes `Histogram` field 4 of a TimeSeries; `h` undefined (or `stale`) writes a staleness marker. */
export function writeHistogram(w: ProtoWriter, t: number, float: boolean, h: NativeHistogram | undefined, stale: boolean): void {
  w.message(4, (m) => {
    if (stale || !h) {
      if (float) m.doubleBits(2, 0, 0);
      else m.uvarintFieldAlways(1, 0);
      m.doubleBits(3, STALE_LO, STALE_HI);
      if (float) m.doubleBits(7, 0, 0);
      else m.uvarintFieldAlways(6, 0);
      m.int64Field(15, t);
      return;
    }
    if (float) m.double(2, h.count);
    else m.uvarintFieldAlways(1, h.count);
    if (h.sum !== 0) m.double(3, h.sum);
    m.sintField(4, h.schema);
    if (h.zeroThreshold !== 0) m.double(5, h.zeroThreshold);
    if (float) m.double(7, h.zeroCount);
    else m.uvarintFieldAlways(6, h.zeroCount);
    spans(m, 8, h.negativeSpans);
    if (float) m.packedDouble(10, h.negativeBuckets);
    else m.packedSint(9, bucketDeltas(h.negativeBuckets));
    spans(m, 11, h.positiveSpans);
    if (float) m.packedDouble(13, h.positiveBuckets);
    else m.packedSint(12, bucketDeltas(h.positiveBuckets));
    m.enumField(14, h.resetHint);
    m.int64Field(15, t);
    m.packedDouble(16, h.customValues);
  });
}
