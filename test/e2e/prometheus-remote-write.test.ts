import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReadRequest_ResponseType, ReadRequestSchema } from "../../src/gen/prometheus/remote_pb.js";
import { LabelMatcher_Type } from "../../src/gen/prometheus/types_pb.js";
import { decodeFrames, samplesBySeries } from "../helpers/chunks.js";
import { snappy } from "../helpers/payload.js";
import { countDocs, gateEnv, uniquePart } from "../helpers/es.js";
import { launchPromgate } from "../helpers/launch.js";
import { freePort, type Running, start, waitFor } from "../helpers/processes.js";

/**
 * The whole path with real parts: Debian's Prometheus 2.42 scrapes itself every second and remote_writes
 * (PRW 1.0) to promgate running in workerd under `wrangler dev`, which writes to the real Elasticsearch.
 * Then what Prometheus holds locally must equal what landed in Elasticsearch, sample for sample.
 */

const ROOT = resolve(import.meta.dirname, "../..");
const PROMETHEUS = process.env.PROMETHEUS_BIN ?? "/usr/bin/prometheus";
const PROMETHEUS3 = process.env.PROMETHEUS3_BIN ?? resolve(ROOT, ".cache/prometheus3/v0.305.0/prometheus");
const namespace = uniquePart("e2e");
const stream = `metrics-e2e.prometheus-${namespace}`;

let wrangler: Running | undefined;
let prometheus: Running | undefined;
let reader: Running | undefined;
let promUrl = "";
let gate = "";
let workDir = "";
/** Set by the first test: everything up to here (seconds) has been sent and stored. */
let cutoff = 0;

interface PromAnswer {
  status: string;
  error?: string;
  data: { result: { value?: [number, string]; values?: [number, string][] }[] };
}

async function promApi(query: string, time: number, base = promUrl): Promise<PromAnswer["data"]["result"]> {
  const url = `${base}/api/v1/query?query=${encodeURIComponent(query)}&time=${time}`;
  const body = (await (await fetch(url)).json()) as PromAnswer;
  if (body.status !== "success") throw new Error(`Prometheus: ${body.error}`);
  return body.data.result;
}

/** Sum of an instant vector's values. */
async function promQuery(query: string, time: number): Promise<number> {
  return (await promApi(query, time)).reduce((n, r) => n + Number(r.value![1]), 0);
}

/** Number of raw samples a range selector returns (every series, every point). */
async function promSamples(selector: string, time: number): Promise<number> {
  return (await promApi(selector, time)).reduce((n, r) => n + r.values!.length, 0);
}

beforeAll(async () => {
  const dir = (workDir = mkdtempSync(join(tmpdir(), "promgate-e2e-")));
  const [gatePort, promPort] = [await freePort(), await freePort()];

  wrangler = launchPromgate("workerd", gatePort, {
    ...process.env,
    ...gateEnv(),
    // The tenant's own namespace is this run's (it reads and writes metrics-*.prometheus-{namespace} only).
    PROMGATE_TENANTS: JSON.stringify({ dev: { password: "promgate-dev", namespace } }),
  });
  gate = `http://127.0.0.1:${gatePort}`;
  await waitFor("wrangler dev to serve promgate", async () => ((await fetch(`${gate}/-/ready`)).ok ? true : undefined), 120_000).catch(
    (e: Error) => {
      throw new Error(`${e.message}\n${wrangler?.output()}`);
    },
  );

  writeFileSync(
    join(dir, "prometheus.yml"),
    `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:${promPort}"]
remote_write:
  - url: ${gate}/metrics/e2e/${namespace}/api/v1/write
    basic_auth:
      username: dev
      password: promgate-dev
    queue_config:
      batch_send_deadline: 1s
      max_shards: 2
    metadata_config:
      send_interval: 2s
`,
  );
  promUrl = `http://127.0.0.1:${promPort}`;
  prometheus = start(PROMETHEUS, [
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "prometheus-data")}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
  ]);
  await waitFor("Prometheus to be ready", async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined), 60_000).catch(
    (e: Error) => {
      throw new Error(`${e.message}\n${prometheus?.output()}`);
    },
  );
});

afterAll(async () => {
  await reader?.stop();
  await prometheus?.stop();
  await wrangler?.stop();
});

