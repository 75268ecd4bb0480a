import { Compactor } from "../src/chunks/compactor.js";
import { loadConfig } from "../src/config.js";
import { chunksTemplate } from "../src/elastic/templates.js";
import { BENCH_AUTH, benchApp } from "./app.js";
import { type SeriesSpec, writeBody } from "../test/helpers/payload.js";
import { startReferencePrometheus } from "./receiver.js";

/**
 * A Grafana dashboard refresh, promgate against Prometheus 3 holding the same samples.
 *
 * Data: 24 h of a node_exporter fleet scraped every 30 s (8 hosts, 66 series each: CPU by cpu and mode, load,
 * memory, filesystems, network, disks, boot time), sent as remote_write to both.
 * Dashboard: the "Node Exporter Full" panels for one host plus two fleet panels, as Grafana's Prometheus data
 * source sends them for "Last 24 hours" on a 1,440-pixel-wide panel: step 60 s (24 h / 1,440 points,
 * rounded), `$__rate_interval` = max(step + scrape interval, 4 × scrape interval) = 2m, start and end aligned
 * to the step, up to 6 queries in flight (a browser's connections per host).
 * Cold: the first refresh (a new promgate, Elasticsearch's caches cleared). Refresh: the same dashboard
 * 30 s later, its range moved by 30 s, with the results cache on (promgate's defaults otherwise).
 * Then the same two refreshes with the chunk index on (the day's settled two-hour windows compacted first).
 * Prometheus answers from its own TSDB (memory-mapped chunks); it has no results cache.
 */

const SCRAPE_S = 30;
const HOSTS = 8;
const STEP_S = 60;
const RATE = "2m";
const CONCURRENCY = 6;

