import type { Config } from "../config.js";
import { esFailure, esFetch, type Fetch } from "../elastic/http.js";
import { HttpError } from "../http/errors.js";
import { matchersToQuery } from "./esquery.js";
import { type CompiledMatcher, type Labels, matchesAll } from "./matchers.js";
import type { ReadScope } from "./scope.js";

/**
 * Reads series and samples back from the documents ingest wrote.
 *
 * Series are the TSDS `_tsid`s (one per distinct label set, the same in every backing index). Discovery
 * pages through a composite aggregation on `_tsid` (1,000 series a page, each with its labels from one
 * document); samples come sorted by (`_tsid`, `@timestamp`) with `search_after`, 10,000 a page, as doc
 * values only. Every series is checked against the matchers in JS as well, so a regex Elasticsearch could
 * not evaluate exactly never yields a wrong series.
 */

export interface Series {
  tsid: string;
  labels: Labels;
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

function rangeFilter(range: PartialRange | undefined): unknown[] {
  if (!range || (range.startMs === undefined && range.endMs === undefined)) return [];
  return [
    {
      range: {
        "@timestamp": {
          ...(range.startMs !== undefined ? { gte: range.startMs } : {}),
          ...(range.endMs !== undefined ? { lte: range.endMs } : {}),
          format: "epoch_millis",
        },
      },
    },
  ];
}

const SERIES_PAGE = 1000;
const SAMPLE_PAGE = 10_000;
/** Metric names per sample query: their fields stay well under index.max_docvalue_fields_search (100). */
const NAMES_PER_QUERY = 90;

export class Storage {
  constructor(
    private readonly config: Config,
    private readonly fetchFn: Fetch,
  ) {}

  private async search<T>(scope: ReadScope, body: unknown, what: string): Promise<T> {
    const res = await esFetch(this.config, this.fetchFn, {
      method: "POST",
      path: `/${scope.indices}/_search?ignore_unavailable=true&allow_no_indices=true&filter_path=-hits.hits._index,-hits.hits._id,-hits.hits._score`,
      body: JSON.stringify(body),
    });
    if (!res.ok) throw await esFailure(res, what, this.config.retryAfterSeconds);
    return (await res.json()) as T;
  }

  /** The ES query for matchers, time range and scope. */
  query(scope: ReadScope, matchers: CompiledMatcher[], range: PartialRange | undefined): { query: unknown; exact: boolean } {
    const q = matchersToQuery(matchers);
    const filter: unknown[] = [scope.filter, ...q.filter, ...rangeFilter(range)];
    return { query: { bool: { filter, must_not: q.mustNot } }, exact: q.exact };
  }

  /** Every series matching all matchers with at least one document in the range. */
  async series(scope: ReadScope, matchers: CompiledMatcher[], range: PartialRange | undefined, limit = Infinity): Promise<Series[]> {
    const { query } = this.query(scope, matchers, range);
    const out: Series[] = [];
    let after: unknown;
    for (;;) {
      const body = {
        size: 0,
        track_total_hits: false,
        query,
        aggs: {
          series: {
            composite: { size: SERIES_PAGE, sources: [{ tsid: { terms: { field: "_tsid" } } }], ...(after ? { after } : {}) },
            aggs: { doc: { top_hits: { size: 1, _source: ["labels"] } } },
          },
        },
      };
      type Page = {
        aggregations?: {
          series: {
            after_key?: unknown;
            buckets: { key: { tsid: string }; doc: { hits: { hits: { _source: { labels?: Labels } }[] } } }[];
          };
        };
      };
      const page = await this.search<Page>(scope, body, "the series lookup");
      const agg = page.aggregations?.series;
      if (!agg) return out;
      for (const b of agg.buckets) {
        const labels = b.doc.hits.hits[0]?._source.labels ?? {};
        if (!matchesAll(labels, matchers)) continue;
        out.push({ tsid: b.key.tsid, labels });
        if (out.length >= limit) return out;
      }
      if (!agg.after_key || agg.buckets.length < SERIES_PAGE) return out;
      after = agg.after_key;
    }
  }

