import type { Limits } from "../config.js";
import { decodeWriteRequest, type MetadataEntry, type SeriesView, type VisitorWrap, type WriteVisitor } from "../ingest/decode.js";
import { decodeWriteRequestV2 } from "../ingest/decode-v2.js";
import type { WireProtocol } from "../ingest/headers.js";
import type { HistogramSample } from "../ingest/histogram.js";
import type { CompiledRule, LabelRanges } from "./rules.js";

/** One series of a write request that at least one rule takes: its labels as sent, its samples. */
export interface SelectedSeries {
  /** Ranges of the decoded request: valid while it is (forwarding encodes before letting it go). */
  labels: LabelRanges;
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
 * ingest. Only the values the filters read become strings; labels stay byte ranges of the request. Samples
 * and native histograms are taken; exemplars and metadata are not forwarded. A series without `__name__` is
 * not taken: Elasticsearch refuses it too, and a target would refuse the whole batch. The request has already
 * been decoded once for storage, so decoding cannot fail here for a request that got this far.
 */
export function selectSeries(decoded: Uint8Array, protocol: WireProtocol, limits: Limits, rules: readonly CompiledRule[], wrap?: VisitorWrap): SelectedSeries[][] {
  const picked: SelectedSeries[][] = rules.map(() => []);
  const names = new Map<string, Uint8Array>();
  for (const r of rules) for (const [n] of r.filters) names.set(n, enc.encode(n));
  let current: SelectedSeries | undefined;
  let view: SeriesView | undefined;
  const valueOf = (name: string): string => {
    const s = view!;
    const want = names.get(name)!;
    for (let p = 0; p < 4 * s.count; p += 4) {
      if (equalAt(s.buf, s.pos[p]!, s.pos[p + 1]!, want)) return dec.decode(s.buf.subarray(s.pos[p + 2]!, s.pos[p + 3]!));
    }
    return "";
  };
  // Label values repeat across a request's series (a few metric names, one job, one env): each filter's
  // answer is kept per value for the request, so the regex runs once per distinct value.
  const memos = rules.map((r) => r.filters.map(() => new Map<string, boolean>()));
  const matches = (r: number): boolean => {
    const filters = rules[r]!.filters;
    for (let f = 0; f < filters.length; f++) {
      const [name, re] = filters[f]!;
      const value = valueOf(name);
      const memo = memos[r]![f]!;
      let ok = memo.get(value);
      if (ok === undefined) memo.set(value, (ok = re.test(value)));
      if (!ok) return false;
    }
    return true;
  };
  const visitor: WriteVisitor = {
    series(s: SeriesView): boolean {
      current = undefined;
      view = s;
      let named = false;
      for (let p = 0; p < 4 * s.count && !named; p += 4) named = s.pos[p + 3]! > s.pos[p + 2]! && equalAt(s.buf, s.pos[p]!, s.pos[p + 1]!, NAME);
      if (!named) return false;
      for (let r = 0; r < rules.length; r++) {
        if (!matches(r)) continue;
        // The view's positions are reused for the next series: the series keeps a copy of them.
        current ??= { labels: { buf: s.buf, pos: s.pos.slice(0, 4 * s.count), count: s.count }, samples: [], histograms: [] };
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
  const v = wrap ? wrap(visitor) : visitor;
  if (protocol === "prw2") decodeWriteRequestV2(decoded, limits, v);
  else decodeWriteRequest(decoded, limits, v);
  return picked;
}

/** Whether buf[start, end) holds exactly `want` (compared in place: a view per label costs more than the compare). */
function equalAt(buf: Uint8Array, start: number, end: number, want: Uint8Array): boolean {
  if (end - start !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (buf[start + i] !== want[i]) return false;
  return true;
}
