import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NativeHistogram, ResetHint } from "../../src/model/histogram.js";
import { gateEnv, uniquePart } from "../helpers/es.js";
import { launchPromgate } from "../helpers/launch.js";
import { PRW1_HEADERS } from "../helpers/config.js";
import { type SeriesSpec, writeBody } from "../helpers/payload.js";
import { freePort, type Running, start, waitFor } from "../helpers/processes.js";

/**
 * Native histograms through remote_read with Prometheus itself as the reader: the same remote_write body goes
 * to a Prometheus 3 (its own TSDB, remote-write receiver on) and to promgate; a second Prometheus 3 whose only
 * storage is promgate's remote_read (STREAMED_XOR_CHUNKS, decoded by Prometheus' own chunk code) must answer
 * every query exactly as the first does from its TSDB: raw histograms, rates, quantiles, resets, staleness.
 */

const ROOT = resolve(import.meta.dirname, "../..");
const PROMETHEUS3 = process.env.PROMETHEUS3_BIN ?? resolve(ROOT, ".cache/prometheus3/v0.305.0/prometheus");
const namespace = uniquePart("rrh");

let gate: Running | undefined;
let local: Running | undefined;
let reader: Running | undefined;
let localUrl = "";
let readerUrl = "";

const STEP = 15_000;
// Well inside the TSDB's accepted window, on a whole second.
const T0 = Math.floor((Date.now() - 40 * 60_000) / 1000) * 1000;

const exp = (count: number, extra: Partial<NativeHistogram> = {}): NativeHistogram => ({
  float: false,
  schema: 1,
  zeroThreshold: 2 ** -128,
  zeroCount: 2,
  count,
  sum: count * 0.3,
  positiveSpans: [{ offset: -2, length: 3 }],
  positiveBuckets: [1, count - 5, 2],
  negativeSpans: [{ offset: 0, length: 1 }],
  negativeBuckets: [0],
  resetHint: ResetHint.Unknown,
  customValues: [],
  ...extra,
});

// 150 scrapes of a counter histogram: a bucket appears at 50, the counter resets at 100, a gap, a stale marker.
const latency: [number, NativeHistogram | "stale"][] = [];
for (let i = 0; i < 150; i++) {
  if (i >= 120 && i < 125) continue;
  const n = i < 100 ? 10 + 3 * i : 6 + (i - 100);
  latency.push([T0 + i * STEP, i < 50 ? exp(n) : exp(n + 1, { positiveSpans: [{ offset: -2, length: 3 }, { offset: 2, length: 1 }], positiveBuckets: [1, n - 5, 2, 1] })]);
}
latency.push([T0 + 150 * STEP, "stale"]);

const fill: [number, NativeHistogram][] = Array.from({ length: 60 }, (_, i) => [
  T0 + i * STEP,
  { ...exp(0), float: true, schema: 0, count: 4 + (i % 7) * 0.5, zeroCount: 0.5, positiveSpans: [{ offset: i % 3, length: 2 }], positiveBuckets: [1.5, 2 + (i % 7) * 0.5], negativeSpans: [], negativeBuckets: [], resetHint: ResetHint.Gauge },
]);

const nhcb: [number, NativeHistogram][] = Array.from({ length: 60 }, (_, i) => [
  T0 + i * STEP,
  { ...exp(0), schema: -53, zeroThreshold: 0, zeroCount: 0, count: 6 + 3 * i, sum: 2 * i, positiveSpans: [{ offset: 0, length: 3 }], positiveBuckets: [1 + i, 2 + i, 3 + i], negativeSpans: [], negativeBuckets: [], customValues: [0.1, 0.5] },
]);

const SERIES: SeriesSpec[] = [
  { labels: { __name__: "rrh_latency_seconds", job: "api", instance: "a" }, samples: [], histograms: latency },
  { labels: { __name__: "rrh_latency_seconds", job: "api", instance: "b" }, samples: [], histograms: latency.filter(([, h]) => h !== "stale").slice(0, 80) },
  { labels: { __name__: "rrh_fill_ratio", job: "api" }, samples: [], histograms: fill },
  { labels: { __name__: "rrh_nhcb_seconds", job: "api" }, samples: [], histograms: nhcb },
];

