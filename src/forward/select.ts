import type { Limits } from "../config.js";
import { decodeWriteRequest, type MetadataEntry, type SeriesView, type WriteVisitor } from "../ingest/decode.js";
import { decodeWriteRequestV2 } from "../ingest/decode-v2.js";
import type { WireProtocol } from "../ingest/headers.js";
import type { HistogramSample } from "../ingest/histogram.js";
import type { CompiledRule } from "./rules.js";

/** One series of a write request that at least one rule takes: its labels as sent, its samples. */
export interface SelectedSeries {
  labels: [string, string][];
  /** Float samples: timestamp ms, value, and whether the value is Prometheus' staleness marker. */
  samples: { timestampMs: number; value: number; stale: boolean; startMs: number }[];
  /** Native histograms: the sender's message without its timestamps (re-added when encoded). */
  histograms: { timestampMs: number; startMs: number; message: Uint8Array }[];
}

const dec = new TextDecoder();

/**
 * The series of a decoded write request (1.0 or 2.0) that each rule takes, walked with the same decoder as
 * ingest. Samples and native histograms are taken; exemplars and metadata are not forwarded. A series
 * without `__name__` is not taken: Elasticsearch refuses it too, and a target would refuse the whole batch.
 * The request has already been decoded once for storage, so decoding cannot fail here for a valid request.
 */
export function selectSeries(decoded: Uint8Array, protocol: WireProtocol, limits: Limits, rules: readonly CompiledRule[]): SelectedSeries[][] {
  const picked: SelectedSeries[][] = rules.map(() => []);
  let current: SelectedSeries | undefined;
  const visitor: WriteVisitor = {
    series(s: SeriesView): boolean {
      const labels: [string, string][] = [];
      for (let i = 0; i < s.count; i++) {
        labels.push([dec.decode(s.buf.subarray(s.pos[4 * i]!, s.pos[4 * i + 1]!)), dec.decode(s.buf.subarray(s.pos[4 * i + 2]!, s.pos[4 * i + 3]!))]);
      }
      current = undefined;
      if (!labels.some(([n, v]) => n === "__name__" && v !== "")) return false;
      rules.forEach((r, i) => {
        if (!r.matches(labels)) return;
        current ??= { labels, samples: [], histograms: [] };
        picked[i]!.push(current);
      });
      return current !== undefined;
    },
    sample(timestampMs: number, value: number, stale: boolean, startMs: number): void {
      current?.samples.push({ timestampMs, value, stale, startMs });
    },
    histogram(h: HistogramSample | string): void {
      // An invalid histogram is refused by storage and would be by the target: not forwarded either.
      if (typeof h === "string") return;
      current?.histograms.push({ timestampMs: h.timestampMs, startMs: h.startMs, message: h.stored.slice() });
    },
    exemplar(): void {},
    metadata(_m: MetadataEntry): void {},
  };
  if (protocol === "prw2") decodeWriteRequestV2(decoded, limits, visitor);
  else decodeWriteRequest(decoded, limits, visitor);
  return picked;
}
