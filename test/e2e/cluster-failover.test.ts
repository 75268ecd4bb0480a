import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchPromgate } from "../helpers/launch.js";
import { freePort, type Running, start, waitFor } from "../helpers/processes.js";

/**
 * promgate in front of a 3-node Elasticsearch cluster (scripts/elasticsearch.sh, ES_NODES=3; metrics with one
 * replica), ES_URL naming all three nodes. Debian's Prometheus 2.42 scrapes itself every second and
 * remote_writes through promgate; one node is killed (SIGKILL, by PID) mid-run and started again later.
 * Afterwards Elasticsearch must hold exactly the samples of Prometheus' own TSDB, and every query answered
 * during the outage must be complete (equal to Prometheus' answer) or a 503, never a partial result.
 */

const ROOT = resolve(import.meta.dirname, "../..");
const SCRIPT = join(ROOT, "scripts/elasticsearch.sh");
const PROMETHEUS = process.env.PROMETHEUS_BIN ?? "/usr/bin/prometheus";
const ADMIN = { user: "elastic", password: process.env.ES_PASSWORD ?? "promgate-dev" };
const namespace = `fo${Date.now().toString(36)}`;
const stream = `metrics-failover.prometheus-${namespace}`;
const TENANT = { user: "fo", password: "failover-password" };

let esPort = "";
let esUrls: string[] = [];
let gate: Running | undefined;
let prometheus: Running | undefined;
let gateUrl = "";
let promUrl = "";

function script(args: string[], env: Record<string, string> = {}): string {
  return execFileSync("bash", [SCRIPT, ...args], {
    cwd: ROOT,
    env: { ...process.env, ES_PORT: esPort, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 420_000,
  });
}

async function esAdmin<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${esUrls[0]}${path}`, {
    method,
    headers: { authorization: `Basic ${btoa(`${ADMIN.user}:${ADMIN.password}`)}`, "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface Answer {
  status: string;
  data: { result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[] };
}

async function prom(path: string): Promise<Answer["data"]["result"]> {
  const body = (await (await fetch(`${promUrl}${path}`)).json()) as Answer;
  if (body.status !== "success") throw new Error(`Prometheus ${path}: ${JSON.stringify(body)}`);
  return body.data.result;
}

async function promValue(query: string): Promise<number> {
  return (await prom(`/api/v1/query?query=${encodeURIComponent(query)}`)).reduce((n, r) => n + Number(r.value![1]), 0);
}

/** Waits until Prometheus has sent (and promgate stored) every sample up to `t` (seconds). */
async function sentUpTo(t: number, timeoutMs: number): Promise<void> {
  await waitFor(
    `remote_write to send everything up to ${t}`,
    async () => ((await promValue("prometheus_remote_storage_queue_highest_sent_timestamp_seconds")) > t + 1 ? true : undefined),
    timeoutMs,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\npromgate:\n${gate?.output().slice(-3000)}\nPrometheus:\n${prometheus?.output().slice(-2000)}`);
  });
}

/** The same query against promgate and Prometheus: promgate's answer is Prometheus' or a 503, nothing else. */
async function compareDuringOutage(path: string): Promise<number> {
  const res = await fetch(`${gateUrl}/metrics/failover/${namespace}${path}`, {
    headers: { authorization: `Basic ${btoa(`${TENANT.user}:${TENANT.password}`)}` },
  });
  const text = await res.text();
  if (res.status === 503) return 503;
  expect(res.status, text).toBe(200);
  const ours = (JSON.parse(text) as Answer).data.result;
  const theirs = await prom(path);
  const key = (r: { metric: Record<string, string> }) => JSON.stringify(Object.entries(r.metric).sort());
  const sorted = (rs: Answer["data"]["result"]) => [...rs].sort((a, b) => (key(a) < key(b) ? -1 : 1));
  expect(sorted(ours), path).toEqual(sorted(theirs));
  return 200;
}

beforeAll(async () => {
  const out = script(["start"], { ES_NODES: "3", ES_HEAP: "512m", ES_PORT: "free" });
  const url = /^ES_URL=(.+)$/m.exec(out)?.[1];
  if (!url) throw new Error(`elasticsearch.sh printed no ES_URL:\n${out}`);
  esUrls = url.split(",");
  esPort = new URL(esUrls[0]!).port;
  expect(esUrls).toHaveLength(3);

  const setupEnv = { ES_URL: url, ES_USERNAME: ADMIN.user, ES_PASSWORD: ADMIN.password };
  execFileSync(process.execPath, [join(ROOT, "bin/promgate.js"), "setup", "--replicas", "1"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...setupEnv },
    stdio: "pipe",
  });
  // Three primaries (the documented `@custom` extension point): every node holds shards of the stream, so
  // the node killed below always takes primaries with it.
  const put = await fetch(`${esUrls[0]}/_component_template/promgate-metrics@custom`, {
    method: "PUT",
    headers: { authorization: `Basic ${btoa(`${ADMIN.user}:${ADMIN.password}`)}`, "content-type": "application/json" },
    body: JSON.stringify({ template: { settings: { index: { number_of_shards: 3 } } } }),
  });
  expect(put.status, await put.text()).toBe(200);
  const creds = Object.fromEntries(
    script(["env"])
      .split("\n")
      .filter((l) => l.startsWith("GATE_ES_"))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );

  const dir = mkdtempSync(join(tmpdir(), "promgate-failover-"));
  const [gatePort, promPort] = [await freePort(), await freePort()];
  gate = launchPromgate("node", gatePort, {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ES_URL: url,
    ES_USERNAME: creds.GATE_ES_USERNAME,
    ES_PASSWORD: creds.GATE_ES_PASSWORD,
    // Short enough that a node that stops answering costs one retry, not Prometheus' remote_timeout.
    ES_TIMEOUT_MS: "5000",
    PROMGATE_TENANTS: JSON.stringify({ [TENANT.user]: { password: TENANT.password, namespace, streams: [stream] } }),
  });
  gateUrl = `http://127.0.0.1:${gatePort}`;
  await waitFor("promgate", async () => ((await fetch(`${gateUrl}/-/ready`)).ok ? true : undefined), 60_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${gate?.output()}`);
  });

  writeFileSync(
    join(dir, "prometheus.yml"),
    `global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:${promPort}"]
remote_write:
  - url: ${gateUrl}/metrics/failover/${namespace}/api/v1/write
    basic_auth:
      username: ${TENANT.user}
      password: ${TENANT.password}
    queue_config:
      batch_send_deadline: 1s
      max_shards: 2
      min_backoff: 200ms
      max_backoff: 2s
`,
  );
  promUrl = `http://127.0.0.1:${promPort}`;
  prometheus = start(PROMETHEUS, [
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
  ]);
  await waitFor("Prometheus", async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined), 60_000);
}, 480_000);

