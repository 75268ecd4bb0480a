import { COUNTER_SUFFIXES } from "../elastic/templates.js";

/**
 * Whether a series' values are a counter or a gauge, which decides the `time_series_metric` of its field
 * (`metrics.<name>`) when Elasticsearch maps it. Metadata decides where the sender gave it (remote write 2.0
 * carries it on every series; 1.0 sends it separately, so only what was seen before can help); the
 * Prometheus naming convention (`_total`, `_sum`, `_count`, `_bucket` are counters) is the fallback, and is
 * also what the index template applies on its own, so a hint is sent only where metadata disagrees with it.
 */

export type SeriesKind = "counter" | "gauge";

/** MetricType numbers, the same in 1.0's MetricMetadata and 2.0's Metadata. */
const COUNTER = 1;
const GAUGE = 2;
const HISTOGRAM = 3;
const GAUGE_HISTOGRAM = 4;
const SUMMARY = 5;

/** Suffixes of the series a histogram or summary family consists of; all cumulative. */
const FAMILY_SUFFIXES = ["_bucket", "_count", "_sum", "_total", "_created"];

export function kindBySuffix(name: string): SeriesKind {
  return COUNTER_SUFFIXES.some((s) => name.endsWith(s)) ? "counter" : "gauge";
}

/** The kind metadata of type `type` gives series `name`, or undefined when the type does not say. */
export function kindFromMetadata(name: string, type: number): SeriesKind | undefined {
  switch (type) {
    case COUNTER:
      return "counter";
    case GAUGE:
    case GAUGE_HISTOGRAM:
      return "gauge";
    case HISTOGRAM:
    case SUMMARY:
      // The family's _bucket/_count/_sum series count up; a summary's quantile series (the bare name) does not.
      return FAMILY_SUFFIXES.some((s) => name.endsWith(s)) ? "counter" : "gauge";
    default:
      return undefined;
  }
}

/**
 * The kind 1.0 metadata seen earlier gives series `name`: families are named with or without the series'
 * suffix (`http_requests_total` in the text format, `http_requests` in OpenMetrics; `latency` for
 * `latency_bucket`).
 */
export function kindFromFamilies(name: string, families: ReadonlyMap<string, number>): SeriesKind | undefined {
  const own = families.get(name);
  if (own !== undefined) return kindFromMetadata(name, own);
  for (const suffix of FAMILY_SUFFIXES) {
    if (!name.endsWith(suffix)) continue;
    const t = families.get(name.slice(0, -suffix.length));
    if (t !== undefined) return kindFromMetadata(name, t);
  }
  return undefined;
}