  /**
   * Label names with documents in scope and range, from the mappings of the indices that have any
   * (`_field_caps` with an index filter): cheap, and exact enough for editors' autocompletion.
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

  /**
   * Values of one label over the documents the matchers select, by a composite terms aggregation — only
   * valid when ES evaluates the matchers exactly (the caller checks `query().exact`).
   */
  async labelValues(scope: ReadScope, name: string, matchers: CompiledMatcher[], range: PartialRange | undefined, limit = Infinity): Promise<string[]> {
    const { query } = this.query(scope, matchers, range);
    const values: string[] = [];
    let after: unknown;
    for (;;) {
      const body = {
        size: 0,
        track_total_hits: false,
        query,
        aggs: {
          values: {
            composite: { size: SERIES_PAGE, sources: [{ v: { terms: { field: `labels.${name}` } } }], ...(after ? { after } : {}) },
          },
        },
      };
      type Page = { aggregations?: { values: { after_key?: unknown; buckets: { key: { v: string } }[] } } };
      const agg = (await this.search<Page>(scope, body, "the label value lookup")).aggregations?.values;
      if (!agg) return values;
      for (const b of agg.buckets) {
        values.push(String(b.key.v));
        if (values.length >= limit) return values;
      }
      if (!agg.after_key || agg.buckets.length < SERIES_PAGE) return values;
      after = agg.after_key;
    }
  }

  /**
   * Samples of the given series in [start, end], each series' samples ascending. Stale markers come back
   * flagged in `stale`; NaN and ±Inf as themselves.
   */
  async samples(
    scope: ReadScope,
    matchers: CompiledMatcher[],
    range: TimeRange,
    series: Series[],
    maxSamples: number,
  ): Promise<SeriesSamples[]> {
    const byTsid = new Map<string, SeriesSamples>();
    for (const s of series) byTsid.set(s.tsid, { ...s, timestamps: [], values: [], stale: new Set() });
    // Each document keeps its value in `metrics.<name>`; asking for `metrics.*` would expand to every
    // metric field of the stream and trip index.max_docvalue_fields_search (100). So fetch per group of
    // metric names, naming exactly their fields.
    const names = [...new Set(series.map((s) => s.labels.__name__ ?? ""))].sort();
    const budget = { left: maxSamples };
    for (let i = 0; i < names.length; i += NAMES_PER_QUERY) {
      const group = names.slice(i, i + NAMES_PER_QUERY);
      await this.samplesOfNames(scope, matchers, range, group, byTsid, budget);
    }
    return [...byTsid.values()].filter((s) => s.timestamps.length > 0);
  }

  private async samplesOfNames(
    scope: ReadScope,
    matchers: CompiledMatcher[],
    range: TimeRange,
    names: string[],
    byTsid: Map<string, SeriesSamples>,
    budget: { left: number },
  ): Promise<void> {
    const base = this.query(scope, matchers, range).query as { bool: { filter: unknown[]; must_not: unknown[] } };
    const query = { bool: { ...base.bool, filter: [...base.bool.filter, { terms: { "labels.__name__": names } }] } };
    const fields = names.map((n) => `metrics.${n}`);
    let after: unknown[] | undefined;
    for (;;) {
      const body = {
        size: SAMPLE_PAGE,
        track_total_hits: false,
        _source: false,
        query,
        docvalue_fields: [{ field: "@timestamp", format: "epoch_millis" }, "_tsid", "promgate.special", ...fields],
        sort: [{ _tsid: "asc" }, { "@timestamp": "asc" }],
        ...(after ? { search_after: after } : {}),
      };
      type Hit = { fields: Record<string, unknown[]>; sort: unknown[] };
      const page = await this.search<{ hits?: { hits: Hit[] } }>(scope, body, "the sample lookup");
      const hits = page.hits?.hits ?? [];
      for (const h of hits) {
        const s = byTsid.get(String(h.fields._tsid?.[0]));
        if (!s) continue; // filtered out by a matcher ES could not evaluate exactly
        if (--budget.left < 0) {
          throw new HttpError(422, "query would load more samples than maxQuerySamples allows; narrow the selector or time range");
        }
        const special = h.fields["promgate.special"]?.[0];
        if (special === "stale") s.stale.add(s.values.length);
        s.timestamps.push(Number(h.fields["@timestamp"]?.[0]));
        s.values.push(sampleValue(special, h.fields));
      }
      if (hits.length < SAMPLE_PAGE) return;
      after = hits[hits.length - 1]!.sort;
    }
  }
}

function sampleValue(special: unknown, fields: Record<string, unknown[]>): number {
  if (special !== undefined) {
    if (special === "+Inf") return Infinity;
    if (special === "-Inf") return -Infinity;
    return Number.NaN;
  }
  for (const k in fields) if (k.startsWith("metrics.")) return Number(fields[k]![0]);
  return Number.NaN;
}
