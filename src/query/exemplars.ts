import type { Config } from "../config.js";
import { assertComplete, NO_PARTIAL_RESULTS, type SearchCompleteness } from "../elastic/complete.js";
import { esFailure, esFetch, type Fetch } from "../elastic/http.js";
import { PromgateError } from "../errors.js";
import { matchersToQuery } from "./esquery.js";
import { isRegexpRefusal } from "./regexp-refusal.js";
import { type CompiledMatcher, compileMatcher, type Labels, matchesAll } from "./matchers.js";
import type { PartialRange } from "./storage/types.js";
import type { Expr, VectorSelector } from "./promql/ast.js";
import { compareLabelSets } from "./promql/order.js";
import { formatValue } from "./promql/values.js";
import { type ReadScope, streamNameFilter } from "./scope.js";

/**
 * `/api/v1/query_exemplars`: the exemplars of every series a query's selectors select, from the exemplar
 * data stream remote_write fills (see ingest/documents.ts), within the tenant's and route's streams. As in
 * Prometheus, the answer groups exemplars by series, oldest first, values as strings, times in seconds.
 */

export interface ExemplarSeries {
  seriesLabels: Labels;
  exemplars: { labels: Labels; value: string; timestamp: number }[];
}

const PAGE = 10_000;

/** The vector selectors of an expression, in the order they appear. */
export function selectorsOf(e: Expr, out: VectorSelector[] = []): VectorSelector[] {
  switch (e.kind) {
    case "vector":
      out.push(e);
      break;
    case "matrix":
      out.push(e.vector);
      break;
    case "subquery":
    case "paren":
    case "unary":
      selectorsOf(e.expr, out);
      break;
    case "aggregate":
      if (e.param) selectorsOf(e.param, out);
      selectorsOf(e.expr, out);
      break;
    case "call":
      for (const a of e.args) selectorsOf(a, out);
      break;
    case "binary":
      selectorsOf(e.lhs, out);
      selectorsOf(e.rhs, out);
      break;
    default:
      break;
  }
  return out;
}

/** Stored as JavaScript's shortest round-trip string, or Prometheus' spelling of NaN and ±Inf. */
function storedValue(v: string | undefined): number {
  return v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : v === undefined ? Number.NaN : Number(v);
}

export async function readExemplars(
  config: Config,
  fetchFn: Fetch,
  scope: ReadScope,
  expr: Expr,
  range: PartialRange,
  maxExemplars: number,
): Promise<ExemplarSeries[]> {
  const bySeries = new Map<string, ExemplarSeries>();
  let taken = 0;
  const seen = new Set<string>();
  for (const selector of selectorsOf(expr)) {
    const matchers: CompiledMatcher[] = selector.matchers.map(compileMatcher);
    let pushRegexps = true;
    let q = matchersToQuery(matchers);
    const time = {
      range: {
        "@timestamp": {
          ...(range.startMs !== undefined ? { gte: range.startMs } : {}),
          ...(range.endMs !== undefined ? { lte: range.endMs } : {}),
          format: "epoch_millis",
        },
      },
    };
    let after: unknown[] | undefined;
    for (;;) {
      const body = {
        size: PAGE,
        track_total_hits: false,
        _source: ["labels", "exemplar", "key"],
        query: { bool: { filter: [streamNameFilter(scope, "data_stream"), time, ...q.filter], must_not: q.mustNot } },
        sort: [{ "@timestamp": { order: "asc", format: "epoch_millis" } }, { key: "asc" }],
        ...(after ? { search_after: after } : {}),
      };
      const res = await esFetch(config, fetchFn, {
        method: "POST",
        path: `/${config.exemplarIndex}/_search?ignore_unavailable=true&allow_no_indices=true&${NO_PARTIAL_RESULTS}`,
        body: JSON.stringify(body),
      });
      if (!res.ok) {
        // A regexp Elasticsearch refuses (regexp-refusal.ts): once more, with the regexes matched here alone.
        if (pushRegexps && after === undefined && (await isRegexpRefusal(res))) {
          pushRegexps = false;
          q = matchersToQuery(matchers, false);
          continue;
        }
        throw await esFailure(res, "the exemplar lookup", config.retryAfterSeconds);
      }
      type Hit = { _source: { labels?: Labels; exemplar?: { labels?: Labels; value?: string }; key?: string }; sort: unknown[] };
      const answer = (await res.json()) as { hits?: { hits: Hit[] } } & SearchCompleteness;
      assertComplete(answer, "the exemplar lookup");
      const hits = answer.hits?.hits ?? [];
      for (const h of hits) {
        const labels = h._source.labels ?? {};
        // Elasticsearch evaluates some regexes only approximately: every series is checked here too.
        const id = h._source.key ?? "";
        if (!matchesAll(labels, matchers) || seen.has(id)) continue;
        seen.add(id);
        if (++taken > maxExemplars) throw new PromgateError("unprocessable", "query would load more exemplars than maxQuerySamples allows; narrow the selector or time range");
        const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
        let s = bySeries.get(key);
        if (!s) bySeries.set(key, (s = { seriesLabels: labels, exemplars: [] }));
        s.exemplars.push({ labels: h._source.exemplar?.labels ?? {}, value: formatValue(storedValue(h._source.exemplar?.value)), timestamp: Number(h.sort[0]) / 1000 });
      }
      if (hits.length < PAGE) break;
      after = hits[hits.length - 1]!.sort;
    }
  }
  const out = [...bySeries.values()].sort((a, b) => compareLabelSets(a.seriesLabels, b.seriesLabels));
  for (const s of out) s.exemplars.sort((a, b) => a.timestamp - b.timestamp);
  return out;
}
