import type { Config } from "../../config.js";
import { assertComplete, NO_PARTIAL_RESULTS, type SearchCompleteness, withCompleteness } from "../../elastic/complete.js";
import { esFailure, esFetch, type Fetch } from "../../elastic/http.js";
import { PromgateError } from "../../errors.js";
import { isRegexpRefusal, RefusedRegexps, RegexpRefused } from "../regexp-refusal.js";
import type { ReadScope } from "../scope.js";
import type { BoolQuery } from "./es-query.js";

/**
 * The Elasticsearch side of every read: one search, a point in time that holds a read's searches to one
 * snapshot, and the one pagination loop over composite aggregations.
 */

/** How long a read's point in time outlives its last search (each search extends it). */
const PIT_KEEP_ALIVE = "1m";
const DEFAULT_FILTER_PATH = "-hits.hits._index,-hits.hits._id,-hits.hits._score";
/** Samples per page when loading series by series (below Elasticsearch's default 65,536 buckets a search). */
export const BY_SERIES_PAGE = 50_000;

export class EsReader {
  readonly fetchFn: Fetch;
  /** Matchers whose regexps Elasticsearch refused: evaluated in promgate from then on. */
  readonly refused = new RefusedRegexps();

  constructor(
    readonly config: Config,
    fetchFn: Fetch,
    /** Samples per page when loading series by series (tests use small pages to cover paging). */
    readonly seriesPageSamples = BY_SERIES_PAGE,
  ) {
    // cluster does not need (measured on loopback: 20–30 % of a 241,000-sample load), so responses come
    // uncompressed unless ES_GZIP asks for compressed traffic with Elasticsearch.
    this.fetchFn = config.esGzip
      ? fetchFn
      : (input, init) => fetchFn(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), "accept-encoding": "identity" } });
  }


  async search<T>(scope: ReadScope, body: unknown, what: string, filterPath = DEFAULT_FILTER_PATH): Promise<T> {
    // Inside a snapshot the point in time names the indices (and carries their options).
    const res = await esFetch(this.config, this.fetchFn, {
      method: "POST",
      path: scope.pit
        ? `/_search?${NO_PARTIAL_RESULTS}&filter_path=${withCompleteness(filterPath)}`
        : `/${scope.indices}/_search?ignore_unavailable=true&allow_no_indices=true&${NO_PARTIAL_RESULTS}&filter_path=${withCompleteness(filterPath)}`,
      body: JSON.stringify(scope.pit ? { ...(body as object), pit: { id: scope.pit, keep_alive: PIT_KEEP_ALIVE } } : body),
    });
    if (!res.ok) {
      const refused = await isRegexpRefusal(res);
      const failure = await esFailure(res, what, this.config.retryAfterSeconds);
      throw refused ? new RegexpRefused(failure.kind, failure.message) : failure;
    }
    const answer = (await res.json()) as T & SearchCompleteness;
    assertComplete(answer, what);
    return answer;
  }

  /** A search on one named index (the chunk index), outside any point in time; a missing index is empty. */
  async searchIndex<T>(index: string, body: unknown, what: string, filterPath = DEFAULT_FILTER_PATH): Promise<T> {
    const res = await esFetch(this.config, this.fetchFn, {
      method: "POST",
      path: `/${index}/_search?ignore_unavailable=true&allow_no_indices=true&${NO_PARTIAL_RESULTS}&filter_path=${withCompleteness(filterPath)}`,
      body: JSON.stringify(body),
    });
    if (!res.ok) {
      const refused = await isRegexpRefusal(res);
      const failure = await esFailure(res, what, this.config.retryAfterSeconds);
      throw refused ? new RegexpRefused(failure.kind, failure.message) : failure;
    }
    const answer = (await res.json()) as T & SearchCompleteness;
    assertComplete(answer, what);
    return answer;
  }

  /**
   * Runs one read (label names, series, samples) against one point in time of the scope's indices, so every
   * search of it sees the same documents. Without it a refresh between the label-name lookup and the series
   * aggregation let a series with a label name new to the stream come back without that label (and its
   * samples under another series' labels). The point in time is opened before the label names are read from
   * the mappings: a mapping is updated before its document becomes searchable, so every label of every
   * document in the snapshot is among the names. Costs two small requests per read.
   */
  async snapshot<T>(scope: ReadScope, read: (scope: ReadScope) => Promise<T>): Promise<T> {
    if (scope.pit) return read(scope);
    const res = await esFetch(this.config, this.fetchFn, {
      method: "POST",
      path: `/${scope.indices}/_pit?keep_alive=${PIT_KEEP_ALIVE}&ignore_unavailable=true&allow_no_indices=true`,
    });
    if (!res.ok) throw await esFailure(res, "opening a point in time", this.config.retryAfterSeconds);
    const { id, ...opened } = (await res.json()) as { id?: unknown } & SearchCompleteness;
    // A point in time opened without a shard would leave that shard out of every search in it.
    assertComplete(opened, "opening a point in time");
    if (typeof id !== "string" || id === "") throw new PromgateError("storage_failed", "Elasticsearch opened a point in time without an id");
    try {
      return await read({ ...scope, pit: id });
    } finally {
      // Best effort: an unclosed point in time expires after PIT_KEEP_ALIVE of no use.
      await esFetch(this.config, this.fetchFn, { method: "DELETE", path: "/_pit", body: JSON.stringify({ id }) })
        .then((r) => r.body?.cancel())
        .catch(() => undefined);
    }
  }

  /**
   * Pages through a composite aggregation, yielding each page's buckets; `subAggs` run per bucket.
   * The one pagination loop for series, label values and samples.
   */
  async *compositePages<B>(
    scope: ReadScope,
    query: BoolQuery,
    sources: Record<string, unknown>[],
    size: number,
    what: string,
    subAggs?: Record<string, unknown>,
    filterPath?: string,
    startAfter?: unknown,
  ): AsyncGenerator<B[]> {
    let after: unknown = startAfter;
    for (;;) {
      const body = {
        size: 0,
        track_total_hits: false,
        query,
        aggs: { c: { composite: { size, sources, ...(after ? { after } : {}) }, ...(subAggs ? { aggs: subAggs } : {}) } },
      };
      type Page = { aggregations?: { c: { after_key?: unknown; buckets: B[] } } };
      // With a filter_path, an empty last page comes back as `{}`.
      const agg = (await this.search<Page>(scope, body, what, filterPath)).aggregations?.c;
      if (!agg) return;
      yield agg.buckets;
      if (!agg.after_key || agg.buckets.length < size) return;
      after = agg.after_key;
    }
  }
}