interface Family {
  name: string;
  labels: Record<string, string>[];
  /** Value at scrape number s of host h and label set i. */
  value: (s: number, h: number, i: number) => number;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const wave = (s: number, period: number) => Math.sin((2 * Math.PI * s) / period);

function families(): Family[] {
  const modes = ["idle", "user", "system", "iowait", "irq", "softirq", "nice", "steal"];
  const share = [0.7, 0.15, 0.07, 0.03, 0.01, 0.02, 0.01, 0.01];
  const cpu = range(4).flatMap((c) => modes.map((mode) => ({ cpu: String(c), mode })));
  const mem = ["MemTotal", "MemAvailable", "MemFree", "Cached", "Buffers", "SReclaimable"];
  const mounts = ["/", "/boot", "/var"];
  const nics = ["eth0", "eth1"];
  const disks = ["sda", "sdb"];
  const counter = (rate: (h: number, i: number) => number) => (s: number, h: number, i: number) => Math.floor(s * SCRAPE_S * rate(h, i) * (1 + 0.2 * wave(s, 240)) * 100) / 100;
  const fs: Family[] = [
    { name: "node_cpu_seconds_total", labels: cpu, value: counter((h, i) => share[i % 8]! * (1 + h / 10)) },
    { name: "node_load1", labels: [{}], value: (s, h) => 1 + h / 4 + wave(s, 120) },
    { name: "node_load5", labels: [{}], value: (s, h) => 1 + h / 4 + 0.5 * wave(s, 240) },
    { name: "node_load15", labels: [{}], value: (s, h) => 1 + h / 4 + 0.2 * wave(s, 480) },
    ...mem.map((m, k): Family => ({ name: `node_memory_${m}_bytes`, labels: [{}], value: (s, h) => (k === 0 ? 16e9 : Math.round((8e9 / (k + 1)) * (1 + 0.3 * wave(s + h * 17, 720)))) })),
    ...["avail", "size", "free"].map((m, k): Family => ({ name: `node_filesystem_${m}_bytes`, labels: mounts.map((mountpoint, d) => ({ device: `/dev/sda${d + 1}`, fstype: "ext4", mountpoint })), value: (s, h, i) => (k === 1 ? 100e9 * (i + 1) : Math.round(40e9 * (i + 1) - s * 1e5 * (h + 1))) })),
    ...["receive_bytes", "transmit_bytes", "receive_packets", "transmit_packets"].map((m, k): Family => ({ name: `node_network_${m}_total`, labels: nics.map((device) => ({ device })), value: counter((h, i) => (k < 2 ? 1e6 : 1e3) * (1 + h + i)) })),
    ...["read_bytes", "written_bytes", "io_time_seconds"].map((m, k): Family => ({ name: `node_disk_${m}_total`, labels: disks.map((device) => ({ device })), value: counter((h, i) => (k < 2 ? 5e5 : 0.05) * (1 + h + i)) })),
    { name: "node_boot_time_seconds", labels: [{}], value: (_s, h) => 1767000000 + h * 1000 },
  ];
  return fs;
}

/** The panels, with Grafana's variables already substituted. */
function dashboard(run: string): string[] {
  const one = `instance="10.0.0.1:9100",job="node",run="${run}"`;
  const all = `job="node",run="${run}"`;
  return [
    `100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle",${one}}[${RATE}])))`,
    `scalar(node_load1{${one}}) * 100 / count(count(node_cpu_seconds_total{${one}}) by (cpu))`,
    `(1 - (node_memory_MemAvailable_bytes{${one}} / node_memory_MemTotal_bytes{${one}})) * 100`,
    `100 - ((node_filesystem_avail_bytes{${one},mountpoint="/"} * 100) / node_filesystem_size_bytes{${one},mountpoint="/"})`,
    `sum by (instance) (irate(node_cpu_seconds_total{${one},mode="system"}[${RATE}])) / on(instance) group_left sum by (instance) (irate(node_cpu_seconds_total{${one}}[${RATE}]))`,
    `sum by (mode) (irate(node_cpu_seconds_total{${one}}[${RATE}])) * 100 / on() group_left count(count(node_cpu_seconds_total{${one}}) by (cpu))`,
    `node_memory_MemTotal_bytes{${one}} - node_memory_MemFree_bytes{${one}} - (node_memory_Cached_bytes{${one}} + node_memory_Buffers_bytes{${one}} + node_memory_SReclaimable_bytes{${one}})`,
    `node_load1{${one}}`,
    `node_load5{${one}}`,
    `node_load15{${one}}`,
    `irate(node_network_receive_bytes_total{${one}}[${RATE}]) * 8`,
    `irate(node_network_transmit_bytes_total{${one}}[${RATE}]) * 8`,
    `irate(node_disk_read_bytes_total{${one}}[${RATE}])`,
    `irate(node_disk_io_time_seconds_total{${one}}[${RATE}])`,
    `node_filesystem_avail_bytes{${one}}`,
    `avg by (instance) (rate(node_cpu_seconds_total{mode!="idle",${all}}[${RATE}]))`,
    `sum by (instance) (rate(node_network_receive_bytes_total{${all}}[${RATE}]))`,
  ];
}

export interface DashboardRun {
  /** Wall time of the whole refresh (queries in flight as a browser sends them). */
  totalMs: number;
  /** 95th percentile of the panels' latencies within that refresh. */
  p95Ms: number;
}

export interface DashboardBench {
  series: number;
  samples: number;
  queries: number;
  promgateCold: DashboardRun;
  promgateRefresh: DashboardRun;
  /** The same two refreshes with the chunk index on, every settled window of the day compacted. */
  chunksCold: DashboardRun;
  chunksRefresh: DashboardRun;
  prometheusCold: DashboardRun;
  prometheusRefresh: DashboardRun;
  /** Every panel's answer from promgate equals Prometheus' (values within 1e-9 relative). */
  equal: boolean;
  mismatches: string[];
}

async function refresh(queries: string[], ask: (q: string) => Promise<string>): Promise<{ run: DashboardRun; answers: string[] }> {
  const answers: string[] = new Array<string>(queries.length);
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < queries.length) {
      const i = next++;
      const t = performance.now();
      answers[i] = await ask(queries[i]!);
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(range(CONCURRENCY).map(worker));
  const totalMs = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  return { run: { totalMs, p95Ms: latencies[Math.min(latencies.length - 1, Math.ceil(0.95 * latencies.length) - 1)]! }, answers };
}

export async function benchDashboard(prometheus3: string): Promise<DashboardBench> {
  const env = process.env;
  const esAuth = { authorization: `Basic ${btoa(`${env.ES_USERNAME}:${env.ES_PASSWORD}`)}` };
  const prom = await startReferencePrometheus(prometheus3, "dashboard");
  const promUrl = prom.url;
  try {
    const run = Date.now().toString(36);
    let shift = 0;
    const clock = () => Date.now() + shift;
    const tenants = JSON.stringify({ bench: { password: "bench-password", streams: ["metrics-*.prometheus-*"], namespace: "default" } });
    const config = loadConfig({ ...env, PROMGATE_TENANTS: tenants, PROMGATE_CACHE: "true" });
    const app = (c = config) => benchApp({ now: clock }, c);
    const writer = app();

    // 24 h and 10 minutes of scrapes up to now, sent in slices of 20 scrapes of the whole fleet.
    const now = Date.now();
    const scrapes = Math.floor((24 * 3600 + 600) / SCRAPE_S);
    const first = Math.floor(now / 1000 / SCRAPE_S) * SCRAPE_S * 1000 - scrapes * SCRAPE_S * 1000;
    const fams = families();
    let series = 0;
    let samples = 0;
    const headers = { "content-type": "application/x-protobuf", "content-encoding": "snappy" };
    for (let s0 = 0; s0 <= scrapes; s0 += 20) {
      const batch: SeriesSpec[] = [];
      for (let h = 0; h < HOSTS; h++) {
        for (const f of fams) {
          f.labels.forEach((extra, i) => {
            const points: [number, number][] = [];
            for (let s = s0; s < Math.min(s0 + 20, scrapes + 1); s++) points.push([first + s * SCRAPE_S * 1000, f.value(s, h, i)]);
            batch.push({ labels: { __name__: f.name, instance: `10.0.0.${h}:9100`, job: "node", run, ...extra }, samples: points });
            samples += points.length;
            if (s0 === 0) series++;
          });
        }
      }
      const body = writeBody(batch);
      const a = await writer.request(`/metrics/benchdash/${run}/api/v1/write`, { method: "POST", body, headers: { ...headers, ...BENCH_AUTH } });
      if (a.status !== 204) throw new Error(`promgate write ${a.status}: ${await a.text()}`);
      const b = await fetch(`${promUrl}/api/v1/write`, { method: "POST", body, headers });
      if (b.status >= 300) throw new Error(`prometheus write ${b.status}: ${await b.text()}`);
    }
    await fetch(`${env.ES_URL}/metrics-benchdash.*/_refresh`, { method: "POST", headers: esAuth });

    const queries = dashboard(run);
    const window = (at: number) => {
      const end = Math.floor(at / 1000 / STEP_S) * STEP_S;
      return { start: String(end - 24 * 3600), end: String(end), step: String(STEP_S) };
    };
    const gateAsk = (target: ReturnType<typeof app>, at: number) => async (query: string) => {
      const res = await target.request(`/metrics/benchdash/${run}/api/v1/query_range`, { method: "POST", body: new URLSearchParams({ query, ...window(at) }), headers: { ...BENCH_AUTH, "content-type": "application/x-www-form-urlencoded" } });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`promgate ${res.status}: ${text}`);
      return text;
    };
    const promAsk = (at: number) => async (query: string) => {
      const res = await fetch(`${promUrl}/api/v1/query_range`, { method: "POST", body: new URLSearchParams({ query, ...window(at) }) });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`prometheus ${res.status}: ${text}`);
      return text;
    };