describe("Prometheus 2.42 → promgate (workerd) → Elasticsearch", () => {
  it("stores every sample Prometheus scraped, exactly once, with no failed sends", async () => {
    // Let Prometheus scrape for a while, then fix a cut-off time and wait until it has sent everything up to it.
    await waitFor("a few scrapes", async () => ((await promQuery("count_over_time(up[5m])", Date.now() / 1000)) >= 10 ? true : undefined), 60_000);
    cutoff = Math.floor(Date.now() / 1000) - 1;
    await waitFor(
      "remote_write to send everything up to the cut-off",
      async () => ((await promQuery("prometheus_remote_storage_queue_highest_sent_timestamp_seconds", Date.now() / 1000)) > cutoff + 1 ? true : undefined),
      60_000,
    );
    expect(await promQuery("prometheus_remote_storage_samples_failed_total", Date.now() / 1000)).toBe(0);
    expect(await promQuery("prometheus_remote_storage_samples_total", Date.now() / 1000)).toBeGreaterThan(0);

    const upto = { range: { "@timestamp": { lte: cutoff * 1000 } } };
    const notStale = { bool: { must_not: { term: { "promgate.special": "stale" } } } };
    const esCount = (name: unknown) => countDocs(stream, { bool: { filter: [name, upto, notStale] } });

    const promUp = await promSamples("up[10m]", cutoff);
    expect(promUp).toBeGreaterThanOrEqual(5);
    expect(await esCount({ term: { "labels.__name__": "up" } })).toBe(promUp);

    const promSelf = await promSamples('{__name__=~"prometheus_.+"}[10m]', cutoff);
    expect(promSelf).toBeGreaterThan(1000);
    expect(await esCount({ prefix: { "labels.__name__": "prometheus_" } })).toBe(promSelf);

    const promAll = await promSamples('{__name__=~".+"}[10m]', cutoff);
    expect(await esCount({ match_all: {} })).toBe(promAll);
  });

  it("keeps the metric metadata Prometheus sends", async () => {
    const n = await waitFor(
      "metadata",
      async () => {
        const c = await countDocs("promgate-metadata", { term: { data_stream: stream } });
        return c > 50 ? c : undefined;
      },
      60_000,
      1000,
    );
    expect(n).toBeGreaterThan(50);
    expect(await countDocs("promgate-metadata", { bool: { filter: [{ term: { data_stream: stream } }, { term: { metric_family_name: "prometheus_http_requests_total" } }, { term: { type: "counter" } }] } })).toBe(1);
  });
});

