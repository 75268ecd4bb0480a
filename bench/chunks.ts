import { defaultDeps } from "../src/app.js";
import { Compactor } from "../src/chunks/compactor.js";
import { windowStart } from "../src/chunks/window.js";
import { chunksTemplate } from "../src/elastic/templates.js";
import { type SeriesSpec, writeBody } from "../test/helpers/payload.js";
import { BENCH_AUTH, benchApp, benchConfig } from "./app.js";
import { sameResult } from "./promql.js";
import { startReferencePrometheus } from "./receiver.js";

/**
 * The chunk index: PromQL over compacted data, promgate with chunks on and off against Prometheus 3 holding
 * the same samples, same queries, same run. The data lies in settled windows (ending more than the settle
 * time ago), compacted before the queries:
 * - 1 h at 15 s step over 1,000 counters scraped every 15 s (`bench_c_total`);
 * - 24 h at 5 m step over 1,000 series scraped every 60 s (500 counters, 500 gauges);
 * - 7 days at 1 h step over 200 counters scraped every 120 s (`bench_w_total`).
 * Also: the compactor's speed (samples/s, one process), and bytes per sample of chunk documents against raw
 * TSDS documents (`_stats` store size after a force merge to one segment).
 */

export interface ChunksRow {
  shape: string;
  query: string;
  chunksMs: number;
  rawMs: number;
  prometheusMs: number;
  /** Chunks on and off gave the same bytes, and Prometheus' values within 1e-9. */
  equal: boolean;
}

