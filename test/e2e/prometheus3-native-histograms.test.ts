import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { es, gateEnv, uniquePart } from "../helpers/es.js";
import { launchPromgate } from "../helpers/launch.js";
import { freePort, type Running, start, waitFor } from "../helpers/processes.js";

/**
 * What current senders send, end to end with real parts: Prometheus 3.16 scrapes itself (with native
 * histograms) and a node_exporter, and remote_writes both as 2.0 and as 1.0 with send_native_histograms to
 * promgate under `wrangler dev`, which writes to the real Elasticsearch. Afterwards every float and
 * histogram sample Prometheus holds is in Elasticsearch exactly once, per metric, and no send failed;
 * histogram queries answer as Prometheus 3.16's own engine does, and a second Prometheus reading promgate
 * through remote_read sees the same histograms.
 */

const ROOT = resolve(import.meta.dirname, "../..");
const PROMETHEUS = process.env.PROMETHEUS316_BIN ?? resolve(ROOT, ".cache/prometheus3/v0.316.0/prometheus");
const NODE_EXPORTER = process.env.NODE_EXPORTER_BIN;
const run = uniquePart("nh");
const streams = { v2: `metrics-nh.prometheus-${run}_v2`, v1: `metrics-nh.prometheus-${run}_v1` };
const TENANTS = { dev: { password: "promgate-dev", streams: ["metrics-*.prometheus-*"] } };

let wrangler: Running | undefined;
let prometheus: Running | undefined;
let exporter: Running | undefined;
let reader: Running | undefined;
let promUrl = "";
let gate = "";
let workDir = "";
let cutoff = 0;

interface PromAnswer {
  status: string;
  error?: string;
  data: { resultType: string; result: { metric: Record<string, string>; value?: [number, string]; histogram?: [number, unknown] }[] };
}

