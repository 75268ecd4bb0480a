import { PromgateError } from "../../errors.js";
import type { CompiledMatcher } from "../matchers.js";
import type { ReadScope } from "../scope.js";
import { type CompositeKey, esQuery, samplePlan, withFilter } from "./es-query.js";
import { pagesBySeries } from "./by-series.js";
import type { EsReader } from "./reader.js";
import { specialSamples } from "./specials.js";
import type { BucketSpec, Series, SeriesBuckets, TimeRange } from "./types.js";

const SAMPLE_PAGE = 10_000;

/**
 * Per series, per time bucket statistics instead of samples (PromQL pushdown, see promql/pushdown.ts).
 * Buckets are `bucketMs` wide with ends ≡ `alignMs` (mod `bucketMs`); a bucket ending at b holds the
 * samples in (b − bucketMs, b], i.e. [b − bucketMs + 1, b + 1) in integer ms — a `date_histogram` with that
 * offset. `count` counts samples except stale markers; `stat` (when asked) is the min or max of the values
 * that are not NaN (NaN when there are none). Samples without a float value come from the special-value
 * lookup: stale markers are taken out of the count, ±Inf folded into min/max, NaN counted only. With
 * `last`, also the time of each bucket's latest sample (`max` of `@timestamp`) and whether it is stale.
 */
export async function buckets(
  r: EsReader,
  scope: ReadScope,
  matchers: CompiledMatcher[],
  range: TimeRange,
  series: Series[],
  bucket: BucketSpec,
  maxBuckets: number,
): Promise<SeriesBuckets[]> {
  if (series.length === 0) return [];
  return r.refused.retry(matchers, (push) => bucketsWith(r, push, scope, matchers, range, series, bucket, maxBuckets));
}

export async function bucketsWith(
  r: EsReader,
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
  const { query, exact } = esQuery(scope, matchers, range, pushRegexps);
  const specials = specialSamples(r, scope, query);
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
      if (--left < 0) throw new PromgateError("unprocessable", "query would load more samples than maxQuerySamples allows; narrow the selector or time range");
      let got = into.get(s.key);
      if (!got) into.set(s.key, (got = { ...s, ends: [], counts: [], stat: [], ...(wantLast ? { last: [], lastStale: [] } : {}) }));
      got.ends.push(start + bucketMs - 1);
      got.counts.push(b.doc_count);
      got.stat.push(b.v?.value ?? Number.NaN);
      got.last?.push(Number(b.mt?.value));
      got.lastStale?.push(false);
    };
    const hasSubAggs = Object.keys(subAggs).length > 0;
    if (exact) {
      // Series by series, as samplesBySeries: a date_histogram under each series.
      const mine = new Map<string, SeriesBuckets>();
      const before = left;
      const { ok } = await pagesBySeries<{ buckets?: (Stats & { key: number })[] }>(
        r,
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
    for await (const page of r.compositePages<Bucket>(scope, q, sources, SAMPLE_PAGE, "the bucket lookup", hasSubAggs ? subAggs : undefined, filterPath)) {
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
    const got = out.get(at.slice(0, sep));
    if (!got) continue;
    const t = Number(at.slice(sep + 1));
    const end = Math.floor((t - offset) / bucketMs) * bucketMs + offset + bucketMs - 1;
    const i = got.ends.indexOf(end);
    if (i < 0) continue;
    if (kind === "stale") {
      got.counts[i]! -= 1;
      if (got.last?.[i] === t) got.lastStale![i] = true;
    }
    else if (kind === "+Inf" || kind === "-Inf") got.stat[i] = foldStat(stat, got.stat[i]!, kind === "+Inf" ? Infinity : -Infinity);
    else if (typeof kind === "object") (got.histograms ??= new Array<number>(got.ends.length).fill(0))[i]! += 1;
  }
  return [...out.values()];
}
/** min/max of the non-NaN values so far (NaN: none yet) with one more value. */
function foldStat(stat: "min" | "max" | undefined, acc: number, v: number): number {
  if (stat === undefined) return acc;
  if (Number.isNaN(acc)) return v;
  return stat === "min" ? Math.min(acc, v) : Math.max(acc, v);
}
