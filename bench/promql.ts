import { defaultDeps } from "../src/app.js";
import { BENCH_AUTH, benchApp, benchConfig } from "./app.js";
import { parsePromQL } from "../src/query/promql/parse.js";
import { rangeQuery, storageSource } from "../src/query/promql/query.js";
import { readScope } from "../src/query/scope.js";
import { Storage } from "../src/query/storage/storage.js";
import { type SeriesSpec, writeBody } from "../test/helpers/payload.js";
import { startReferencePrometheus } from "./receiver.js";

/**
 * PromQL: promgate (its engine over Elasticsearch) against Prometheus 3 itself holding the same samples (fed
 * the same remote_write payloads through --web.enable-remote-write-receiver), same queries, same run.
 * - 1 h at 15 s step: 1,000 counter series and 50 histograms of 10 buckets, scraped every 15 s;
 * - Grafana-like 24 h at 5 m step: 1,000 more series scraped every 60 s (500 counters, 500 gauges; 720,500
 *   samples each), where pushdown applies; "unpushed" is promgate's engine over the raw samples of the same
 *   storage, same run.
 */

export interface PromqlRow {
  /** "1h/15s" or "24h/5m". */
  shape: string;
  query: string;
  promgateMs: number;
  prometheusMs: number;
  /** The same query evaluated from raw samples (pushdown off); undefined when nothing is pushed down. */
  unpushedMs: number | undefined;
  equal: boolean;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchPromql(prometheus3: string, rounds = 3): Promise<PromqlRow[]> {
  const env = process.env;
  const config = benchConfig();
  const deps = defaultDeps();
  const app = benchApp(deps, config);
  const auth = BENCH_AUTH;
  const prom = await startReferencePrometheus(prometheus3, "promql");
  const promUrl = prom.url;
  try {
    const run = Date.now().toString(36);
    const end = Math.floor((Date.now() - 120_000) / 300_000) * 300_000;
    const begin = end - 3_600_000;
    const points = (f: (s: number) => number) => Array.from({ length: 241 }, (_, s) => [begin + s * 15_000, f(s)] as [number, number]);
    const dayBegin = end - 86_400_000;
    const minutely = (f: (s: number) => number) => Array.from({ length: 1441 }, (_, s) => [dayBegin + s * 60_000, f(s)] as [number, number]);
    const bodies: Uint8Array<ArrayBuffer>[] = [];
    for (let k = 0; k < 20; k++) {
      const series: SeriesSpec[] = Array.from({ length: 50 }, (_, i) => ({
        labels: { __name__: "bench_c_total", job: `job${(k * 50 + i) % 10}`, idx: String(k * 50 + i), run },
        samples: points((s) => s * (1 + ((k * 50 + i) % 7))),
      }));
      bodies.push(writeBody(series));
    }
    const les = ["0.005", "0.01", "0.05", "0.1", "0.5", "1", "2.5", "5", "10", "+Inf"];
    for (let k = 0; k < 5; k++) {
      const series: SeriesSpec[] = [];
      for (let i = 0; i < 10; i++) {
        les.forEach((le, b) => series.push({ labels: { __name__: "bench_h_bucket", le, idx: String(k * 10 + i), run }, samples: points((s) => s * (b + 1) * (1 + i)) }));
      }
      bodies.push(writeBody(series));
    }
    for (let k = 0; k < 40; k++) {
      const series: SeriesSpec[] = Array.from({ length: 25 }, (_, j) => {
        const i = (k % 20) * 50 + (k < 20 ? j : j + 25);
        const name = k < 20 ? "bench_l_total" : "bench_l";
        return { labels: { __name__: name, job: `job${i % 10}`, idx: String(i), run }, samples: minutely((s) => (name === "bench_l" ? ((s * 37 + i) % 101) / 4 : s * (1 + (i % 7)))) };
      });
      bodies.push(writeBody(series));
    }
    for (const body of bodies) {
      const headers = { "content-type": "application/x-protobuf", "content-encoding": "snappy" };
      const a = await app.request(`/metrics/benchpromql/${run}/api/v1/write`, { method: "POST", body, headers: { ...headers, ...auth } });
      if (a.status !== 204) throw new Error(`promgate write ${a.status}: ${await a.text()}`);
      const b = await fetch(`${promUrl}/api/v1/write`, { method: "POST", body, headers });
      if (b.status >= 300) throw new Error(`prometheus write ${b.status}: ${await b.text()}`);
    }
    await fetch(`${env.ES_URL}/metrics-benchpromql.*/_refresh`, { method: "POST", headers: { authorization: `Basic ${btoa(`${env.ES_USERNAME}:${env.ES_PASSWORD}`)}` } });
    const sel = (name: string) => `${name}{run="${run}"}`;
    const queries: [string, string, number, boolean][] = [
      ["1h/15s", `sum by (job) (rate(${sel("bench_c_total")}[5m]))`, begin, false],
      ["1h/15s", `histogram_quantile(0.9, sum by (le) (rate(${sel("bench_h_bucket")}[5m])))`, begin, false],
      ["1h/15s", `count by (le) (${sel("bench_h_bucket")})`, begin, true],
      ["24h/5m", `sum by (job) (rate(${sel("bench_l_total")}[5m]))`, dayBegin, false],
      ["24h/5m", `sum by (job) (max_over_time(${sel("bench_l")}[5m]))`, dayBegin, true],
      ["24h/5m", `sum by (job) (count_over_time(${sel("bench_l")}[5m]))`, dayBegin, true],
      ["24h/5m", `count by (job) (${sel("bench_l")})`, dayBegin, true],
    ];
    const storage = new Storage(config, deps.fetch);
    const scope = readScope(config.tenants.find((t) => t.id === "bench")!, { kind: "parts", dataset: "benchpromql", namespace: run });
    const rows: PromqlRow[] = [];
    for (const [shape, query, from, pushes] of queries) {
      const step = shape === "1h/15s" ? 15 : 300;
      const form = () => new URLSearchParams({ query, start: String(from / 1000), end: String(end / 1000), step: String(step) });
      const gate = async () => (await app.request(`/metrics/benchpromql/${run}/api/v1/query_range`, { method: "POST", body: form(), headers: { ...auth, "content-type": "application/x-www-form-urlencoded" } })).json();
      const ref = async () => (await fetch(`${promUrl}/api/v1/query_range`, { method: "POST", body: form() })).json();
      // Pushdown off: the engine over the raw samples (a source without bucket statistics).
      const unpushed = async () => {
        const src = storageSource(storage, scope, Number.MAX_SAFE_INTEGER);
        const out = await rangeQuery(parsePromQL(query), from, end, step * 1000, { select: (m, a, b) => src.select(m, a, b) });
        return { data: out.data };
      };
      const [ours, theirs] = [await gate(), await ref()];
      const equal = sameResult(ours, theirs) && (!pushes || sameResult(ours, await unpushed()));
      const g: number[] = [];
      const p: number[] = [];
      const u: number[] = [];
      for (let r = 0; r < rounds; r++) {
        let t = performance.now();
        await gate();
        g.push(performance.now() - t);
        t = performance.now();
        await ref();
        p.push(performance.now() - t);
        if (!pushes) continue;
        t = performance.now();
        await unpushed();
        u.push(performance.now() - t);
      }
      rows.push({ shape, query: query.replace(/\{run="[^"]+"\}/g, ""), promgateMs: median(g), prometheusMs: median(p), unpushedMs: pushes ? median(u) : undefined, equal });
    }
    return rows;
  } finally {
    await prom.stop();
  }
}

type Matrix = { data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
/** Same series, times and values within 1e-9 relative (and not empty). */
export function sameResult(a: unknown, b: unknown): boolean {
  const norm = (x: unknown) =>
    new Map((x as Matrix).data.result.map((s) => [JSON.stringify(Object.entries(s.metric).sort()), s.values]));
  const [ma, mb] = [norm(a), norm(b)];
  if (ma.size !== mb.size || ma.size === 0) return false;
  for (const [k, va] of ma) {
    const vb = mb.get(k);
    if (!vb || vb.length !== va.length) return false;
    for (let i = 0; i < va.length; i++) {
      const [x, y] = [Number(va[i]![1]), Number(vb[i]![1])];
      if (va[i]![0] !== vb[i]![0] || !(x === y || Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y)))) return false;
    }
  }
  return true;
}
