import type { CompiledMatcher } from "../matchers.js";
import type { ReadScope } from "../scope.js";
import { esQuery } from "./es-query.js";
import type { EsReader } from "./reader.js";
import { series } from "./series.js";
import type { PartialRange } from "./types.js";

const SERIES_PAGE = 1000;

/**
 * Values of one label over the documents the matchers select: a composite terms aggregation where ES
 * evaluates the matchers exactly, else the values of the series that pass promgate's own matching.
 */
export async function labelValues(r: EsReader, scope: ReadScope, name: string, matchers: CompiledMatcher[], range: PartialRange | undefined, limit = Infinity): Promise<string[]> {
  return r.refused.retry(matchers, (push) => labelValuesWith(r, push, scope, name, matchers, range, limit));
}

export async function labelValuesWith(r: EsReader, pushRegexps: boolean, scope: ReadScope, name: string, matchers: CompiledMatcher[], range: PartialRange | undefined, limit: number): Promise<string[]> {
  const { query, exact } = esQuery(scope, matchers, range, pushRegexps);
  if (!exact) {
    const set = new Set<string>();
    for (const s of await series(r, scope, matchers, range)) {
      const v = s.labels[name];
      if (v !== undefined) set.add(v);
      if (set.size >= limit) break;
    }
    return [...set];
  }
  const values: string[] = [];
  const sources = [{ v: { terms: { field: `labels.${name}` } } }];
  for await (const buckets of r.compositePages<{ key: { v: string } }>(scope, query, sources, SERIES_PAGE, "the label value lookup")) {
    for (const b of buckets) {
      values.push(String(b.key.v));
      if (values.length >= limit) return values;
    }
  }
  return values;
}