/** Starts a Prometheus (`bin`) whose only storage is promgate, through remote_read; returns it and its URL. */
async function startReader(bin: string, name: string): Promise<{ server: Running; url: string }> {
  expect(cutoff).toBeGreaterThan(0); // the write test ran first and stored everything up to the cut-off
  const port = await freePort();
  writeFileSync(
    join(workDir, `${name}.yml`),
    `remote_read:
  - url: ${gate}/metrics/e2e/${namespace}/api/v1/read
    read_recent: true
    basic_auth:
      username: dev
      password: promgate-dev
`,
  );
  const url = `http://127.0.0.1:${port}`;
  const server = start(bin, [`--config.file=${join(workDir, `${name}.yml`)}`, `--storage.tsdb.path=${join(workDir, `${name}-data`)}`, `--web.listen-address=127.0.0.1:${port}`]);
  await waitFor(`the ${name} Prometheus`, async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), 60_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${server.output()}`);
  });
  return { server, url };
}

describe("promtool against promgate's HTTP API", () => {
  it("lists the same series and label values as against the scraping Prometheus", () => {
    const promtool = join(PROMETHEUS, "..", "promtool");
    const gateWithAuth = gate.replace("http://", "http://dev:promgate-dev@") + `/metrics/e2e/${namespace}`;
    const run = (...args: string[]) => execFileSync(promtool, ["query", ...args], { encoding: "utf8" }).split("\n").filter(Boolean).sort();
    const end = String(cutoff);
    for (const match of ["up", 'prometheus_http_requests_total{code="200"}']) {
      const theirs = run("series", `--match=${match}`, `--end=${end}`, promUrl);
      expect(theirs.length, match).toBeGreaterThan(0);
      expect(run("series", `--match=${match}`, `--end=${end}`, gateWithAuth), match).toEqual(theirs);
    }
    expect(run("labels", gateWithAuth, "job")).toEqual(run("labels", promUrl, "job"));
  });
});

describe("a second Prometheus reading promgate through remote_read", () => {
  let readerUrl = "";

  beforeAll(async () => {
    const r = await startReader(PROMETHEUS, "reader");
    reader = r.server;
    readerUrl = r.url;
  });

  it("answers instant queries with the values the scraping Prometheus has locally", async () => {
    for (const query of ["up", "prometheus_http_requests_total", "count_over_time(prometheus_tsdb_head_series[1m])", "sum(rate(prometheus_http_requests_total[30s]))"]) {
      const local = await promApi(query, cutoff);
      const remote = await promApi(query, cutoff, readerUrl);
      expect(remote.length, query).toBeGreaterThan(0);
      const norm = (r: PromAnswer["data"]["result"]) => r.map((x) => JSON.stringify(x)).sort();
      expect(norm(remote), query).toEqual(norm(local));
    }
  });

  it("answers range queries (promtool's query range) with the same series and points", async () => {
    const range = async (base: string, query: string) => {
      const u = `${base}/api/v1/query_range?query=${encodeURIComponent(query)}&start=${cutoff - 20}&end=${cutoff}&step=1`;
      const body = (await (await fetch(u)).json()) as { data: { result: unknown[] } };
      return body.data.result.map((x) => JSON.stringify(x)).sort();
    };
    for (const query of ["up", "prometheus_tsdb_head_samples_appended_total", "rate(prometheus_http_requests_total[10s])"]) {
      const local = await range(promUrl, query);
      expect(local.length, query).toBeGreaterThan(0);
      expect(await range(readerUrl, query), query).toEqual(local);
    }
  });

  it("serves STREAMED_XOR_CHUNKS that decode to exactly what Prometheus' own remote_read serves", async () => {
    const startMs = (cutoff - 60) * 1000;
    const body = snappy(
      toBinary(
        ReadRequestSchema,
        create(ReadRequestSchema, {
          queries: [
            {
              startTimestampMs: BigInt(startMs),
              endTimestampMs: BigInt(cutoff * 1000),
              matchers: [{ type: LabelMatcher_Type.RE, name: "__name__", value: "up|prometheus_http_requests_total|prometheus_tsdb_head_.*" }],
            },
          ],
          acceptedResponseTypes: [ReadRequest_ResponseType.STREAMED_XOR_CHUNKS],
        }),
      ),
    );
    const read = async (url: string, auth?: string) => {
      const res = await fetch(url, {
        method: "POST",
        body,
        headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", ...(auth ? { authorization: auth } : {}) },
      });
      expect(res.headers.get("content-type")).toMatch(/^application\/x-streamed-protobuf; ?proto=prometheus.ChunkedReadResponse/);
      // Prometheus' chunks cover whole head chunks (possibly past the range): compare inside the range only.
      const series = samplesBySeries(decodeFrames(new Uint8Array(await res.arrayBuffer())));
      return new Map([...series].map(([k, v]) => [k, v.filter((s) => s.t >= startMs && s.t <= cutoff * 1000)]));
    };
    const theirs = await read(`${promUrl}/api/v1/read`);
    const ours = await read(`${gate}/metrics/e2e/${namespace}/api/v1/read`, `Basic ${btoa("dev:promgate-dev")}`);
    expect(theirs.size).toBeGreaterThan(10);
    // Prometheus adds its external labels to nothing here (none configured): the label sets match as stored.
    expect(ours).toEqual(theirs);
  });
});

describe("PromQL: promgate answers like Prometheus 3 on the same data", () => {
  // The reference is Prometheus 3.x (scripts/prometheus3.sh) reading promgate through remote_read: the same
  // samples, Prometheus' own engine. (Debian's 2.42 is no reference here: its rate() extrapolation and
  // closed range boundaries differ from 3.x.)
  let refUrl = "";
  let ref: Running | undefined;

  beforeAll(async () => {
    const r = await startReader(PROMETHEUS3, "reference");
    ref = r.server;
    refUrl = r.url;
  });
  afterAll(async () => ref?.stop());

  const QUERIES = [
    "up",
    "prometheus_http_requests_total",
    "rate(prometheus_http_requests_total[10s])",
    "irate(prometheus_http_requests_total[10s])",
    "increase(prometheus_http_requests_total[30s])",
    "delta(prometheus_tsdb_head_series[10s])",
    "sum by (handler) (rate(prometheus_http_requests_total[10s]))",
    "sum(up)",
    "count by (code) (prometheus_http_requests_total)",
    "topk(3, prometheus_http_requests_total)",
    "bottomk(2, prometheus_http_requests_total)",
    "quantile(0.5, prometheus_http_requests_total)",
    "avg_over_time(prometheus_tsdb_head_series[10s])",
    "max_over_time(process_resident_memory_bytes[15s])",
    "min_over_time(process_resident_memory_bytes[15s])",
    "stddev_over_time(process_resident_memory_bytes[15s])",
    "changes(process_resident_memory_bytes[15s])",
    "deriv(process_cpu_seconds_total[15s])",
    "predict_linear(process_cpu_seconds_total[15s], 60)",
    "histogram_quantile(0.9, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[30s])))",
    'label_replace(up, "host", "$1", "instance", "(.*):.*")',
    "up == 1",
    "up > bool 0",
    "prometheus_http_requests_total / on(handler, code, instance, job) prometheus_http_requests_total",
    "sum(rate(prometheus_http_requests_total[10s])) / count(up)",
    "prometheus_http_requests_total and on(handler) prometheus_http_requests_total{handler=~\"/api.*\"}",
    "go_goroutines * on(instance) group_left(version) prometheus_build_info",
    "count_values(\"v\", up)",
    "absent(nonexistent_metric{job=\"x\"})",
    "timestamp(up)",
    "vector(1) + scalar(sum(up))",
    "time()",
    "abs(-go_goroutines) + clamp_max(go_goroutines, 10)",
    "sort_desc(sum by (handler) (prometheus_http_requests_total))",
    "max_over_time(rate(prometheus_http_requests_total[10s])[20s:3s])",
    "avg_over_time(go_goroutines[30s:5s] offset 2s)",
    "go_goroutines @ end()",
    "rate(prometheus_http_requests_total[10s] @ end())",
    "go_goroutines @ end() - go_goroutines offset 5s",
  ];
  const gateAuth = { authorization: `Basic ${btoa("dev:promgate-dev")}` };
  type Series = { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] };
  type Answer = { status: string; error?: string; data: { resultType: string; result: Series[] | [number, string] } };

  const close = (a: string, b: string) => {
    if (a === b) return true;
    const x = Number(a);
    const y = Number(b);
    return Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
  };
  const compare = (query: string, ours: Answer, theirs: Answer) => {
    expect(ours.status, `${query}: ${ours.error}`).toBe("success");
    expect(ours.data.resultType, query).toBe(theirs.data.resultType);
    if (!Array.isArray(theirs.data.result[0]) && typeof theirs.data.result[0] !== "number") {
      const key = (s: Series) => JSON.stringify(Object.entries(s.metric).sort());
      const mine = new Map((ours.data.result as Series[]).map((s) => [key(s), s]));
      const ref = theirs.data.result as Series[];
      expect(ref.length, `${query}: the reference answered nothing, the comparison would prove nothing`).toBeGreaterThan(0);
      expect([...mine.keys()].sort(), query).toEqual(ref.map(key).sort());
      for (const s of ref) {
        const o = mine.get(key(s))!;
        const points = s.values ?? [s.value!];
        const opoints = o.values ?? [o.value!];
        expect(opoints.map((p) => p[0]), query).toEqual(points.map((p) => p[0]));
        points.forEach((p, i) => expect(close(opoints[i]![1], p[1]), `${query} ${key(s)} at ${p[0]}: ${opoints[i]![1]} vs ${p[1]}`).toBe(true));
      }
    } else {
      const [t, v] = theirs.data.result as [number, string];
      const [ot, ov] = ours.data.result as [number, string];
      expect(ot).toBe(t);
      expect(close(ov, v), query).toBe(true);
    }
  };

  it("instant queries", async () => {
    for (const query of QUERIES) {
      const qs = `query=${encodeURIComponent(query)}&time=${cutoff}`;
      const theirs = (await (await fetch(`${refUrl}/api/v1/query?${qs}`)).json()) as Answer;
      expect(theirs.status, query).toBe("success");
      const ours = (await (await fetch(`${gate}/metrics/e2e/${namespace}/api/v1/query?${qs}`, { headers: gateAuth })).json()) as Answer;
      compare(query, ours, theirs);
    }
  });

  it("range queries (form POST, as Grafana sends them)", async () => {
    for (const query of QUERIES) {
      const form = new URLSearchParams({ query, start: String(cutoff - 20), end: String(cutoff), step: "2" });
      const theirs = (await (await fetch(`${refUrl}/api/v1/query_range`, { method: "POST", body: form })).json()) as Answer;
      expect(theirs.status, query).toBe("success");
      const ours = (await (await fetch(`${gate}/metrics/e2e/${namespace}/api/v1/query_range`, { method: "POST", body: form, headers: gateAuth })).json()) as Answer;
      compare(query, ours, theirs);
    }
  });
});
