import { loadConfig } from "../src/config.js";
import { BENCH_AUTH, benchApp } from "./app.js";
import { type SeriesSpec, writeBody } from "../test/helpers/payload.js";

/**
 * Primary shards per backing index, 1 vs 2 vs 4: does spreading one data stream over more shards make one
 * query's aggregations faster (each shard is searched by its own thread)? The same samples go into three
 * data streams whose backing indices have 1, 2 and 4 primary shards (an index template over
 * promgate's components, as a user would add `index.number_of_shards` in `promgate-metrics@custom`), and the
 * same queries run against each, whole (no split, no results cache), Elasticsearch's request cache cleared
 * before each, median of 5.
 * Data: 1,000 counters scraped every 15 s for 1 h; 200 counters scraped every 60 s for 24 h.
 */

export interface ShardsRow {
  shards: number;
  query: string;
  ms: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchShards(counts = [1, 2, 4], rounds = 5): Promise<ShardsRow[]> {
  const env = process.env;
  const es = env.ES_URL!;
  const esHeaders = { authorization: `Basic ${btoa(`${env.ES_USERNAME}:${env.ES_PASSWORD}`)}`, "content-type": "application/json" };
  const tenants = JSON.stringify({ bench: { password: "bench-password", streams: ["metrics-*.prometheus-*"], namespace: "default" } });
  const app = benchApp({}, loadConfig({ ...env, PROMGATE_TENANTS: tenants, PROMGATE_QUERY_SPLIT_INTERVAL: "1000d" }));
  const run = Date.now().toString(36);
  const end = Math.floor((Date.now() - 120_000) / 300_000) * 300_000;
  const hourBegin = end - 3_600_000;
  const dayBegin = end - 86_400_000;
  const rows: ShardsRow[] = [];
  for (const shards of counts) {
    const dataset = `benchshards${shards}`;
    const put = async (path: string, body: unknown) => {
      const res = await fetch(`${es}${path}`, { method: "PUT", headers: esHeaders, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    };
    await put(`/_component_template/bench-shards-${shards}`, { template: { settings: { "index.number_of_shards": shards, "index.number_of_replicas": 0 } } });
    await put(`/_index_template/bench-shards-${shards}`, {
      index_patterns: [`metrics-${dataset}.prometheus-*`],
      composed_of: ["promgate-metrics@settings", "promgate-metrics@mappings", `bench-shards-${shards}`],
      priority: 700,
      data_stream: {},
    });
    const bodies: Uint8Array<ArrayBuffer>[] = [];
    for (let k = 0; k < 20; k++) {
      bodies.push(
        writeBody(
          Array.from({ length: 50 }, (_, j): SeriesSpec => {
            const i = k * 50 + j;
            return { labels: { __name__: "bench_s_total", job: `job${i % 10}`, idx: String(i), run }, samples: Array.from({ length: 241 }, (_, s) => [hourBegin + s * 15_000, s * (1 + (i % 7))] as [number, number]) };
          }),
        ),
      );
    }
    for (let k = 0; k < 8; k++) {
      bodies.push(
        writeBody(
          Array.from({ length: 25 }, (_, j): SeriesSpec => {
            const i = k * 25 + j;
            return { labels: { __name__: "bench_d_total", job: `job${i % 10}`, idx: String(i), run }, samples: Array.from({ length: 1441 }, (_, s) => [dayBegin + s * 60_000, s * (1 + (i % 7))] as [number, number]) };
          }),
        ),
      );
    }
    for (const body of bodies) {
      const res = await app.request(`/metrics/${dataset}/${run}/api/v1/write`, { method: "POST", body, headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", ...BENCH_AUTH } });
      if (res.status !== 204) throw new Error(`write ${res.status}: ${await res.text()}`);
    }
    await fetch(`${es}/metrics-${dataset}.*/_refresh`, { method: "POST", headers: esHeaders });
    await fetch(`${es}/metrics-${dataset}.*/_forcemerge?max_num_segments=1`, { method: "POST", headers: esHeaders });
    const queries: [string, number, number][] = [
      [`sum by (job) (rate(bench_s_total{run="${run}"}[5m]))`, hourBegin, 15],
      [`sum by (job) (rate(bench_d_total{run="${run}"}[5m]))`, dayBegin, 300],
      [`sum by (job) (max_over_time(bench_d_total{run="${run}"}[5m]))`, dayBegin, 300],
    ];
    for (const [query, from, step] of queries) {
      const ask = async () => {
        const res = await app.request(`/metrics/${dataset}/${run}/api/v1/query_range`, {
          method: "POST",
          body: new URLSearchParams({ query, start: String(from / 1000), end: String(end / 1000), step: String(step) }),
          headers: { ...BENCH_AUTH, "content-type": "application/x-www-form-urlencoded" },
        });
        if (res.status !== 200) throw new Error(`query ${res.status}: ${await res.text()}`);
        await res.text();
      };
      await ask();
      const times: number[] = [];
      for (let r = 0; r < rounds; r++) {
        // Elasticsearch's shard request cache would answer a repeated aggregation without computing it.
        await fetch(`${es}/metrics-${dataset}.*/_cache/clear?request=true`, { method: "POST", headers: esHeaders });
        const t = performance.now();
        await ask();
        times.push(performance.now() - t);
      }
      rows.push({ shards, query: `${step === 15 ? "1h/15s" : "24h/5m"} ${query.replace(/\{run="[^"]+"\}/g, "")}`, ms: median(times) });
    }
  }
  return rows;
}
