import type { Config } from "../config.js";
import { esFailure, esFetch, type Fetch } from "../elastic/http.js";
import { HttpError } from "../http/errors.js";
import { matchersToQuery } from "./esquery.js";
import { type CompiledMatcher, type Labels, matchesAll } from "./matchers.js";
import { isRegexpRefusal, RefusedRegexps, RegexpRefused } from "./regexp-refusal.js";
import type { ReadScope } from "./scope.js";
import type { NativeHistogram } from "../model/histogram.js";
import { decodeStoredHistogram } from "../ingest/histogram.js";
import { bytesFromBase64 } from "../util/base64.js";

/**
 * Reads series and samples back from the documents ingest wrote.
 *
 * A series is its label set: in a TSDS every label is a dimension, so documents with the same label values
 * are the same series. We never touch `_tsid`: on Elasticsearch 9.2 every `_tsid` value read (sort, doc
 * value, aggregation key) costs ~150 µs, 50× a keyword's (measured: 10,000 values in 1.5 s vs 28 ms).
 * Instead:
 * 1. which label names occur among the matching documents (`exists` filters over the names `_field_caps`
 *    lists, in one request);
 * 2. series = buckets of a composite aggregation over exactly those `labels.*` fields (`missing_bucket` for
 *    labels a series lacks), 1,000 a page;
 * 3. samples, series by series: a composite over the labels that vary among those series (the constant
 *    ones become term filters) with a `terms` aggregation on `@timestamp` under each series and `max` of
 *    the metric field under that — (labels, timestamp) is unique in a TSDS — in pages planned from the
 *    series' document counts (`samplesBySeries`). Where that plan cannot hold, one flat composite bucket
 *    per sample (labels plus `@timestamp`, 10,000 a page, time slices fetched concurrently).
 * Every series is also checked against the matchers in JS, so a regex Elasticsearch could not evaluate
 * exactly never yields a wrong series.
 */

export interface Series {
  /** Canonical identity of the label set (sorted name/value pairs). */
  key: string;
  labels: Labels;
  /** Documents (samples) of the series the lookup counted in its range. */
  docs?: number;
}

export interface SeriesSamples extends Series {
  /** Milliseconds, ascending. */
  timestamps: number[];
  /** Values; a stale marker is NaN here and its index is in `stale`. */
  values: number[];
  /**
   * Indices of Prometheus staleness markers. Kept apart from `values` because a JS number cannot carry the
   * marker's NaN payload reliably (engines may quiet signalling NaNs); encoders write its exact bits.
   */
  stale: Set<number>;
  /**
   * Native histogram samples, aligned with `timestamps` (absent when the series has none): where
   * `histograms[i]` is set, sample i is that histogram and `values[i]` is NaN, to be ignored.
   */
  histograms?: (NativeHistogram | undefined)[];
}

/** Per-bucket statistics of one series (see `Storage.buckets`). */
export interface SeriesBuckets extends Series {
  /** Bucket ends in ms, ascending; a bucket holds (end − width, end]. */
  ends: number[];
  /** Samples in the bucket, stale markers not counted (may be 0: only stale markers). */
  counts: number[];
  /** Min or max of the bucket's values that are not NaN; NaN if none (or no statistic asked for). */
  stat: number[];
  /**
   * How many of the bucket's samples (in `counts`) are native histograms; absent when none is. PromQL
   * pushdown needs it to leave histograms out of min/max_over_time exactly (see promql/pushdown.ts).
   */
  histograms?: number[];
  /** When asked for: the time of the bucket's latest sample, and whether that sample is a stale marker. */
  last?: number[];
  lastStale?: boolean[];
}

export interface TimeRange {
  startMs: number;
  endMs: number;
}

/** A range open on either side (the HTTP API's start/end are optional). */
export interface PartialRange {
  startMs?: number | undefined;
  endMs?: number | undefined;
}

const SERIES_PAGE = 1000;
/** How long a read's point in time outlives its last search (each search extends it). */
const PIT_KEEP_ALIVE = "1m";
const SAMPLE_PAGE = 10_000;
/**
 * A non-streamed sample load is split by time into this many slices fetched concurrently: one composite
 * aggregation runs on one search thread, so a single pagination loop leaves Elasticsearch's other cores
 * idle while promgate parses the previous page.
 */