    const t = Date.now();
    await fetch(`${env.ES_URL}/metrics-benchdash.*/_cache/clear`, { method: "POST", headers: esAuth });
    const reader = app();
    shift = 0;
    const gateCold = await refresh(queries, gateAsk(reader, t));
    const promCold = await refresh(queries, promAsk(t));
    shift = 30_000;
    const gateWarm = await refresh(queries, gateAsk(reader, t + 30_000));
    const promWarm = await refresh(queries, promAsk(t + 30_000));

    // The chunk index: every settled two-hour window of the day compacted, then the same two refreshes.
    const chunkIndex = `promgate-chunks-benchdash-${run}`;
    const { template } = chunksTemplate(chunkIndex);
    await fetch(`${env.ES_URL}/${chunkIndex}`, { method: "PUT", headers: { ...esAuth, "content-type": "application/json" }, body: JSON.stringify({ settings: template.settings, mappings: template.mappings }) });
    const chunked = { ...config, chunks: { index: chunkIndex, settleMs: 3_600_000 } };
    const compactor = new Compactor(chunked, fetch, undefined, Date.now, `metrics-benchdash.prometheus-${run}`);
    for (let step = await compactor.step(); step.kind !== "idle"; step = await compactor.step());
    await fetch(`${env.ES_URL}/${chunkIndex},metrics-benchdash.*/_refresh`, { method: "POST", headers: esAuth });
    await fetch(`${env.ES_URL}/${chunkIndex},metrics-benchdash.*/_cache/clear`, { method: "POST", headers: esAuth });
    const withChunks = app(chunked);
    const t2 = Date.now();
    shift = 0;
    const chunksCold = await refresh(queries, gateAsk(withChunks, t2));
    const promCold2 = await refresh(queries, promAsk(t2));
    shift = 30_000;
    const chunksWarm = await refresh(queries, gateAsk(withChunks, t2 + 30_000));
    const promWarm2 = await refresh(queries, promAsk(t2 + 30_000));