export interface ChunksBench {
  rows: ChunksRow[];
  compactSamples: number;
  compactSeconds: number;
  rawBytesPerSample: number;
  chunkBytesPerSample: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function es(method: string, path: string, body?: unknown): Promise<unknown> {
  const env = process.env;
  const res = await fetch(`${env.ES_URL}${path}`, {
    method,
    headers: { authorization: `Basic ${btoa(`${env.ES_USERNAME}:${env.ES_PASSWORD}`)}`, "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Store bytes of an index expression after a force merge to one segment. */
async function storeBytes(index: string): Promise<number> {
  await es("POST", `/${index}/_forcemerge?max_num_segments=1`);
  const s = (await es("GET", `/${index}/_stats/store`)) as { _all: { primaries: { store: { size_in_bytes: number } } } };
  return s._all.primaries.store.size_in_bytes;
}

export async function benchChunks(prometheus3: string, rounds = 3): Promise<ChunksBench> {
  const run = Date.now().toString(36);
  const chunkIndex = `promgate-chunks-bench-${run}`;
  const stream = `metrics-benchchunks.prometheus-${run}`;
  const config = benchConfig();
  const deps = { ...defaultDeps(), log: () => {} };
  const raw = benchApp(deps, config);
  const chunkedConfig = { ...config, chunks: { index: chunkIndex, settleMs: 3_600_000 } };
  const chunked = benchApp(deps, chunkedConfig);
  const { template } = chunksTemplate(chunkIndex);
  await es("PUT", `/${chunkIndex}`, { settings: template.settings, mappings: template.mappings });

  // A week of history: Prometheus must take samples that old.
  const prom = await startReferencePrometheus(prometheus3, "chunks", "9d");
  const promUrl = prom.url;
  try {
    // The last sample lies 5 minutes before the end of the last settled window.
    const end = windowStart(Date.now() - 3_600_000 - 60_000) - 300_000;
    const hour = end - 3_600_000;
    const day = end - 86_400_000;
    const week = end - 7 * 86_400_000;
    const every = (from: number, step: number, f: (s: number) => number) => Array.from({ length: Math.floor((end - from) / step) + 1 }, (_, s) => [from + s * step, f(s)] as [number, number]);
    const bodies: Uint8Array<ArrayBuffer>[] = [];
    for (let k = 0; k < 20; k++) {
      bodies.push(writeBody(Array.from({ length: 50 }, (_, i) => ({ labels: { __name__: "bench_c_total", job: `job${(k * 50 + i) % 10}`, idx: String(k * 50 + i) }, samples: every(hour - 300_000, 15_000, (s) => s * (1 + ((k * 50 + i) % 7))) }))));
    }
    for (let k = 0; k < 40; k++) {
      const series: SeriesSpec[] = Array.from({ length: 25 }, (_, j) => {
        const i = (k % 20) * 50 + (k < 20 ? j : j + 25);
        const name = k < 20 ? "bench_l_total" : "bench_l";
        return { labels: { __name__: name, job: `job${i % 10}`, idx: String(i) }, samples: every(day - 300_000, 60_000, (s) => (name === "bench_l" ? ((s * 37 + i) % 101) / 4 : s * (1 + (i % 7)))) };
      });
      bodies.push(writeBody(series));
    }
    for (let k = 0; k < 40; k++) {
      bodies.push(writeBody(Array.from({ length: 5 }, (_, j) => ({ labels: { __name__: "bench_w_total", job: `job${(k * 5 + j) % 10}`, idx: String(k * 5 + j) }, samples: every(week - 3_600_000, 120_000, (s) => s * (1 + ((k + j) % 7))) }))));
    }
    const headers = { "content-type": "application/x-protobuf", "content-encoding": "snappy" };
    for (const body of bodies) {
      const a = await raw.request(`/metrics/benchchunks/${run}/api/v1/write`, { method: "POST", body, headers: { ...headers, ...BENCH_AUTH } });
      if (a.status !== 204) throw new Error(`promgate write ${a.status}: ${await a.text()}`);
      const b = await fetch(`${promUrl}/api/v1/write`, { method: "POST", body, headers });
      if (b.status >= 300) throw new Error(`prometheus write ${b.status}: ${await b.text()}`);
    }
    await es("POST", `/${stream}/_refresh`);

    const compactor = new Compactor(chunkedConfig, deps.fetch, undefined, Date.now, stream);
    const t0 = performance.now();
    let compactSamples = 0;
    for (let step = await compactor.step(); step.kind !== "idle"; step = await compactor.step()) if (step.kind === "window") compactSamples += step.samples;
    const compactSeconds = (performance.now() - t0) / 1000;
    const rawDocs = ((await es("POST", `/${stream}/_count`)) as { count: number }).count;
    const rawBytesPerSample = (await storeBytes(stream)) / rawDocs;
    const chunkBytesPerSample = (await storeBytes(chunkIndex)) / compactSamples;

    const queries: [string, string, number, number][] = [
      ["1h/15s", "sum by (job) (rate(bench_c_total[5m]))", hour, 15],
      ["24h/5m", "sum by (job) (rate(bench_l_total[5m]))", day, 300],
      ["24h/5m", "sum by (job) (max_over_time(bench_l[5m]))", day, 300],
      ["7d/1h", "sum by (job) (rate(bench_w_total[1h]))", week, 3600],
    ];
    const rows: ChunksRow[] = [];
    for (const [shape, query, from, step] of queries) {
      const form = () => new URLSearchParams({ query, start: String(from / 1000), end: String(end / 1000), step: String(step) });
      const ask = async (app: typeof raw) => (await app.request(`/metrics/benchchunks/${run}/api/v1/query_range`, { method: "POST", body: form(), headers: { ...BENCH_AUTH, "content-type": "application/x-www-form-urlencoded" } })).text();
      const ref = async () => (await fetch(`${promUrl}/api/v1/query_range`, { method: "POST", body: form() })).text();
      const [c, r, p] = [await ask(chunked), await ask(raw), await ref()];
      const equal = c === r && sameResult(JSON.parse(c), JSON.parse(p));
      const times: [number[], number[], number[]] = [[], [], []];
      for (let k = 0; k < rounds; k++) {
        for (const [i, f] of [() => ask(chunked), () => ask(raw), ref].entries()) {
          const t = performance.now();
          await f();
          times[i]!.push(performance.now() - t);
        }
      }
      rows.push({ shape, query, chunksMs: median(times[0]), rawMs: median(times[1]), prometheusMs: median(times[2]), equal });
    }
    return { rows, compactSamples, compactSeconds, rawBytesPerSample, chunkBytesPerSample };
  } finally {
    await prom.stop();
    await es("DELETE", `/${chunkIndex}`).catch(() => undefined);
  }
}
