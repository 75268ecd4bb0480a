import type { BucketSpec, SeriesBuckets, SeriesSamples } from "./types.js";

/**
 * Storage.buckets' statistics computed from samples already loaded (the settled part of a range comes
 * from chunk documents, which Elasticsearch cannot aggregate): the same buckets, counts and min/max the
 * date_histogram gives over raw documents. A bucket ending at e holds (e − width, e]; only buckets with a
 * sample are listed. `counts` leaves stale markers out; `stat` is the min or max of the float values that
 * are not NaN (±Inf included); `histograms` counts native histograms (only for series that have any);
 * with `last` asked and a stale marker anywhere, each bucket's latest sample time and whether it is stale.
 */
export function bucketsFromSamples(samples: SeriesSamples[], spec: BucketSpec): SeriesBuckets[] {
  const { bucketMs, alignMs, stat } = spec;
  const offset = (((alignMs + 1) % bucketMs) + bucketMs) % bucketMs;
  const wantLast = spec.last === true && samples.some((s) => s.stale.size > 0);
  const out: SeriesBuckets[] = [];
  for (const s of samples) {
    const b: SeriesBuckets = { key: s.key, labels: s.labels, ends: [], counts: [], stat: [], ...(wantLast ? { last: [], lastStale: [] } : {}) };
    const hasHistograms = s.histograms?.some((h) => h !== undefined) === true;
    if (hasHistograms) b.histograms = [];
    let i = -1;
    for (let k = 0; k < s.timestamps.length; k++) {
      const t = s.timestamps[k]!;
      const end = Math.floor((t - offset) / bucketMs) * bucketMs + offset + bucketMs - 1;
      if (i < 0 || b.ends[i] !== end) {
        i++;
        b.ends.push(end);
        b.counts.push(0);
        b.stat.push(Number.NaN);
        b.histograms?.push(0);
        b.last?.push(t);
        b.lastStale?.push(false);
      }
      const stale = s.stale.has(k);
      if (b.last) {
        b.last[i] = t;
        b.lastStale![i] = stale;
      }
      if (stale) continue;
      b.counts[i]! += 1;
      if (s.histograms?.[k]) {
        b.histograms![i]! += 1;
        continue;
      }
      const v = s.values[k]!;
      if (stat === undefined || Number.isNaN(v)) continue;
      const acc = b.stat[i]!;
      b.stat[i] = Number.isNaN(acc) ? v : stat === "min" ? Math.min(acc, v) : Math.max(acc, v);
    }
    if (b.ends.length > 0) out.push(b);
  }
  return out;
}
