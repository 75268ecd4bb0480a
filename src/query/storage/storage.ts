import type { Config } from "../../config.js";
import type { Fetch } from "../../elastic/http.js";
import type { CompiledMatcher } from "../matchers.js";
import type { ReadScope } from "../scope.js";
import { buckets } from "./buckets.js";
import { labelNames } from "./label-names.js";
import { labelValues } from "./label-values.js";
import { BY_SERIES_PAGE, EsReader } from "./reader.js";
import { samples } from "./samples.js";
import { series } from "./series.js";
import type { BucketSpec, PartialRange, Series, SeriesBuckets, SeriesSamples, TimeRange } from "./types.js";

/**
 * Reads series and samples back from the documents ingest wrote.
 *
 * A series is its label set: in a TSDS every label is a dimension, so documents with the same label values
 * are the same series. We never touch `_tsid`: on Elasticsearch 9.2 every `_tsid` value read (sort, doc
 * value, aggregation key) costs ~150 µs, 50× a keyword's (measured: 10,000 values in 1.5 s vs 28 ms).
 * Instead:
 * 1. which label names occur among the matching documents (`exists` filters over the names `_field_caps`
 *    lists, in one request; label-names.ts);
 * 2. series = buckets of a composite aggregation over exactly those `labels.*` fields (`missing_bucket` for
 *    labels a series lacks), 1,000 a page (series.ts);
 * 3. samples, series by series: a composite over the labels that vary among those series (the constant
 *    ones become term filters) with a `terms` aggregation on `@timestamp` under each series and `max` of
 *    the metric field under that — (labels, timestamp) is unique in a TSDS — in pages planned from the
 *    series' document counts (by-series.ts). Where that plan cannot hold, one flat composite bucket per
 *    sample (labels plus `@timestamp`, 10,000 a page, time slices fetched concurrently; samples.ts).
 * Every series is also checked against the matchers in JS, so a regex Elasticsearch could not evaluate
 * exactly never yields a wrong series.
 */
export class Storage {
  /** The Elasticsearch side shared by every read of this storage (also the chunk reads, chunk-reads.ts). */
  readonly reader: EsReader;

  constructor(config: Config, fetchFn: Fetch, seriesPageSamples = BY_SERIES_PAGE) {
    this.reader = new EsReader(config, fetchFn, seriesPageSamples);
  }

  /** Runs one read against one point in time of the scope's indices (see EsReader.snapshot). */
  snapshot<T>(scope: ReadScope, read: (scope: ReadScope) => Promise<T>): Promise<T> {
    return this.reader.snapshot(scope, read);
  }

  labelNames(scope: ReadScope, range: PartialRange | undefined): Promise<string[]> {
    return labelNames(this.reader, scope, range);
  }

  /** Every series matching all matchers with at least one document in the range. */
  series(scope: ReadScope, matchers: CompiledMatcher[], range: PartialRange | undefined, limit = Infinity): Promise<Series[]> {
    return series(this.reader, scope, matchers, range, limit);
  }

  labelValues(scope: ReadScope, name: string, matchers: CompiledMatcher[], range: PartialRange | undefined, limit = Infinity): Promise<string[]> {
    return labelValues(this.reader, scope, name, matchers, range, limit);
  }

  /** Samples of the given series in [start, end] (see samples.ts). */
  samples(scope: ReadScope, matchers: CompiledMatcher[], range: TimeRange, list: Series[], maxSamples: number, onSeries?: (s: SeriesSamples) => void): Promise<SeriesSamples[]> {
    return samples(this.reader, scope, matchers, range, list, maxSamples, onSeries);
  }

  /** Per series, per time bucket statistics instead of samples (see buckets.ts). */
  buckets(scope: ReadScope, matchers: CompiledMatcher[], range: TimeRange, list: Series[], bucket: BucketSpec, maxBuckets: number): Promise<SeriesBuckets[]> {
    return buckets(this.reader, scope, matchers, range, list, bucket, maxBuckets);
  }
}