async function promApi(base: string, query: string, time: number, auth?: string): Promise<PromAnswer["data"]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}&time=${time}`, auth ? { headers: { authorization: auth } } : {});
  const body = (await res.json()) as PromAnswer;
  if (body.status !== "success") throw new Error(`${base}: ${body.error}`);
  return body.data;
}

const sum = async (query: string, time = Date.now() / 1000) => (await promApi(promUrl, query, time)).result.reduce((n, r) => n + Number(r.value![1]), 0);

beforeAll(async () => {
  const dir = (workDir = mkdtempSync(join(tmpdir(), "promgate-nh-")));
  const [gatePort, promPort, exporterPort] = [await freePort(), await freePort(), await freePort()];
  wrangler = launchPromgate("workerd", gatePort, { ...process.env, ...gateEnv(), PROMGATE_TENANTS: JSON.stringify(TENANTS) });
  gate = `http://127.0.0.1:${gatePort}`;
  await waitFor("wrangler dev to serve promgate", async () => ((await fetch(`${gate}/-/ready`)).ok ? true : undefined), 120_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${wrangler?.output()}`);
  });
  if (NODE_EXPORTER) exporter = start(NODE_EXPORTER, [`--web.listen-address=127.0.0.1:${exporterPort}`, "--no-collector.hwmon", "--no-collector.thermal_zone"]);
  const auth = "    basic_auth:\n      username: dev\n      password: promgate-dev\n    queue_config:\n      batch_send_deadline: 1s\n      max_shards: 4\n";
  writeFileSync(
    join(dir, "prometheus.yml"),
    `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    scrape_native_histograms: true
    scrape_protocols: [PrometheusProto, OpenMetricsText1.0.0, PrometheusText0.0.4]
    static_configs:
      - targets: ["127.0.0.1:${promPort}"]
${NODE_EXPORTER ? `  - job_name: node\n    static_configs:\n      - targets: ["127.0.0.1:${exporterPort}"]\n` : ""}remote_write:
  - url: ${gate}/metrics/nh/${run}_v2/api/v1/write
    protobuf_message: io.prometheus.write.v2.Request
    send_native_histograms: true
    send_exemplars: true
${auth}  - url: ${gate}/metrics/nh/${run}_v1/api/v1/write
    send_native_histograms: true
    send_exemplars: true
${auth}`,
  );
  promUrl = `http://127.0.0.1:${promPort}`;
  prometheus = start(PROMETHEUS, [
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    "--enable-feature=exemplar-storage",
  ]);
  await waitFor("Prometheus 3.16 to be ready", async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined), 60_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${prometheus?.output()}`);
  });
});

afterAll(async () => {
  await reader?.stop();
  await prometheus?.stop();
  await exporter?.stop();
  await wrangler?.stop();
});

/** Samples per metric name in Elasticsearch up to the cut-off (stale markers are not samples), floats and histograms apart. */
async function esCounts(stream: string): Promise<{ floats: Map<string, number>; histograms: Map<string, number> }> {
  await es("POST", `/${stream}/_refresh`);
  const r = await es<{ aggregations: { n: { buckets: { key: string; doc_count: number; h: { doc_count: number } }[] } } }>("POST", `/${stream}/_search`, {
    size: 0,
    query: { bool: { filter: [{ range: { "@timestamp": { lte: cutoff * 1000 } } }], must_not: [{ term: { "promgate.special": "stale" } }] } },
    aggs: { n: { terms: { field: "labels.__name__", size: 10_000 }, aggs: { h: { filter: { exists: { field: "promgate.histogram" } } } } } },
  });
  const floats = new Map<string, number>();
  const histograms = new Map<string, number>();
  for (const b of r.json.aggregations.n.buckets) {
    if (b.doc_count - b.h.doc_count > 0) floats.set(b.key, b.doc_count - b.h.doc_count);
    if (b.h.doc_count > 0) histograms.set(b.key, b.h.doc_count);
  }
  return { floats, histograms };
}

/** The same from Prometheus' TSDB: every raw sample of every series up to the cut-off (stale markers are not returned). */
async function promCounts(): Promise<{ floats: Map<string, number>; histograms: Map<string, number> }> {
  const url = `${promUrl}/api/v1/query?query=${encodeURIComponent('{__name__=~".+"}[15m]')}&time=${cutoff}`;
  type Raw = { data: { result: { metric: Record<string, string>; values?: unknown[]; histograms?: unknown[] }[] } };
  const raw = (await (await fetch(url)).json()) as Raw;
  const floats = new Map<string, number>();
  const histograms = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, n: number | undefined) => n && m.set(k, (m.get(k) ?? 0) + n);
  for (const r of raw.data.result) {
    add(floats, r.metric.__name__!, r.values?.length);
    add(histograms, r.metric.__name__!, r.histograms?.length);
  }
  return { floats, histograms };
}

describe("Prometheus 3.16 → remote write 2.0 and 1.0 with native histograms → promgate (workerd) → Elasticsearch", () => {
  it("stores every float and histogram sample exactly once per metric, with no failed sends, on both protocols", async () => {
    await waitFor("a few scrapes", async () => ((await sum("count_over_time(up[5m])")) >= 20 ? true : undefined), 90_000);
    cutoff = Math.floor(Date.now() / 1000) - 1;
    await waitFor(
      "both remote_write queues to send everything up to the cut-off",
      async () => {
        const r = await promApi(promUrl, "prometheus_remote_storage_queue_highest_sent_timestamp_seconds", Date.now() / 1000);
        return r.result.length === 2 && r.result.every((x) => Number(x.value![1]) > cutoff + 1) ? true : undefined;
      },
      180_000,
    );
    for (const failed of ["samples", "histograms", "exemplars", "metadata"]) {
      expect(await sum(`sum(prometheus_remote_storage_${failed}_failed_total) or vector(0)`), failed).toBe(0);
    }
    const expected = await promCounts();
    expect(expected.histograms.size, "Prometheus scraped native histograms").toBeGreaterThan(0);
    for (const stream of [streams.v2, streams.v1]) {
      const got = await esCounts(stream);
      expect(Object.fromEntries(got.histograms), stream).toEqual(Object.fromEntries(expected.histograms));
      expect(Object.fromEntries(got.floats), stream).toEqual(Object.fromEntries(expected.floats));
    }
  });

  it("histogram queries through promgate equal Prometheus 3.16's on the same data", async () => {
    expect(cutoff).toBeGreaterThan(0);
    const name = "prometheus_http_request_duration_seconds";
    const auth = `Basic ${Buffer.from("dev:promgate-dev").toString("base64")}`;
    for (const q of [
      `histogram_quantile(0.9, rate(${name}[1m]))`,
      `histogram_count(${name})`,
      `histogram_sum(rate(${name}[1m]))`,
      `sum by (handler) (rate(${name}[1m]))`,
      `histogram_fraction(0, 0.1, sum(rate(${name}[1m])))`,
    ]) {
      const theirs = await promApi(promUrl, q, cutoff);
      expect(theirs.result.length, q).toBeGreaterThan(0);
      for (const stream of ["v2", "v1"] as const) {
        const ours = await promApi(`${gate}/metrics/nh/${run}_${stream}`, q, cutoff, auth);
        expect(ours.result.length, `${q} (${stream})`).toBe(theirs.result.length);
        expect(ours, `${q} (${stream})`).toEqual(alignedAnswer(ours, theirs));
      }
    }
  });

  it("a second Prometheus reading promgate through remote_read answers native-histogram queries like the first", async () => {
    expect(cutoff).toBeGreaterThan(0);
    const port = await freePort();
    writeFileSync(
      join(workDir, "reader.yml"),
      `remote_read:\n  - url: ${gate}/metrics/nh/${run}_v2/api/v1/read\n    read_recent: true\n    basic_auth:\n      username: dev\n      password: promgate-dev\n`,
    );
    const url = `http://127.0.0.1:${port}`;
    reader = start(PROMETHEUS, [`--config.file=${join(workDir, "reader.yml")}`, `--storage.tsdb.path=${join(workDir, "reader-data")}`, `--web.listen-address=127.0.0.1:${port}`]);
    await waitFor("the reading Prometheus", async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), 60_000);
    const name = "prometheus_http_request_duration_seconds";
    for (const q of [`histogram_count(${name})`, `histogram_quantile(0.5, rate(${name}[1m]))`, `${name}`]) {
      const theirs = await promApi(promUrl, q, cutoff);
      expect(theirs.result.length, q).toBeGreaterThan(0);
      const viaRead = await promApi(url, q, cutoff);
      expect(viaRead.result.length, q).toBe(theirs.result.length);
      expect(viaRead, q).toEqual(alignedAnswer(viaRead, theirs));
    }
  });
});

/** `theirs` reordered like `ours` (series order is not part of the answer), to compare whole answers. */
function alignTo<T extends { metric: Record<string, string> }>(ours: T[], theirs: T[], key: (r: T) => string): T[] {
  const byKey = new Map(theirs.map((r) => [key(r), r]));
  return ours.map((r) => byKey.get(key(r)) ?? r);
}

function alignedAnswer(ours: PromAnswer["data"], theirs: PromAnswer["data"]): PromAnswer["data"] {
  const key = (r: { metric: Record<string, string> }) => JSON.stringify(Object.entries(r.metric).sort());
  return { ...theirs, result: alignTo(ours.result, theirs.result, key) };
}
