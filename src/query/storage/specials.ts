import { PromgateError } from "../../errors.js";
import { decodeStoredHistogram } from "../../ingest/histogram.js";
import type { NativeHistogram } from "../../model/histogram.js";
import { bytesFromBase64 } from "../../util/base64.js";
import type { ReadScope } from "../scope.js";
import { type BoolQuery, withFilter } from "./es-query.js";
import type { EsReader } from "./reader.js";
import { seriesKey, type SeriesSamples } from "./types.js";
import type { Labels } from "../matchers.js";

const SAMPLE_PAGE = 10_000;

/** What a document without a float value holds: a special float's name, or a native histogram. */
export type Special = string | NativeHistogram;

/**
 * Documents without a float value — stale markers, NaN, ±Inf and native histograms — keyed by
 * `series key@timestamp`: usually few, read as hits (a histogram's stored message is one keyword).
 */
export async function specialSamples(r: EsReader, scope: ReadScope, query: BoolQuery): Promise<Map<string, Special>> {
  const out = new Map<string, Special>();
  let after: unknown[] | undefined;
  for (;;) {
    const body = {
      size: SAMPLE_PAGE,
      track_total_hits: false,
      _source: ["labels", "promgate.special", "promgate.histogram"],
      query: withFilter(query, {
        bool: { should: [{ exists: { field: "promgate.special" } }, { exists: { field: "promgate.histogram" } }], minimum_should_match: 1 },
      }),
      sort: [{ "@timestamp": { order: "asc", format: "epoch_millis" } }, "_doc"],
      ...(after ? { search_after: after } : {}),
    };
    type Hit = { _source: { labels?: Labels; promgate?: { special?: string; histogram?: string } }; sort: unknown[] };
    const hits = (await r.search<{ hits?: { hits: Hit[] } }>(scope, body, "the special value lookup")).hits?.hits ?? [];
    for (const h of hits) {
      const p = h._source.promgate;
      out.set(`${seriesKey(h._source.labels ?? {})}@${Number(h.sort[0])}`, p?.histogram !== undefined ? storedHistogram(p.histogram) : (p?.special ?? "NaN"));
    }
    if (hits.length < SAMPLE_PAGE) return out;
    after = hits[hits.length - 1]!.sort;
  }
}
function storedHistogram(b64: string): Special {
  const bytes = bytesFromBase64(b64);
  const h = bytes ? decodeStoredHistogram(bytes) : undefined;
  // A stored histogram always decoded when it was written; one that does not is a corrupted document.
  if (!h) throw new PromgateError("storage_failed", "elasticsearch returned a native histogram promgate cannot read");
  return h;
}

/** Sample `i` of `s` is a document without a float value: records what it is; returns the float to keep. */
export function applySpecial(s: SeriesSamples, i: number, special: Special | undefined): number {
  if (typeof special === "object") {
    s.histograms ??= [];
    s.histograms[i] = special;
    return Number.NaN;
  }
  if (special === "stale") s.stale.add(i);
  return special === "+Inf" ? Infinity : special === "-Inf" ? -Infinity : Number.NaN;
}
