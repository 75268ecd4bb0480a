import type { CompiledMatcher, Labels } from "../matchers.js";
import { matchersToQuery } from "../esquery.js";
import { type ReadScope, streamNameFilter } from "../scope.js";
import { esQuery } from "./es-query.js";
import type { EsReader } from "./reader.js";

/**
 * The chunk index as the read side sees it (documents written by src/chunks/compactor.ts): how far the
 * scope's streams are compacted, the chunk documents of the series matchers select in a span of windows,
 * and — to check them — how many raw documents those series hold per window right now.
 */

export interface ChunkHit {
  /** Window start, epoch ms. */
  start: number;
  labels: Labels;
  /** Raw documents the document was built from. */
  docs: number;
  /** The series keeps its samples raw in this window (it holds native histograms). */
  raw?: boolean;
  chunks?: string[];
}

const PAGE = 10_000;

/** End of the windows compacted for every stream of the scope that has progress (−∞: none). */
export async function settledUntil(r: EsReader, index: string, scope: ReadScope): Promise<number> {
  type Agg = { aggregations?: { u: { value: number | null }; n: { value: number } } };
  const body = {
    size: 0,
    query: { bool: { filter: [{ term: { kind: "progress" } }, streamNameFilter(scope, "stream")] } },
    aggs: { u: { min: { field: "until" } }, n: { value_count: { field: "until" } } },
  };
  const a = (await r.searchIndex<Agg>(index, body, "the chunk progress lookup", "aggregations")).aggregations;
  return a && a.n.value > 0 && a.u.value !== null ? a.u.value : -Infinity;
}

/**
 * Chunk documents of the windows in [fromMs, toMs) whose labels Elasticsearch matches (a superset of the
 * matchers' series where a regex could not be pushed: the caller matches in JS too).
 */
export async function chunkHits(r: EsReader, index: string, scope: ReadScope, matchers: CompiledMatcher[], fromMs: number, toMs: number, pushRegexps: boolean): Promise<ChunkHit[]> {
  const q = matchersToQuery(matchers, pushRegexps);
  const query = {
    bool: {
      filter: [{ term: { kind: "chunk" } }, streamNameFilter(scope, "stream"), { range: { start: { gte: fromMs, lt: toMs } } }, ...q.filter],
      must_not: q.mustNot,
    },
  };
  const out: ChunkHit[] = [];
  let after: unknown[] | undefined;
  for (;;) {
    const body = {
      size: PAGE,
      track_total_hits: false,
      query,
      _source: ["start", "labels", "docs", "raw", "chunks"],
      sort: [{ start: "asc" }, { key: "asc" }, { stream: "asc" }],
      ...(after ? { search_after: after } : {}),
    };
    type Hit = { _source: ChunkHit; sort: unknown[] };
    const hits = (await r.searchIndex<{ hits?: { hits: Hit[] } }>(index, body, "the chunk lookup", "hits.hits._source,hits.hits.sort")).hits?.hits ?? [];
    for (const h of hits) out.push(h._source);
    if (hits.length < PAGE) return out;
    after = hits[hits.length - 1]!.sort;
  }
}

/** Raw documents per window start in [fromMs, toMs) among those the matchers select in Elasticsearch. */
export async function rawWindowCounts(r: EsReader, scope: ReadScope, matchers: CompiledMatcher[], fromMs: number, toMs: number, windowMs: number, pushRegexps: boolean): Promise<Map<number, number>> {
  const { query } = esQuery(scope, matchers, { startMs: fromMs, endMs: toMs - 1 }, pushRegexps);
  type Agg = { aggregations?: { w: { buckets: { key: number; doc_count: number }[] } } };
  const body = { size: 0, track_total_hits: false, query, aggs: { w: { date_histogram: { field: "@timestamp", fixed_interval: `${windowMs}ms`, min_doc_count: 1 } } } };
  const a = (await r.search<Agg>(scope, body, "the raw count lookup", "aggregations")).aggregations;
  return new Map((a?.w.buckets ?? []).map((b) => [Number(b.key), b.doc_count]));
}