async function serve(name: string, args: string[]): Promise<{ server: Running; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = start(PROMETHEUS3, [...args, `--web.listen-address=127.0.0.1:${port}`]);
  await waitFor(`the ${name} Prometheus`, async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), 60_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${server.output()}`);
  });
  return { server, url };
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "promgate-rrh-"));
  const gatePort = await freePort();
  gate = launchPromgate("node", gatePort, { ...process.env, ...gateEnv(), PROMGATE_TENANTS: JSON.stringify({ dev: { password: "promgate-dev", streams: ["metrics-rrh.prometheus-*"] } }) });
  const gateUrl = `http://127.0.0.1:${gatePort}`;
  await waitFor("promgate", async () => ((await fetch(`${gateUrl}/-/ready`)).ok ? true : undefined), 60_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${gate?.output()}`);
  });

  writeFileSync(join(dir, "empty.yml"), "global:\n  scrape_interval: 1h\n");
  writeFileSync(
    join(dir, "reader.yml"),
    `remote_read:
  - url: ${gateUrl}/metrics/rrh/${namespace}/api/v1/read
    read_recent: true
    basic_auth:
      username: dev
      password: promgate-dev
`,
  );
  const common = ["--enable-feature=native-histograms"];
  const l = await serve("local", [...common, `--config.file=${join(dir, "empty.yml")}`, `--storage.tsdb.path=${join(dir, "local")}`, "--web.enable-remote-write-receiver"]);
  local = l.server;
  localUrl = l.url;
  const r = await serve("reader", [...common, `--config.file=${join(dir, "reader.yml")}`, `--storage.tsdb.path=${join(dir, "reader")}`]);
  reader = r.server;
  readerUrl = r.url;

  const body = writeBody(SERIES);
  for (const url of [`${localUrl}/api/v1/write`, `${gateUrl}/metrics/rrh/${namespace}/api/v1/write`]) {
    const res = await fetch(url, { method: "POST", body, headers: { ...PRW1_HEADERS, authorization: `Basic ${btoa("dev:promgate-dev")}` } });
    expect(res.status, `${url}: ${await res.clone().text()}`).toBe(204);
  }
  // Written documents become searchable at Elasticsearch's next refresh.
  const lastWritten = String((T0 + 149 * STEP) / 1000);
  await waitFor("promgate's samples to be searchable", async () => ((await answer(readerUrl, "query", { query: "count(rrh_latency_seconds)", time: lastWritten })).length > 0 ? true : undefined), 30_000);
}, 180_000);

afterAll(async () => {
  await reader?.stop();
  await local?.stop();
  await gate?.stop();
});

async function answer(base: string, path: string, params: Record<string, string>): Promise<string[]> {
  const res = await fetch(`${base}/api/v1/${path}?${new URLSearchParams(params)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: unknown[] } };
  if (body.status !== "success") throw new Error(`${base} ${path} ${JSON.stringify(params)}: ${body.error}`);
  return body.data.result.map((r) => JSON.stringify(r)).sort();
}

/** Where two answers part (answers run to megabytes: a full diff would drown the reason). */
function divergence(ours: string[], theirs: string[]): string | undefined {
  if (ours.length !== theirs.length) return `${ours.length} series, Prometheus ${theirs.length}`;
  for (let i = 0; i < ours.length; i++) {
    const a = ours[i]!;
    const b = theirs[i]!;
    if (a === b) continue;
    let k = 0;
    while (a[k] === b[k]) k++;
    return `series ${i} differs at character ${k}:\n  promgate reader: …${a.slice(Math.max(0, k - 200), k + 200)}\n  Prometheus:      …${b.slice(Math.max(0, k - 200), k + 200)}`;
  }
  return undefined;
}

const QUERIES = [
  "rrh_latency_seconds",
  "rrh_latency_seconds[3m]",
  "rate(rrh_latency_seconds[2m])",
  "increase(rrh_latency_seconds[5m])",
  "histogram_count(rate(rrh_latency_seconds[2m]))",
  "histogram_sum(rrh_latency_seconds)",
  "histogram_quantile(0.9, rate(rrh_latency_seconds[2m]))",
  "histogram_quantile(0.5, sum(rate(rrh_latency_seconds[2m])))",
  "histogram_fraction(0, 1, rrh_latency_seconds)",
  "resets(rrh_latency_seconds[10m])",
  "rrh_fill_ratio",
  "rrh_fill_ratio[2m]",
  "histogram_avg(rrh_fill_ratio)",
  "deriv(histogram_count(rrh_fill_ratio)[5m:15s])",
  "rrh_nhcb_seconds",
  "histogram_quantile(0.75, rate(rrh_nhcb_seconds[2m]))",
  "histogram_stddev(rrh_nhcb_seconds)",
];

describe("Prometheus 3 reading native histograms from promgate through remote_read", () => {
  it("answers instant queries exactly as the Prometheus that holds the same samples in its TSDB", async () => {
    // Times: inside the first chunk, after the new bucket, after the reset, in the gap, after the marker.
    for (const at of [20, 60, 110, 122, 149, 152, 160]) {
      const time = String((T0 + at * STEP) / 1000);
      for (const query of QUERIES) {
        const theirs = await answer(localUrl, "query", { query, time });
        expect(divergence(await answer(readerUrl, "query", { query, time }), theirs), `${query} @ step ${at}`).toBeUndefined();
      }
    }
    expect(await answer(localUrl, "query", { query: "rrh_latency_seconds", time: String((T0 + 60 * STEP) / 1000) })).toHaveLength(2);
  });

  it("answers range queries exactly as well", async () => {
    const params = { start: String(T0 / 1000 - 60), end: String((T0 + 160 * STEP) / 1000), step: "7" };
    for (const query of QUERIES.filter((q) => !q.endsWith("]"))) {
      const theirs = await answer(localUrl, "query_range", { query, ...params });
      expect(theirs.length, query).toBeGreaterThan(0);
      expect(divergence(await answer(readerUrl, "query_range", { query, ...params }), theirs), query).toBeUndefined();
    }
  });
});