afterAll(async () => {
  await prometheus?.stop();
  await gate?.stop();
  if (esPort) script(["stop"]);
}, 120_000);

describe("Prometheus → promgate → a 3-node Elasticsearch cluster losing a node", () => {
  it("stores exactly Prometheus' samples and never answers a query in part", async () => {
    const started = Date.now() / 1000;
    await waitFor("ten scrapes", async () => ((await promValue("count_over_time(up[5m])")) >= 10 ? true : undefined), 60_000);
    // Everything up to `before` is in Elasticsearch before the node goes: queries over it have one right answer.
    const before = Math.floor(Date.now() / 1000) - 1;
    await sentUpTo(before, 60_000);
    const from = Math.floor(started) - 5;
    const queries = [
      `/api/v1/query_range?query=up&start=${from}&end=${before}&step=1`,
      // Every raw sample of ~60 series up to `before`: series are spread over the shards by their labels, so a
      // shard missing shows as samples missing.
      `/api/v1/query?query=${encodeURIComponent(`{__name__=~"prometheus_tsdb_.+"}[${before - from}s]`)}&time=${before}`,
    ];
    for (const q of queries) expect(await compareDuringOutage(q)).toBe(200);

    // Three primaries and their replicas on three nodes: node 1 holds some of them.
    script(["stop-node", "1"], { ES_STOP_SIGNAL: "KILL" });
    const killedAt = Date.now();
    // 15 s down, and at least three rounds of both queries asked meanwhile (a busy machine answers slowly).
    const outageEnd = Date.now() + 15_000;
    const statuses: number[] = [];
    while (Date.now() < outageEnd || statuses.length < 6) {
      for (const q of queries) statuses.push(await compareDuringOutage(q));
      await new Promise((r) => setTimeout(r, 500));
    }
    const outageSeconds = (Date.now() - killedAt) / 1000;
    script(["start-node", "1"]);
    const restartSeconds = (Date.now() - killedAt) / 1000 - outageSeconds;

    const cutoff = Math.floor(Date.now() / 1000) - 1;
    await sentUpTo(cutoff, 60_000);
    expect(await promValue("prometheus_remote_storage_samples_failed_total")).toBe(0);
    expect(await promValue("prometheus_remote_storage_samples_dropped_total")).toBe(0);

    // Per metric name, samples in Prometheus' TSDB and documents in Elasticsearch over the same range
    // (staleness markers are not samples to Prometheus' range selectors).
    const range = cutoff - from;
    const promCounts = new Map<string, number>();
    for (const r of await prom(`/api/v1/query?query=${encodeURIComponent(`{__name__=~".+"}[${range}s]`)}&time=${cutoff}`)) {
      const name = r.metric.__name__!;
      promCounts.set(name, (promCounts.get(name) ?? 0) + r.values!.length);
    }
    await esAdmin("POST", `/${stream}/_refresh`);
    type Agg = { aggregations: { n: { buckets: { key: string; doc_count: number }[]; sum_other_doc_count: number } } };
    const es = await esAdmin<Agg>("POST", `/${stream}/_search`, {
      size: 0,
      query: {
        bool: {
          filter: [{ range: { "@timestamp": { gt: (cutoff - range) * 1000, lte: cutoff * 1000 } } }],
          must_not: [{ term: { "promgate.special": "stale" } }],
        },
      },
      aggs: { n: { terms: { field: "labels.__name__", size: 5000 } } },
    });
    expect(es.aggregations.n.sum_other_doc_count).toBe(0);
    const esCounts = new Map(es.aggregations.n.buckets.map((b) => [b.key, b.doc_count]));
    expect(promCounts.size).toBeGreaterThan(50);
    expect(Object.fromEntries(esCounts)).toEqual(Object.fromEntries(promCounts));
    const total = [...promCounts.values()].reduce((a, b) => a + b, 0);
    console.log(
      `failover: ${total} samples in ${promCounts.size} metrics equal; ${outageSeconds.toFixed(0)} s down, ${restartSeconds.toFixed(0)} s to rejoin; ` +
        `during the outage ${statuses.filter((s) => s === 200).length} complete answers, ${statuses.filter((s) => s === 503).length} × 503`,
    );
  });
});