const SAMPLE_SLICES = 2;
/** Samples per page when loading series by series (below Elasticsearch's default 65,536 buckets a search). */
const BY_SERIES_PAGE = 50_000;
const DEFAULT_FILTER_PATH = "-hits.hits._index,-hits.hits._id,-hits.hits._score";
/** Sample pages: only keys and values (drops `doc_count`, ~10 % of the bytes to parse). */
const SAMPLE_FILTER_PATH = "aggregations.c.after_key,aggregations.c.buckets.key,aggregations.c.buckets.v.value";

type BoolQuery = { bool: { filter: unknown[]; must_not: unknown[] } };
type CompositeKey = Record<string, string | number | null>;

/**
 * The widest time Elasticsearch parses as epoch_millis here (a JS Date's range, ±275,760 years): a query time
 * like `@ 1e20` or `end=9223372036854775807` is valid PromQL but past what ES parses (it answers 400, which
 * would surface as a 502); no document lies outside these bounds, so clamping changes no answer.
 */
const ES_MAX_MS = 8.64e15;
const clampMs = (ms: number) => Math.min(ES_MAX_MS, Math.max(-ES_MAX_MS, ms));

function rangeFilter(range: PartialRange | undefined): unknown[] {
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

export function seriesKey(labels: Labels): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

function labelsOfKey(key: CompositeKey, names: string[]): Labels {
  const labels: Labels = {};
  for (const n of names) {
    const v = key[n];
    if (v !== null && v !== undefined) labels[n] = String(v);
  }
  return labels;
}

const withFilter = (q: BoolQuery, extra: unknown): BoolQuery => ({ bool: { ...q.bool, filter: [...q.bool.filter, extra] } });

/** Per-series time buckets asked of `Storage.buckets`. */
export interface BucketSpec {
  bucketMs: number;
  alignMs: number;
  stat: "min" | "max" | undefined;
  last?: boolean;
}

export class Storage {
  private readonly fetchFn: Fetch;
  private readonly refused = new RefusedRegexps();

  constructor(
    private readonly config: Config,
    fetchFn: Fetch,
    /** Samples per page when loading series by series (tests use small pages to cover paging). */
    private readonly seriesPageSamples = BY_SERIES_PAGE,
  ) {
    // Reads move megabytes of JSON. Compressing them costs Elasticsearch and promgate CPU that a nearby
    // cluster does not need (measured on loopback: 20–30 % of a 241,000-sample load), so responses come
    // uncompressed unless ES_GZIP asks for compressed traffic with Elasticsearch.
    this.fetchFn = config.esGzip
      ? fetchFn
      : (input, init) => fetchFn(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), "accept-encoding": "identity" } });
  }

  private async search<T>(scope: ReadScope, body: unknown, what: string, filterPath = DEFAULT_FILTER_PATH): Promise<T> {
    // Inside a snapshot the point in time names the indices (and carries their options).
    const res = await esFetch(this.config, this.fetchFn, {
      method: "POST",
      path: scope.pit
        ? `/_search?filter_path=${filterPath}`
        : `/${scope.indices}/_search?ignore_unavailable=true&allow_no_indices=true&filter_path=${filterPath}`,
      body: JSON.stringify(scope.pit ? { ...(body as object), pit: { id: scope.pit, keep_alive: PIT_KEEP_ALIVE } } : body),
    });
    if (!res.ok) {
      const refused = await isRegexpRefusal(res);
      const failure = await esFailure(res, what, this.config.retryAfterSeconds);
      throw refused ? new RegexpRefused(failure.status, failure.message) : failure;
    }
    return (await res.json()) as T;
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
    const { id } = (await res.json()) as { id?: unknown };
    if (typeof id !== "string" || id === "") throw new HttpError(502, "Elasticsearch opened a point in time without an id");
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
  private async *compositePages<B>(
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

  /** The ES query for matchers, time range and scope; `pushRegexps` false keeps `regexp` clauses out. */
  private query(scope: ReadScope, matchers: CompiledMatcher[], range: PartialRange | undefined, pushRegexps = true): { query: BoolQuery; exact: boolean } {
    const q = matchersToQuery(matchers, pushRegexps);
    const filter: unknown[] = [scope.filter, ...q.filter, ...rangeFilter(range)];
    return { query: { bool: { filter, must_not: q.mustNot } }, exact: q.exact };
  }

  /**
   * Label names in scope and range, from the mappings of the indices that have any (`_field_caps` with an
   * index filter): cheap, and what editors' autocompletion needs.
   */
  async labelNames(scope: ReadScope, range: PartialRange | undefined): Promise<string[]> {
    const res = await esFetch(this.config, this.fetchFn, {
      method: "POST",
      path: `/${scope.indices}/_field_caps?fields=labels.*&ignore_unavailable=true&allow_no_indices=true&filter_path=fields`,
      body: JSON.stringify({ index_filter: { bool: { filter: [scope.filter, ...rangeFilter(range)] } } }),
    });
    if (!res.ok) throw await esFailure(res, "the label name lookup", this.config.retryAfterSeconds);
    const caps = (await res.json()) as { fields?: Record<string, Record<string, { type: string }>> };
    return Object.keys(caps.fields ?? {})
      .filter((f) => f.startsWith("labels.") && !Object.keys(caps.fields![f]!).every((t) => t === "object"))
      .map((f) => f.slice("labels.".length))
      .sort();
  }

  /** Label names that occur among the documents `query` selects. */
  private async presentLabelNames(scope: ReadScope, query: BoolQuery, range: PartialRange | undefined): Promise<string[]> {
    const candidates = await this.labelNames(scope, range);
    if (candidates.length === 0) return [];
    const aggs: Record<string, unknown> = {};
    candidates.forEach((n, i) => {
      aggs[`n${i}`] = { filter: { exists: { field: `labels.${n}` } } };
    });
    type Counts = { aggregations?: Record<string, { doc_count: number }> };
    const r = await this.search<Counts>(scope, { size: 0, track_total_hits: false, query, aggs }, "the label name lookup");
    return candidates.filter((_, i) => (r.aggregations?.[`n${i}`]?.doc_count ?? 0) > 0);
  }

  private composite(names: string[], extra: Record<string, unknown>[] = []) {
    return [...names.map((n) => ({ [n]: { terms: { field: `labels.${n}`, missing_bucket: true } } })), ...extra];
  }

  /** Every series matching all matchers with at least one document in the range. */
  async series(scope: ReadScope, matchers: CompiledMatcher[], range: PartialRange | undefined, limit = Infinity): Promise<Series[]> {
    // The label names and the aggregation over them must see the same documents (see snapshot).
    if (!scope.pit) return this.snapshot(scope, (at) => this.series(at, matchers, range, limit));
    return this.refused.retry(matchers, (push) => this.seriesWith(push, scope, matchers, range, limit));
  }

  private async seriesWith(pushRegexps: boolean, scope: ReadScope, matchers: CompiledMatcher[], range: PartialRange | undefined, limit: number): Promise<Series[]> {
    const { query } = this.query(scope, matchers, range, pushRegexps);
    const names = await this.presentLabelNames(scope, query, range);
    if (names.length === 0) return [];
    const out: Series[] = [];
    const pages = this.compositePages<{ key: CompositeKey; doc_count: number }>(scope, query, this.composite(names), SERIES_PAGE, "the series lookup");
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

  /**
   * Values of one label over the documents the matchers select: a composite terms aggregation where ES
   * evaluates the matchers exactly, else the values of the series that pass promgate's own matching.
   */
  async labelValues(scope: ReadScope, name: string, matchers: CompiledMatcher[], range: PartialRange | undefined, limit = Infinity): Promise<string[]> {
    return this.refused.retry(matchers, (push) => this.labelValuesWith(push, scope, name, matchers, range, limit));
  }

  private async labelValuesWith(pushRegexps: boolean, scope: ReadScope, name: string, matchers: CompiledMatcher[], range: PartialRange | undefined, limit: number): Promise<string[]> {
    const { query, exact } = this.query(scope, matchers, range, pushRegexps);
    if (!exact) {
      const set = new Set<string>();
      for (const s of await this.series(scope, matchers, range)) {
        const v = s.labels[name];
        if (v !== undefined) set.add(v);
        if (set.size >= limit) break;
      }
      return [...set];
    }
    const values: string[] = [];
    const sources = [{ v: { terms: { field: `labels.${name}` } } }];
    for await (const buckets of this.compositePages<{ key: { v: string } }>(scope, query, sources, SERIES_PAGE, "the label value lookup")) {
      for (const b of buckets) {
        values.push(String(b.key.v));
        if (values.length >= limit) return values;
      }
    }
    return values;
  }

  /**
   * Samples of the given series in [start, end], each series' samples ascending. Stale markers come back
   * flagged in `stale`; NaN and ±Inf as themselves. With `onSeries`, each series is handed over as soon as
   * its last sample has arrived (the aggregation returns series one after the other) and then forgotten, so
   * a streamed answer holds one page of samples, not the whole result; the returned list is then empty.
   * Without it, the time range is split into slices loaded concurrently.
   */
  async samples(
    scope: ReadScope,
    matchers: CompiledMatcher[],
    range: TimeRange,
    series: Series[],
    maxSamples: number,
    onSeries?: (s: SeriesSamples) => void,
  ): Promise<SeriesSamples[]> {
    if (series.length === 0) return [];
    return this.refused.retry(matchers, (push) => this.samplesWith(push, scope, matchers, range, series, maxSamples, onSeries));
  }

  private async samplesWith(
    pushRegexps: boolean,
    scope: ReadScope,
    matchers: CompiledMatcher[],
    range: TimeRange,
    series: Series[],
    maxSamples: number,
    onSeries?: (s: SeriesSamples) => void,
  ): Promise<SeriesSamples[]> {
    const { query, exact } = this.query(scope, matchers, range, pushRegexps);
    // Runs alongside the sample pages; awaited only when a sample without a float value turns up.
    const specials = this.specialSamples(scope, query);
    specials.catch(() => undefined);
    const budget = { left: maxSamples };
    // One metric field per query: each document keeps its value under its own `metrics.<name>`.
    const byName = new Map<string, Series[]>();
    for (const s of series) {
      const name = s.labels.__name__ ?? "";
      const list = byName.get(name) ?? [];
      list.push(s);
      byName.set(name, list);
    }
    const out: SeriesSamples[] = [];
    for (const [name, list] of [...byName].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const plan = samplePlan(list);
      const q = withFilter(query, { bool: { filter: plan.constant } });
      const load = (q2: BoolQuery, emit?: (s: SeriesSamples) => void, after?: CompositeKey) => this.samplesOfName(scope, q2, name, plan.varying, list, specials, budget, emit, after);
      if (exact) {
        const r = await this.samplesBySeries(scope, q, name, plan.varying, list, specials, budget, onSeries);
        if (r.ok) {
          out.push(...r.samples);
          continue;
        }
        if (onSeries) {
          // Series already handed over stay handed over: the flat load resumes after the last of them.
          const last = r.emittedUpTo;
          const after = last ? { ...Object.fromEntries(plan.varying.map((n, i) => [`l${i}`, last.labels[n] ?? null])), t: Number.MAX_SAFE_INTEGER } : undefined;
          await load(q, onSeries, after);
          continue;
        }
      }
      if (onSeries) {
        await load(q, onSeries);
        continue;
      }
      const parts = await Promise.all(timeSlices(range, SAMPLE_SLICES).map((r) => load(withFilter(q, rangeFilter(r)[0]))));
      for (const s of list) {
        const merged: SeriesSamples = { ...s, timestamps: [], values: [], stale: new Set() };
        for (const part of parts) {
          const p = part.get(s.key);
          if (!p) continue;
          for (const i of p.stale) merged.stale.add(merged.timestamps.length + i);
          if (p.histograms) {
            merged.histograms ??= [];
            merged.histograms.length = merged.timestamps.length;
            for (let i = 0; i < p.histograms.length; i++) if (p.histograms[i]) merged.histograms[merged.timestamps.length + i] = p.histograms[i];
          }
          // push(...) would overflow the stack for long series.
          for (let i = 0; i < p.timestamps.length; i++) {
            merged.timestamps.push(p.timestamps[i]!);
            merged.values.push(p.values[i]!);
          }
        }
        if (merged.timestamps.length > 0) out.push(merged);
      }
    }
    return out;
  }

  /**
   * Per series, per time bucket statistics instead of samples (PromQL pushdown, see promql/pushdown.ts).
   * Buckets are `bucketMs` wide with ends ≡ `alignMs` (mod `bucketMs`); a bucket ending at b holds the
   * samples in (b − bucketMs, b], i.e. [b − bucketMs + 1, b + 1) in integer ms — a `date_histogram` with that
   * offset. `count` counts samples except stale markers; `stat` (when asked) is the min or max of the values
   * that are not NaN (NaN when there are none). Samples without a float value come from the special-value
   * lookup: stale markers are taken out of the count, ±Inf folded into min/max, NaN counted only. With
   * `last`, also the time of each bucket's latest sample (`max` of `@timestamp`) and whether it is stale.
   */
  async buckets(
    scope: ReadScope,
    matchers: CompiledMatcher[],
    range: TimeRange,
    series: Series[],
    bucket: BucketSpec,
    maxBuckets: number,
  ): Promise<SeriesBuckets[]> {
    if (series.length === 0) return [];
    return this.refused.retry(matchers, (push) => this.bucketsWith(push, scope, matchers, range, series, bucket, maxBuckets));
  }

  private async bucketsWith(
    pushRegexps: boolean,
    scope: ReadScope,
    matchers: CompiledMatcher[],
    range: TimeRange,
    series: Series[],
    bucket: BucketSpec,
    maxBuckets: number,
  ): Promise<SeriesBuckets[]> {
    const { bucketMs, alignMs, stat } = bucket;
    const offset = (((alignMs + 1) % bucketMs) + bucketMs) % bucketMs;
    const { query, exact } = this.query(scope, matchers, range, pushRegexps);
    const specials = this.specialSamples(scope, query);
    specials.catch(() => undefined);
    // The latest sample's time per bucket (a costly sub-aggregation) only matters where a stale marker could
    // be that latest sample: without stale markers in the range, every bucket's latest sample is live.
    const wantLast = bucket.last === true && [...(await specials).values()].includes("stale");
    const byName = new Map<string, Series[]>();
    for (const s of series) {
      const name = s.labels.__name__ ?? "";
      byName.set(name, [...(byName.get(name) ?? []), s]);
    }
    const out = new Map<string, SeriesBuckets>();
    let left = maxBuckets;
    for (const [name, list] of [...byName].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const { constant, varying } = samplePlan(list);
      const idOf = (get: (n: string, i: number) => string | number | null | undefined) => JSON.stringify(varying.map((n, i) => get(n, i) ?? null));
      const byId = new Map(list.map((s) => [idOf((n) => s.labels[n]), s] as const));
      const sources = [
        ...varying.map((n, i) => ({ [`l${i}`]: { terms: { field: `labels.${n}`, missing_bucket: true } } })),
        { b: { date_histogram: { field: "@timestamp", fixed_interval: `${bucketMs}ms`, offset: `+${offset}ms` } } },
      ];
      const subAggs = {
        ...(stat ? { v: { [stat]: { field: `metrics.${name}` } } } : {}),
        ...(wantLast ? { mt: { max: { field: "@timestamp" } } } : {}),
      };
      type Stats = { doc_count: number; v?: { value: number | null }; mt?: { value: number } };
      type Bucket = Stats & { key: CompositeKey };
      const q = withFilter(query, { bool: { filter: constant } });
      const add = (into: Map<string, SeriesBuckets>, s: Series, start: number, b: Stats) => {
        if (--left < 0) throw new HttpError(422, "query would load more samples than maxQuerySamples allows; narrow the selector or time range");
        let r = into.get(s.key);
        if (!r) into.set(s.key, (r = { ...s, ends: [], counts: [], stat: [], ...(wantLast ? { last: [], lastStale: [] } : {}) }));
        r.ends.push(start + bucketMs - 1);
        r.counts.push(b.doc_count);
        r.stat.push(b.v?.value ?? Number.NaN);
        r.last?.push(Number(b.mt?.value));
        r.lastStale?.push(false);
      };
      const hasSubAggs = Object.keys(subAggs).length > 0;
      if (exact) {
        // Series by series, as samplesBySeries: a date_histogram under each series.
        const mine = new Map<string, SeriesBuckets>();
        const before = left;
        const { ok } = await this.pagesBySeries<{ buckets?: (Stats & { key: number })[] }>(
          scope,
          q,
          varying,
          list,
          () => ({ date_histogram: { field: "@timestamp", fixed_interval: `${bucketMs}ms`, offset: `+${offset}ms`, min_doc_count: 1 }, ...(hasSubAggs ? { aggs: subAggs } : {}) }),
          "aggregations.c.buckets.key,aggregations.c.buckets.t.buckets.key,aggregations.c.buckets.t.buckets.doc_count,aggregations.c.buckets.t.buckets.v.value,aggregations.c.buckets.t.buckets.mt.value",
          () => true,
          async (s, h) => {
            for (const b of h.buckets ?? []) add(mine, s, b.key, b);
          },
        );
        if (ok) {
          for (const [k, r] of mine) out.set(k, r);
          continue;
        }
        left = before;
      }
      const filterPath = "aggregations.c.after_key,aggregations.c.buckets.key,aggregations.c.buckets.doc_count,aggregations.c.buckets.v.value,aggregations.c.buckets.mt.value";
      for await (const page of this.compositePages<Bucket>(scope, q, sources, SAMPLE_PAGE, "the bucket lookup", hasSubAggs ? subAggs : undefined, filterPath)) {
        for (const b of page) {
          const s = byId.get(idOf((_, i) => b.key[`l${i}`]));
          if (!s) continue; // filtered out by a matcher ES could not evaluate exactly
          add(out, s, Number(b.key.b), b);
        }
      }
    }
    // Fold in the samples without a float value (usually few).
    for (const [at, kind] of await specials) {
      const sep = at.lastIndexOf("@");
      const r = out.get(at.slice(0, sep));
      if (!r) continue;
      const t = Number(at.slice(sep + 1));
      const end = Math.floor((t - offset) / bucketMs) * bucketMs + offset + bucketMs - 1;
      const i = r.ends.indexOf(end);
      if (i < 0) continue;
      if (kind === "stale") {
        r.counts[i]! -= 1;
        if (r.last?.[i] === t) r.lastStale![i] = true;
      }
      else if (kind === "+Inf" || kind === "-Inf") r.stat[i] = foldStat(stat, r.stat[i]!, kind === "+Inf" ? Infinity : -Infinity);
      else if (typeof kind === "object") (r.histograms ??= new Array<number>(r.ends.length).fill(0))[i]! += 1;
    }
    return [...out.values()];
  }

  /**
   * Documents without a float value — stale markers, NaN, ±Inf and native histograms — keyed by
   * `series key@timestamp`: usually few, read as hits (a histogram's stored message is one keyword).
   */
  private async specialSamples(scope: ReadScope, query: BoolQuery): Promise<Map<string, Special>> {
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
      const hits = (await this.search<{ hits?: { hits: Hit[] } }>(scope, body, "the special value lookup")).hits?.hits ?? [];
      for (const h of hits) {
        const p = h._source.promgate;
        out.set(`${seriesKey(h._source.labels ?? {})}@${Number(h.sort[0])}`, p?.histogram !== undefined ? storedHistogram(p.histogram) : (p?.special ?? "NaN"));
      }
      if (hits.length < SAMPLE_PAGE) return out;
      after = hits[hits.length - 1]!.sort;
    }
  }

  /**
   * One metric name's samples as a composite over the series with a `terms` aggregation on `@timestamp`
   * inside (ordered by time, `max` of the metric under it): each series' labels come once instead of once
   * per sample, and Elasticsearch builds the buckets faster (241,000 samples: 808 → 424 ms). With `emit`,
   * series are handed over in order as their page arrives (remote_read streaming). Not ok when the pages
   * cannot be planned or did not match the lookup (see `pagesBySeries`): the caller loads flat then, after
   * the series already emitted.
   */
  private async samplesBySeries(
    scope: ReadScope,
    query: BoolQuery,
    name: string,
    varying: string[],
    series: Series[],
    specialsP: Promise<Map<string, Special>>,
    budget: { left: number },
    emit?: (s: SeriesSamples) => void,
  ): Promise<{ ok: true; samples: SeriesSamples[] } | { ok: false; emittedUpTo: Series | undefined }> {
    type Inner = { sum_other_doc_count: number; buckets: { key: number; v: { value: number | null } }[] };
    const out = new Map<string, SeriesSamples>();
    let specials: Map<string, Special> | undefined;
    let taken = 0;
    const r = await this.pagesBySeries<Inner>(
      scope,
      query,
      varying,
      series,
      // Slack over the lookup's counts: samples written since must not be cut off (checked below).
      (maxDocs) => ({ terms: { field: "@timestamp", size: maxDocs * 2 + 100, order: { _key: "asc" } }, aggs: { v: { max: { field: `metrics.${name}` } } } }),
      "aggregations.c.buckets.key,aggregations.c.buckets.t.sum_other_doc_count,aggregations.c.buckets.t.buckets.key,aggregations.c.buckets.t.buckets.v.value",
      (t) => t.sum_other_doc_count === 0,
      async (s, t) => {
        const n = t.buckets.length;
        const r: SeriesSamples = { ...s, timestamps: new Array<number>(n), values: new Array<number>(n), stale: new Set() };
        budget.left -= n;
        if (budget.left < 0) throw new HttpError(422, "query would load more samples than maxQuerySamples allows; narrow the selector or time range");
        for (let j = 0; j < n; j++) {
          const b = t.buckets[j]!;
          r.timestamps[j] = b.key;
          if (b.v.value !== null) {
            r.values[j] = b.v.value;
            continue;
          }
          specials ??= await specialsP;
          r.values[j] = applySpecial(r, j, specials.get(`${s.key}@${b.key}`));
        }
        if (n === 0) return;
        if (emit) emit(r);
        else {
          out.set(s.key, r);
          taken += n;
        }
      },
      emit !== undefined,
    );
    if (!r.ok) {
      budget.left += taken; // nothing kept: the flat load counts these samples again
      return { ok: false, emittedUpTo: emit ? r.last : undefined };
    }
    return { ok: true, samples: series.map((x) => out.get(x.key)).filter((x): x is SeriesSamples => x !== undefined) };
  }

  /**
   * Pages of a composite over whole series, with `inner(maxDocs)` as the aggregation under each series. The
   * series lookup's document counts plan the pages (up to `seriesPageSamples` documents each, under
   * Elasticsearch's 65,536 buckets a search), and since every page's first series is known, two pages are
   * in flight at a time. A page is handed to `handle` series by series only once all of it checked out: its
   * series are the planned ones (not so when a series was created since the lookup) and `check` accepts
   * each inner aggregation. Only valid when Elasticsearch selects exactly the listed series. Not ok when a
   * series is longer than a page or a page did not check out; `last` is the last series handled. `ordered`
   * hands pages over in order (for streaming); otherwise as they arrive.
   */
  private async pagesBySeries<Inner>(
    scope: ReadScope,
    query: BoolQuery,
    varyingLabels: string[],
    series: Series[],
    inner: (maxDocs: number) => unknown,
    filterPath: string,
    check: (inner: Inner) => boolean,
    handle: (s: Series, inner: Inner) => Promise<void>,
    ordered = false,
  ): Promise<{ ok: boolean; last: Series | undefined }> {
    // A composite needs a source: with one series every label is constant, so group by any of them.
    const varying = varyingLabels.length > 0 ? varyingLabels : Object.keys(series[0]?.labels ?? {}).sort().slice(0, 1);
    const pageSamples = this.seriesPageSamples;
    if (varying.length === 0 || series.some((s) => s.docs === undefined || s.docs > pageSamples)) return { ok: false, last: undefined };
    const pages: Series[][] = [];
    let page: Series[] = [];
    let docs = 0;
    for (const s of series) {
      if (page.length > 0 && docs + s.docs! > pageSamples) {
        pages.push(page);
        page = [];
        docs = 0;
      }
      page.push(s);
      docs += s.docs!;
    }
    if (page.length > 0) pages.push(page);
    const keyOf = (s: Series): CompositeKey => Object.fromEntries(varying.map((n, i) => [`l${i}`, s.labels[n] ?? null]));
    const sources = varying.map((n, i) => ({ [`l${i}`]: { terms: { field: `labels.${n}`, missing_bucket: true } } }));
    type Bucket = { key: CompositeKey; t: Inner };
    const fetchPage = async (i: number): Promise<Bucket[]> => {
      const list = pages[i]!;
      const previous = i > 0 ? pages[i - 1]![pages[i - 1]!.length - 1]! : undefined;
      const body = {
        size: 0,
        track_total_hits: false,
        query,
        aggs: {
          c: {
            composite: { size: list.length, sources, ...(previous ? { after: keyOf(previous) } : {}) },
            aggs: { t: inner(Math.max(...list.map((s) => s.docs!))) },
          },
        },
      };
      return (await this.search<{ aggregations?: { c: { buckets: Bucket[] } } }>(scope, body, "the sample lookup", filterPath)).aggregations?.c.buckets ?? [];
    };
    const fits = (i: number, buckets: Bucket[]) =>
      buckets.length === pages[i]!.length &&
      buckets.every((b, k) => check(b.t) && varying.every((n, j) => (pages[i]![k]!.labels[n] ?? null) === b.key[`l${j}`]));
    let ok = true;
    let last: Series | undefined;
    const take = async (i: number, buckets: Bucket[]) => {
      if (!ok || !fits(i, buckets)) {
        ok = false;
        return;
      }
      for (let k = 0; k < buckets.length; k++) await handle(pages[i]![k]!, buckets[k]!.t);
      last = pages[i]![pages[i]!.length - 1];
    };
    if (ordered) {
      // The next page is already on its way while this one is handed over.
      let pending = pages.length > 0 ? fetchPage(0) : undefined;
      for (let i = 0; i < pages.length && ok; i++) {
        const buckets = await pending!;
        pending = i + 1 < pages.length ? fetchPage(i + 1) : undefined;
        pending?.catch(() => undefined);
        await take(i, buckets);
      }
      return { ok, last };
    }
    // Two pages in flight: Elasticsearch works on one while promgate parses the other.
    let next = 0;
    const worker = async () => {
      while (next < pages.length && ok) {
        const i = next++;
        await take(i, await fetchPage(i));
      }
    };
    await Promise.all([worker(), worker()]);
    return { ok, last };
  }

  /** One metric name's samples: series key → samples (series handed to `onSeries` are not in the map). */
  private async samplesOfName(
    scope: ReadScope,
    query: BoolQuery,
    name: string,
    varying: string[],
    series: Series[],
    specialsP: Promise<Map<string, Special>>,
    budget: { left: number },
    onSeries: ((s: SeriesSamples) => void) | undefined,
    startAfter?: CompositeKey,
  ): Promise<Map<string, SeriesSamples>> {
    // Buckets name their labels by position (`l0`, `l1`, …): shorter JSON than the label names.
    const idOf = (get: (n: string, i: number) => string | number | null | undefined) => JSON.stringify(varying.map((n, i) => get(n, i) ?? null));
    const byId = new Map<string, SeriesSamples>();
    for (const s of series) byId.set(idOf((n) => s.labels[n]), { ...s, timestamps: [], values: [], stale: new Set() });
    const result = new Map<string, SeriesSamples>();
    const complete = (s: SeriesSamples | undefined) => {
      if (!s || s.timestamps.length === 0) return;
      if (onSeries) onSeries(s);
      else result.set(s.key, s);
    };
    let specials: Map<string, Special> | undefined;
    let current: SeriesSamples | undefined;
    let previous: CompositeKey | undefined;
    type Bucket = { key: CompositeKey; v: { value: number | null } };
    const sources = [...varying.map((n, i) => ({ [`l${i}`]: { terms: { field: `labels.${n}`, missing_bucket: true } } })), { t: { terms: { field: "@timestamp" } } }];
    const values = { v: { max: { field: `metrics.${name}` } } };
    const pages = this.compositePages<Bucket>(scope, query, sources, SAMPLE_PAGE, "the sample lookup", values, SAMPLE_FILTER_PATH, startAfter);
    for await (const buckets of pages) {
      for (const b of buckets) {
        // Buckets come grouped by series: look the series up only when the label values change.
        if (!previous || varying.some((_, i) => b.key[`l${i}`] !== previous![`l${i}`])) {
          complete(current);
          current = byId.get(idOf((_, i) => b.key[`l${i}`]));
          previous = b.key;
        }
        const s = current;
        if (!s) continue; // filtered out by a matcher ES could not evaluate exactly
        if (--budget.left < 0) {
          throw new HttpError(422, "query would load more samples than maxQuerySamples allows; narrow the selector or time range");
        }
        const t = Number(b.key.t);
        let value = b.v.value;
        if (value === null) {
          specials ??= await specialsP;
          value = applySpecial(s, s.values.length, specials.get(`${s.key}@${t}`));
        }
        s.timestamps.push(t);
        s.values.push(value);
      }
    }
    complete(current);
    return result;
  }
}

/**
 * Which labels the sample aggregation must group by. A label every series has with the same value cannot
 * tell them apart: it becomes a term filter instead (fewer composite sources, smaller pages). The filter
 * keeps the answer exact: a series that appeared since the series lookup with another value is left out,
 * as any series missing from the lookup is.
 */
/** What a document without a float value holds: a special float's name, or a native histogram. */
type Special = string | NativeHistogram;

function storedHistogram(b64: string): Special {
  const bytes = bytesFromBase64(b64);
  const h = bytes ? decodeStoredHistogram(bytes) : undefined;
  // A stored histogram always decoded when it was written; one that does not is a corrupted document.
  if (!h) throw new HttpError(502, "elasticsearch returned a native histogram promgate cannot read");
  return h;
}

/** Sample `i` of `s` is a document without a float value: records what it is; returns the float to keep. */
function applySpecial(s: SeriesSamples, i: number, special: Special | undefined): number {
  if (typeof special === "object") {
    s.histograms ??= [];
    s.histograms[i] = special;
    return Number.NaN;
  }
  if (special === "stale") s.stale.add(i);
  return special === "+Inf" ? Infinity : special === "-Inf" ? -Infinity : Number.NaN;
}

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

/** min/max of the non-NaN values so far (NaN: none yet) with one more value. */
function foldStat(stat: "min" | "max" | undefined, acc: number, v: number): number {
  if (stat === undefined) return acc;
  if (Number.isNaN(acc)) return v;
  return stat === "min" ? Math.min(acc, v) : Math.max(acc, v);
}
