import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp, defaultDeps } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { type SeriesSpec, writeBody } from "../test/helpers/payload.js";
import { freePort, start, waitFor } from "../test/helpers/processes.js";

/**
 * PromQL over 1 h at 15 s: promgate (its engine over Elasticsearch) against Prometheus 3 itself holding the
 * same samples (fed the same remote_write payloads through --web.enable-remote-write-receiver), same
 * queries, same run. 1,000 counter series, and 50 histograms of 10 buckets.
 */

export interface PromqlRow {
  query: string;
  promgateMs: number;
  prometheusMs: number;
  equal: boolean;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchPromql(prometheus3: string, rounds = 3): Promise<PromqlRow[]> {
  const env = process.env;
  const app = createApp(loadConfig({ ...env, PROMGATE_TENANTS: JSON.stringify({ bench: { password: "bench-password" } }) }), defaultDeps());
  const auth = { authorization: `Basic ${btoa("bench:bench-password")}` };
  const dir = mkdtempSync(join(tmpdir(), "promgate-bench-promql-"));
  const port = await freePort();
  writeFileSync(join(dir, "p.yml"), "storage:\n  tsdb:\n    out_of_order_time_window: 3h\n");
  const prom = start(prometheus3, [`--config.file=${join(dir, "p.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--web.enable-remote-write-receiver"]);
  const promUrl = `http://127.0.0.1:${port}`;
  try {
    await waitFor("Prometheus 3", async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined), 60_000);
    const run = Date.now().toString(36);
    const end = Math.floor((Date.now() - 120_000) / 15_000) * 15_000;
    const begin = end - 3_600_000;
    const points = (f: (s: number) => number) => Array.from({ length: 241 }, (_, s) => [begin + s * 15_000, f(s)] as [number, number]);
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
    for (const body of bodies) {
      const headers = { "content-type": "application/x-protobuf", "content-encoding": "snappy" };
      const a = await app.request(`/metrics/benchpromql/${run}/api/v1/write`, { method: "POST", body, headers: { ...headers, ...auth } });
      if (a.status !== 204) throw new Error(`promgate write ${a.status}: ${await a.text()}`);
      const b = await fetch(`${promUrl}/api/v1/write`, { method: "POST", body, headers });
      if (b.status >= 300) throw new Error(`prometheus write ${b.status}: ${await b.text()}`);
    }
    await fetch(`${env.ES_URL}/metrics-benchpromql.*/_refresh`, { method: "POST", headers: { authorization: `Basic ${btoa(`${env.ES_USERNAME}:${env.ES_PASSWORD}`)}` } });
    const queries = [`sum by (job) (rate(bench_c_total{run="${run}"}[5m]))`, `histogram_quantile(0.9, sum by (le) (rate(bench_h_bucket{run="${run}"}[5m])))`];
    const rows: PromqlRow[] = [];
    for (const query of queries) {
      const form = () => new URLSearchParams({ query, start: String(begin / 1000), end: String(end / 1000), step: "15" });
      const gate = async () => (await app.request(`/metrics/benchpromql/${run}/api/v1/query_range`, { method: "POST", body: form(), headers: { ...auth, "content-type": "application/x-www-form-urlencoded" } })).json();
      const ref = async () => (await fetch(`${promUrl}/api/v1/query_range`, { method: "POST", body: form() })).json();
      const [ours, theirs] = [await gate(), await ref()];
      const g: number[] = [];
      const p: number[] = [];
      for (let r = 0; r < rounds; r++) {
        let t = performance.now();
        await gate();
        g.push(performance.now() - t);
        t = performance.now();
        await ref();
        p.push(performance.now() - t);
      }
      rows.push({ query: query.replace(/\{run="[^"]+"\}/g, ""), promgateMs: median(g), prometheusMs: median(p), equal: sameResult(ours, theirs) });
    }
    return rows;
  } finally {
    await prom.stop();
  }
}

type Matrix = { data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
function sameResult(a: unknown, b: unknown): boolean {
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
