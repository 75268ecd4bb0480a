import type { Config } from "../config.js";
import { assertComplete, NO_PARTIAL_RESULTS, type SearchCompleteness } from "../elastic/complete.js";
import { esFailure, esFetch, type Fetch } from "../elastic/http.js";
import { type ReadScope, streamNameFilter } from "./scope.js";

/** `/api/v1/metadata` from the metadata remote_write sent (see ingest/metadata.ts). */

/** Fields in the order Prometheus writes them (clients see the same bytes). */
export interface MetadataEntry {
  type: string;
  unit: string;
  help: string;
}

const PAGE = 10_000;

export async function readMetadata(
  config: Config,
  fetchFn: Fetch,
  scope: ReadScope,
  metric: string | undefined,
  limit: number | undefined,
  limitPerMetric: number | undefined,
): Promise<Record<string, MetadataEntry[]>> {
  const out: Record<string, MetadataEntry[]> = {};
  let families = 0;
  let after: unknown[] | undefined;
  for (;;) {
    const body = {
      size: PAGE,
      track_total_hits: false,
      _source: ["metric_family_name", "type", "help", "unit"],
      query: {
        bool: {
          filter: [streamNameFilter(scope, "data_stream"), ...(metric ? [{ term: { metric_family_name: metric } }] : [])],
        },
      },
      sort: [{ metric_family_name: "asc" }, { data_stream: "asc" }],
      ...(after ? { search_after: after } : {}),
    };
    const res = await esFetch(config, fetchFn, {
      method: "POST",
      path: `/${config.metadataIndex}/_search?ignore_unavailable=true&allow_no_indices=true&${NO_PARTIAL_RESULTS}`,
      body: JSON.stringify(body),
    });
    if (!res.ok) throw await esFailure(res, "the metadata lookup", config.retryAfterSeconds);
    type Hit = { _source: { metric_family_name: string } & MetadataEntry; sort: unknown[] };
    const answer = (await res.json()) as { hits?: { hits: Hit[] } } & SearchCompleteness;
    assertComplete(answer, "the metadata lookup");
    const hits = answer.hits?.hits ?? [];
    for (const h of hits) {
      const { metric_family_name: name, type, help, unit } = h._source;
      let list = out[name];
      if (!list) {
        if (limit !== undefined && families >= limit) return out;
        list = out[name] = [];
        families++;
      }
      if (limitPerMetric !== undefined && list.length >= limitPerMetric) continue;
      // The same family written to several streams usually says the same: list each distinct entry once.
      if (!list.some((e) => e.type === type && e.help === help && e.unit === unit)) list.push({ type, unit, help });
    }
    if (hits.length < PAGE) return out;
    after = hits[hits.length - 1]!.sort;
  }
}
