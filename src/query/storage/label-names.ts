import { assertAllIndices } from "../../elastic/complete.js";
import { esFailure, esFetch } from "../../elastic/http.js";
import type { ReadScope } from "../scope.js";
import { type BoolQuery, rangeFilter } from "./es-query.js";
import type { EsReader } from "./reader.js";
import type { PartialRange } from "./types.js";

/** Which label names occur in a scope and range. */

/**
 * Label names in scope and range, from the mappings of the indices that have any (`_field_caps` with an
 * index filter): cheap, and what editors' autocompletion needs.
 */
export async function labelNames(r: EsReader, scope: ReadScope, range: PartialRange | undefined): Promise<string[]> {
  const res = await esFetch(r.config, r.fetchFn, {
    method: "POST",
    path: `/${scope.indices}/_field_caps?fields=labels.*&ignore_unavailable=true&allow_no_indices=true&filter_path=fields,failed_indices`,
    body: JSON.stringify({ index_filter: { bool: { filter: [scope.filter, ...rangeFilter(range)] } } }),
  });
  if (!res.ok) throw await esFailure(res, "the label name lookup", r.config.retryAfterSeconds);
  const caps = (await res.json()) as { fields?: Record<string, Record<string, { type: string }>>; failed_indices?: number };
  assertAllIndices(caps, "the label name lookup");
  return Object.keys(caps.fields ?? {})
    .filter((f) => f.startsWith("labels.") && !Object.keys(caps.fields![f]!).every((t) => t === "object"))
    .map((f) => f.slice("labels.".length))
    .sort();
}

/** Label names that occur among the documents `query` selects. */
export async function presentLabelNames(r: EsReader, scope: ReadScope, query: BoolQuery, range: PartialRange | undefined): Promise<string[]> {
  const candidates = await labelNames(r, scope, range);
  if (candidates.length === 0) return [];
  const aggs: Record<string, unknown> = {};
  candidates.forEach((n, i) => {
    aggs[`n${i}`] = { filter: { exists: { field: `labels.${n}` } } };
  });
  type Counts = { aggregations?: Record<string, { doc_count: number }> };
  const counts = await r.search<Counts>(scope, { size: 0, track_total_hits: false, query, aggs }, "the label name lookup");
  return candidates.filter((_, i) => (counts.aggregations?.[`n${i}`]?.doc_count ?? 0) > 0);
}
