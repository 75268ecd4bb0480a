import { loadConfig } from "../src/config.js";
import { BENCH_AUTH, benchApp } from "./app.js";
import { type SeriesSpec, writeBody } from "../test/helpers/payload.js";

/**
 * The range query frontend on a dashboard refresh: `sum by (job) (rate(x[5m]))` over the last 1 h 45 m at a
 * 15 s step (aligned, as Grafana sends it) over 200 counters scraped every 15 s, asked once (cold cache), then
 * again "30 s later": the range moved by 30 s and the clock the settle window is measured against too.
 * Compared in the same run with the query evaluated whole (no split, no cache) and split but uncached
 * (Cache-Control: no-store). Each round starts with an empty cache (a new app).
 */

export interface FrontendRow {
  what: string;
  ms: number;
}

export interface FrontendBench {
  rows: FrontendRow[];
  /** The warm answer equals the uncached answer for the moved range, byte for byte. */
  equal: boolean;
  hits: number;
  misses: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchFrontend(splitInterval: string, rounds = 5): Promise<FrontendBench> {
  const env = process.env;
  // admin: may read /metrics, where the hit and miss counts are.
  const tenants = JSON.stringify({ bench: { password: "bench-password", streams: ["metrics-*.prometheus-*"], namespace: "default", admin: true } });
  let shift = 0;
  const clock = () => Date.now() + shift;
  const app = (extra: Record<string, string>) => benchApp({ now: clock }, loadConfig({ ...env, PROMGATE_TENANTS: tenants, ...extra }));
  const whole = app({ PROMGATE_QUERY_SPLIT_INTERVAL: "1000d" });
  const run = Date.now().toString(36);
  const step = 15_000;
  const end = Math.floor(Date.now() / step) * step;
  const first = end - 110 * 60_000;
  for (let k = 0; k < 4; k++) {
    const series: SeriesSpec[] = Array.from({ length: 50 }, (_, j) => {
      const i = k * 50 + j;
      const samples: [number, number][] = [];
      for (let t = first; t <= end; t += step) samples.push([t, ((t - first) / step) * (1 + (i % 7))]);
      return { labels: { __name__: "bench_fe_total", job: `job${i % 10}`, idx: String(i), run }, samples };
    });
    const res = await whole.request(`/metrics/benchfe/${run}/api/v1/write`, {
      method: "POST",
      body: writeBody(series),
      headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", ...BENCH_AUTH },
    });
    if (res.status !== 204) throw new Error(`write ${res.status}: ${await res.text()}`);
  }
  await fetch(`${env.ES_URL}/metrics-benchfe.*/_refresh`, { method: "POST", headers: { authorization: `Basic ${btoa(`${env.ES_USERNAME}:${env.ES_PASSWORD}`)}` } });

  const query = `sum by (job) (rate(bench_fe_total{run="${run}"}[5m]))`;
  const ask = async (target: ReturnType<typeof app>, from: number, to: number, headers: Record<string, string> = {}) => {
    const body = new URLSearchParams({ query, start: String(from / 1000), end: String(to / 1000), step: String(step / 1000) });
    const res = await target.request(`/metrics/benchfe/${run}/api/v1/query_range`, { method: "POST", body, headers: { ...BENCH_AUTH, "content-type": "application/x-www-form-urlencoded", ...headers } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`query ${res.status}: ${text}`);
    return text;
  };
  const timed = async (f: () => Promise<string>): Promise<[number, string]> => {
    const t = performance.now();
    const out = await f();
    return [performance.now() - t, out];
  };
  const range = 105 * 60_000;
  const times: Record<string, number[]> = { whole: [], uncached: [], cold: [], warm: [] };
  let equal = true;
  let hits = 0;
  let misses = 0;
  for (let r = 0; r < rounds; r++) {
    shift = 0;
    const cached = app({ PROMGATE_QUERY_SPLIT_INTERVAL: splitInterval, PROMGATE_CACHE: "true" });
    times.whole!.push((await timed(() => ask(whole, end - range, end)))[0]);
    times.uncached!.push((await timed(() => ask(cached, end - range, end, { "cache-control": "no-store" })))[0]);
    times.cold!.push((await timed(() => ask(cached, end - range, end)))[0]);
    shift = 30_000;
    const [ms, warm] = await timed(() => ask(cached, end - range + shift, end + shift));
    times.warm!.push(ms);
    equal &&= warm === (await ask(whole, end - range + shift, end + shift));
    const metrics = await (await cached.request("/metrics", { headers: BENCH_AUTH })).text();
    const count = (name: string) => Number(/^(\S+) (\S+)$/m.exec(metrics.split("\n").find((l) => l.startsWith(`${name} `)) ?? "x 0")?.[2] ?? 0);
    hits = count("promgate_query_cache_hits_total");
    misses = count("promgate_query_cache_misses_total");
  }
  return {
    rows: [
      { what: "whole (no split, no cache)", ms: median(times.whole!) },
      { what: `split ${splitInterval}, no-store`, ms: median(times.uncached!) },
      { what: `split ${splitInterval}, cold cache`, ms: median(times.cold!) },
      { what: `split ${splitInterval}, warm (30 s later, range moved)`, ms: median(times.warm!) },
    ],
    equal,
    hits,
    misses,
  };
}