    const mismatches: string[] = [];
    queries.forEach((q, i) => {
      for (const [ours, theirs] of [[gateCold.answers[i]!, promCold.answers[i]!], [gateWarm.answers[i]!, promWarm.answers[i]!], [chunksCold.answers[i]!, promCold2.answers[i]!], [chunksWarm.answers[i]!, promWarm2.answers[i]!]] as const) {
        const why = difference(JSON.parse(ours), JSON.parse(theirs));
        if (why) mismatches.push(`${q.replace(/,?run="[^"]+"/g, "")}: ${why}`);
      }
    });
    return {
      series,
      samples,
      queries: queries.length,
      promgateCold: gateCold.run,
      promgateRefresh: gateWarm.run,
      chunksCold: chunksCold.run,
      chunksRefresh: chunksWarm.run,
      prometheusCold: promCold.run,
      prometheusRefresh: promWarm.run,
      equal: mismatches.length === 0,
      mismatches,
    };
  } finally {
    await prom.stop();
  }
}

type Matrix = { data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };

/** Why two matrix answers differ (series, timestamps, or a value beyond 1e-9 relative), or undefined. */
function difference(a: unknown, b: unknown): string | undefined {
  const norm = (x: unknown) => new Map((x as Matrix).data.result.map((s) => [JSON.stringify(Object.entries(s.metric).sort()), s.values]));
  const [ma, mb] = [norm(a), norm(b)];
  if (ma.size !== mb.size) return `${ma.size} series vs ${mb.size}`;
  if (ma.size === 0) return "no series";
  for (const [k, va] of ma) {
    const vb = mb.get(k);
    if (!vb) return `series ${k} missing`;
    if (vb.length !== va.length) return `${k}: ${va.length} points vs ${vb.length}`;
    for (let i = 0; i < va.length; i++) {
      const [x, y] = [Number(va[i]![1]), Number(vb[i]![1])];
      if (va[i]![0] !== vb[i]![0]) return `${k}: point ${i} at ${va[i]![0]} vs ${vb[i]![0]}`;
      if (!(x === y || (Number.isNaN(x) && Number.isNaN(y)) || Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y)))) return `${k}: ${x} vs ${y} at ${va[i]![0]}`;
    }
  }
  return undefined;
}
