import { matchersToQuery } from "../esquery.js";
import type { CompiledMatcher, Labels } from "../matchers.js";
import type { ReadScope } from "../scope.js";
import type { PartialRange, Series, TimeRange } from "./types.js";

/** Pieces of the Elasticsearch queries every read builds: time range, scope, matchers, sample plan. */

export type BoolQuery = { bool: { filter: unknown[]; must_not: unknown[] } };
export type CompositeKey = Record<string, string | number | null>;

/**
 * The widest time Elasticsearch parses as epoch_millis here (a JS Date's range, ±275,760 years): a query time
 * like `@ 1e20` or `end=9223372036854775807` is valid PromQL but past what ES parses (it answers 400, which
 * would surface as a 502); no document lies outside these bounds, so clamping changes no answer.
 */
const ES_MAX_MS = 8.64e15;
const clampMs = (ms: number) => Math.min(ES_MAX_MS, Math.max(-ES_MAX_MS, ms));

export function rangeFilter(range: PartialRange | undefined): unknown[] {
  if (!range || (range.startMs === undefined && range.endMs === undefined)) return [];
  return [
    {
      range: {
        "@timestamp": {
          ...(range.startMs !== undefined ? { gte: clampMs(range.startMs) } : {}),
          ...(range.endMs !== undefined ? { lte: clampMs(range.endMs) } : {}),
          format: "epoch_millis",
        },
      },
    },
  ];
}

export function labelsOfKey(key: CompositeKey, names: string[]): Labels {
  const labels: Labels = {};
  for (const n of names) {
    const v = key[n];
    if (v !== null && v !== undefined) labels[n] = String(v);
  }
  return labels;
}

export const withFilter = (q: BoolQuery, extra: unknown): BoolQuery => ({ bool: { ...q.bool, filter: [...q.bool.filter, extra] } });

/** The ES query for matchers, time range and scope; `pushRegexps` false keeps `regexp` clauses out. */
export function esQuery(scope: ReadScope, matchers: CompiledMatcher[], range: PartialRange | undefined, pushRegexps = true): { query: BoolQuery; exact: boolean } {
  const q = matchersToQuery(matchers, pushRegexps);
  const filter: unknown[] = [scope.filter, ...q.filter, ...rangeFilter(range)];
  return { query: { bool: { filter, must_not: q.mustNot } }, exact: q.exact };
}

/** Composite sources over the given label names (`missing_bucket` for labels a series lacks), then `extra`. */
export function composite(names: string[], extra: Record<string, unknown>[] = []) {
  return [...names.map((n) => ({ [n]: { terms: { field: `labels.${n}`, missing_bucket: true } } })), ...extra];
}

/**
 * Which labels the sample aggregation must group by. A label every series has with the same value cannot
 * tell them apart: it becomes a term filter instead (fewer composite sources, smaller pages). The filter
 * keeps the answer exact: a series that appeared since the series lookup with another value is left out,
 * as any series missing from the lookup is.
 */
export function samplePlan(series: Series[]): { constant: unknown[]; varying: string[] } {
  const names = new Set<string>();
  for (const s of series) for (const n in s.labels) names.add(n);
  const constant: unknown[] = [];
  const varying: string[] = [];
  for (const n of [...names].sort()) {
    const v = series[0]!.labels[n];
    if (v !== undefined && series.every((s) => s.labels[n] === v)) constant.push({ term: { [`labels.${n}`]: v } });
    else varying.push(n);
  }
  return { constant, varying };
}

/** [start, end] cut into `n` contiguous integer-millisecond slices (fewer when the range is shorter). */
export function timeSlices(range: TimeRange, n: number): TimeRange[] {
  const span = range.endMs - range.startMs + 1;
  const k = Math.max(1, Math.min(n, span));
  const out: TimeRange[] = [];
  for (let i = 0; i < k; i++) {
    const startMs = range.startMs + Math.floor((span * i) / k);
    const endMs = range.startMs + Math.floor((span * (i + 1)) / k) - 1;
    out.push({ startMs, endMs });
  }
  return out;
}
