import type { Config } from "../config.js";
import { assertComplete, NO_PARTIAL_RESULTS, type SearchCompleteness, withCompleteness } from "../elastic/complete.js";
import { esFailure, esFetch, type Fetch } from "../elastic/http.js";
import type { ReadScope } from "../query/scope.js";

/**
 * What the compactor needs to know of the raw data streams: which exist (with their first sample), and how
 * many documents each holds in a window. Both from a `terms` aggregation on `_index` over the metric data
 * streams, since the data stream API is missing from some distributions; a backing index
 * `.ds-<stream>-<yyyy.MM.dd>-<generation>` names its stream.
 */

/** Every metric data stream promgate writes. */
export const METRIC_STREAMS = "metrics-*.prometheus-*";
const BACKING_INDEX = /^\.ds-(.+)-\d{4}\.\d{2}\.\d{2}-\d+$/;

export const streamOfIndex = (index: string): string | undefined => BACKING_INDEX.exec(index)?.[1];

type IndexBuckets = { aggregations?: { i: { buckets: { key: string; doc_count: number; t?: { value: number | null } }[] } } };

async function byIndex(config: Config, fetchFn: Fetch, streams: string, query: unknown, withFirst: boolean): Promise<IndexBuckets> {
  const res = await esFetch(config, fetchFn, {
    method: "POST",
    path: `/${streams}/_search?ignore_unavailable=true&allow_no_indices=true&${NO_PARTIAL_RESULTS}&filter_path=${withCompleteness("aggregations")}`,
    body: JSON.stringify({ size: 0, track_total_hits: false, query, aggs: { i: { terms: { field: "_index", size: 10_000 }, ...(withFirst ? { aggs: { t: { min: { field: "@timestamp" } } } } : {}) } } }),
  });
  if (!res.ok) throw await esFailure(res, "the data stream lookup", config.retryAfterSeconds);
  const answer = (await res.json()) as IndexBuckets & SearchCompleteness;
  assertComplete(answer, "the data stream lookup");
  return answer;
}

/** Every data stream of the pattern(s) with documents, and the time of its first one. */
export async function rawStreams(config: Config, fetchFn: Fetch, streams: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const b of (await byIndex(config, fetchFn, streams, { match_all: {} }, true)).aggregations?.i.buckets ?? []) {
    const stream = streamOfIndex(b.key);
    const first = b.t?.value;
    if (!stream || first === null || first === undefined) continue;
    out.set(stream, Math.min(out.get(stream) ?? Infinity, first));
  }
  return out;
}

/** Raw documents per stream in [startMs, endMs). */
export async function rawCounts(config: Config, fetchFn: Fetch, streams: string, startMs: number, endMs: number): Promise<Map<string, number>> {
  const range = { range: { "@timestamp": { gte: startMs, lt: endMs, format: "epoch_millis" } } };
  const out = new Map<string, number>();
  for (const b of (await byIndex(config, fetchFn, streams, range, false)).aggregations?.i.buckets ?? []) {
    const stream = streamOfIndex(b.key);
    if (stream) out.set(stream, (out.get(stream) ?? 0) + b.doc_count);
  }
  return out;
}

/** The first document time at or after `fromMs` in a stream, if any (to skip windows without data). */
export async function nextSampleTime(config: Config, fetchFn: Fetch, stream: string, fromMs: number): Promise<number | undefined> {
  const res = await esFetch(config, fetchFn, {
    method: "POST",
    path: `/${stream}/_search?ignore_unavailable=true&allow_no_indices=true&${NO_PARTIAL_RESULTS}&filter_path=${withCompleteness("aggregations")}`,
    body: JSON.stringify({ size: 0, track_total_hits: false, query: { range: { "@timestamp": { gte: fromMs, format: "epoch_millis" } } }, aggs: { t: { min: { field: "@timestamp" } } } }),
  });
  if (!res.ok) throw await esFailure(res, "the next sample lookup", config.retryAfterSeconds);
  const answer = (await res.json()) as { aggregations?: { t: { value: number | null } } } & SearchCompleteness;
  assertComplete(answer, "the next sample lookup");
  const v = answer.aggregations?.t.value;
  return v === null || v === undefined ? undefined : v;
}

/** A read scope of exactly one data stream (the compactor reads streams one by one, outside any tenant). */
export function streamScope(stream: string): ReadScope {
  return { indices: stream, filter: { wildcard: { _index: { value: `.ds-${stream}-*` } } }, routePatterns: [stream], tenantPatterns: [stream] };
}
