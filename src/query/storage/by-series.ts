import type { ReadScope } from "../scope.js";
import type { BoolQuery, CompositeKey } from "./es-query.js";
import type { EsReader } from "./reader.js";
import type { Series } from "./types.js";

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
export async function pagesBySeries<Inner>(
  r: EsReader,
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
  const pageSamples = r.seriesPageSamples;
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
    return (await r.search<{ aggregations?: { c: { buckets: Bucket[] } } }>(scope, body, "the sample lookup", filterPath)).aggregations?.c.buckets ?? [];
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
