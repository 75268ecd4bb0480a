import type { Limits } from "../config.js";
import { decodeWriteRequest, type MetadataEntry, type SeriesView, type WriteVisitor } from "../ingest/decode.js";
import { decodeWriteRequestV2 } from "../ingest/decode-v2.js";
import type { WireProtocol } from "../ingest/headers.js";
import type { HistogramSample } from "../ingest/histogram.js";
import { type CompiledRule, equalBytes, type LabelBytes } from "./rules.js";

/** One series of a write request that at least one rule takes: its labels as sent, its samples. */
export interface SelectedSeries {
  /** Views into the decoded request: valid while it is (forwarding encodes before letting it go). */
  labels: LabelBytes[];
  /** Float samples: timestamp ms, value, and whether the value is Prometheus' staleness marker. */
  samples: { timestampMs: number; value: number; stale: boolean; startMs: number }[];
  /** Native histograms: the sender's message without its timestamps (re-added when encoded). */
  histograms: { timestampMs: number; startMs: number; message: Uint8Array }[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const NAME = enc.encode("__name__");

/**
 * The series of a decoded write request (1.0 or 2.0) that each rule takes, walked with the same decoder as
 * ingest. Only the values the filters read are turned into strings; labels stay bytes. Samples and native
 * histograms are taken; exemplars and metadata are not forwarded. A series without `__name__` is not taken:
 * Elasticsearch refuses it too, and a target would refuse the whole batch. The request has already been
 * decoded once for storage, so decoding cannot fail here for a request that got this far.
 */
export function selectSeries(decoded: Uint8Array, protocol: WireProtocol, limits: Limits, rules: readonly CompiledRule[]): SelectedSeries[][] {
  const picked: SelectedSeries[][] = rules.map(() => []);
  const names = new Map<string, Uint8Array>();
  for (const r of rules) for (const n of r.names) names.set(n, enc.encode(n));
  let current: SelectedSeries | undefined;
  let view: SeriesView | undefined;
  const valueOf = (name: string): string => {
    const s = view!;
    const want = names.get(name)!;
    for (let i = 0; i < s.count; i++) {
      const p = 4 * i;
      if (s.pos[p + 1]! - s.pos[p]! === want.length && equalBytes(s.buf.subarray(s.pos[p]!, s.pos[p + 1]!), want)) {
        return dec.decode(s.buf.subarray(s.pos[p + 2]!, s.pos[p + 3]!));
      }
    }
    return "";
  };
  const visitor: WriteVisitor = {
    series(s: SeriesView): boolean {
      current = undefined;
      view = s;
      let named = false;
      for (let i = 0; i < s.count && !named; i++) {
        const p = 4 * i;
        named = s.pos[p + 3]! > s.pos[p + 2]! && equalBytes(s.buf.subarray(s.pos[p]!, s.pos[p + 1]!), NAME);
      }
      if (!named) return false;
      for (let r = 0; r < rules.length; r++) {
        if (!rules[r]!.matches(valueOf)) continue;
        current ??= { labels: labelsOf(s), samples: [], histograms: [] };
        picked[r]!.push(current);
      }
      return current !== undefined;
    },
    sample(timestampMs: number, value: number, stale: boolean, startMs: number): void {
      current?.samples.push({ timestampMs, value, stale, startMs });
    },
    histogram(h: HistogramSample | string): void {
      // An invalid histogram is refused by storage and would be by the target: not forwarded either.
      if (typeof h === "string") return;
      current?.histograms.push({ timestampMs: h.timestampMs, startMs: h.startMs, message: h.stored });
    },
    exemplar(): void {},
    metadata(_m: MetadataEntry): void {},
  };
  if (protocol === "prw2") decodeWriteRequestV2(decoded, limits, visitor);
  else decodeWriteRequest(decoded, limits, visitor);
  return picked;
}

/** The series' labels as views into the request (the view's positions are reused for the next series). */
function labelsOf(s: SeriesView): LabelBytes[] {
  const out: LabelBytes[] = [];
  for (let i = 0; i < s.count; i++) {
    const p = 4 * i;
    out.push([s.buf.subarray(s.pos[p]!, s.pos[p + 1]!), s.buf.subarray(s.pos[p + 2]!, s.pos[p + 3]!)]);
  }
  return out;
}
