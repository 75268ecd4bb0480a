import type { CompiledMatcher } from "../matchers.js";
import { matchesAll } from "../matchers.js";
import type { ReadScope } from "../scope.js";
import { type CompositeKey, composite, esQuery, labelsOfKey } from "./es-query.js";
import { presentLabelNames } from "./label-names.js";
import type { EsReader } from "./reader.js";
import { type PartialRange, type Series, seriesKey } from "./types.js";

const SERIES_PAGE = 1000;

/** Every series matching all matchers with at least one document in the range. */
export async function series(r: EsReader, scope: ReadScope, matchers: CompiledMatcher[], range: PartialRange | undefined, limit = Infinity): Promise<Series[]> {
  // The label names and the aggregation over them must see the same documents (see snapshot).
  if (!scope.pit) return r.snapshot(scope, (at) => series(r, at, matchers, range, limit));
  return r.refused.retry(matchers, (push) => seriesWith(r, push, scope, matchers, range, limit));
}

export async function seriesWith(r: EsReader, pushRegexps: boolean, scope: ReadScope, matchers: CompiledMatcher[], range: PartialRange | undefined, limit: number): Promise<Series[]> {
  const { query } = esQuery(scope, matchers, range, pushRegexps);
  const names = await presentLabelNames(r, scope, query, range);
  if (names.length === 0) return [];
  const out: Series[] = [];
  const pages = r.compositePages<{ key: CompositeKey; doc_count: number }>(scope, query, composite(names), SERIES_PAGE, "the series lookup");
  for await (const buckets of pages) {
    for (const b of buckets) {
      const labels = labelsOfKey(b.key, names);
      if (!matchesAll(labels, matchers)) continue;
      out.push({ key: seriesKey(labels), labels, docs: b.doc_count });
      if (out.length >= limit) return out;
    }
  }
  return out;
}
