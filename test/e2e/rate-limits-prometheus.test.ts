import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countDocs, gateEnv, uniquePart } from "../helpers/es.js";
import { launchPromgate } from "../helpers/launch.js";
import { freePort, type Running, start, waitFor } from "../helpers/processes.js";

/**
 * A real Prometheus (Debian's 2.42) remote_writing to promgate (Node) through a tenant with tiny rates:
 * one request a second and 600 samples a second, against the ~400 samples a second Prometheus scrapes
 * from itself. Its sends collide with the limits (429 + Retry-After), it retries them
 * (`retry_on_http_429: true`), and every sample it holds up to a cut-off is in Elasticsearch, exactly once,
 * with none failed.
 */

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? "/usr/bin/prometheus";
const namespace = uniquePart("e2erl");
const stream = `metrics-ratelimited.prometheus-${namespace}`;
const RATE = 600;
const BURST = 1000;

let gate: Running | undefined;
let prometheus: Running | undefined;
let gateUrl = "";
let promUrl = "";

async function promApi(query: string, time = Date.now() / 1000): Promise<{ value?: [number, string]; values?: [number, string][] }[]> {
  const body = (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(query)}&time=${time}`)).json()) as {
    status: string;
    error?: string;
    data: { result: { value?: [number, string]; values?: [number, string][] }[] };
  };
  if (body.status !== "success") throw new Error(`Prometheus: ${body.error}`);
  return body.data.result;
}
const promQuery = async (query: string, time?: number) => (await promApi(query, time)).reduce((n, r) => n + Number(r.value![1]), 0);
const promSamples = async (selector: string, time: number) => (await promApi(selector, time)).reduce((n, r) => n + r.values!.length, 0);

/** promgate's own counters, as its admin tenant scrapes them. */
async function gateMetric(series: string): Promise<number> {
  const text = await (await fetch(`${gateUrl}/metrics`, { headers: { authorization: `Basic ${btoa("ops:ops-password")}` } })).text();
  return [...text.matchAll(new RegExp(`^${series.replace(/[{}]/g, "\\$&")}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))].reduce((n, m) => n + Number(m[1]), 0);
}

/** remote_write answers by status, from promgate's request counter. */
async function writeStatuses(): Promise<Record<string, number>> {
  const text = await (await fetch(`${gateUrl}/metrics`, { headers: { authorization: `Basic ${btoa("ops:ops-password")}` } })).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^promgate_http_requests_total\{route="\/metrics\/:dataset\/api\/v1\/write",method="POST",status="(\d+)"\} (\S+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "promgate-e2e-rl-"));
  const [gatePort, promPort] = [await freePort(), await freePort()];
  gate = launchPromgate("node", gatePort, {
    ...process.env,
    ...gateEnv(),
    PROMGATE_TENANTS: JSON.stringify({
      rl: { password: "rl-password", namespace, limits: { ingestionRate: RATE, ingestionBurst: BURST, requestRate: 1 } },
      ops: { password: "ops-password", admin: true, namespace: "e2erl_ops", streams: ["metrics-*.prometheus-e2erl_ops"] },
    }),
  });
  gateUrl = `http://127.0.0.1:${gatePort}`;
  await waitFor("promgate on Node", async () => ((await fetch(`${gateUrl}/-/ready`)).ok ? true : undefined), 60_000).catch((e: Error) => {
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
  - url: ${gateUrl}/metrics/ratelimited/api/v1/write
    basic_auth:
      username: rl
      password: rl-password
    queue_config:
      retry_on_http_429: true
      max_samples_per_send: ${BURST}
      batch_send_deadline: 1s
      max_shards: 4
    metadata_config:
      send_interval: 10s
`,
  );
  promUrl = `http://127.0.0.1:${promPort}`;
  prometheus = start(PROMETHEUS, [
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
  ]);
  await waitFor("Prometheus to be ready", async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined), 60_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${prometheus?.output()}`);
  });
});

afterAll(async () => {
  await prometheus?.stop();
  await gate?.stop();
});

describe("Prometheus 2.42 → promgate with tiny rate limits → Elasticsearch", () => {
  it("is slowed down with 429s, retries them, and loses no sample", async () => {
    // Run until promgate has refused a good number of requests, then fix a cut-off and let Prometheus catch up.
    await waitFor("rate-limited sends", async () => ((await gateMetric("promgate_rate_limited_total")) >= 10 ? true : undefined), 120_000, 1000);
    const cutoff = Math.floor(Date.now() / 1000) - 1;

    // Every sample Prometheus holds up to the cut-off reaches Elasticsearch, once. Shards lag each other by
    // their retries, so the newest sent timestamp says little about the others: wait for the counts to meet.
    const upto = { range: { "@timestamp": { lte: cutoff * 1000 } } };
    const notStale = { bool: { must_not: { term: { "promgate.special": "stale" } } } };
    const promAll = await promSamples('{__name__=~".+"}[10m]', cutoff);
    expect(promAll).toBeGreaterThan(5000);
    let stored = 0;
    await waitFor(
      "every sample up to the cut-off in Elasticsearch",
      async () => ((stored = await countDocs(stream, { bool: { filter: [upto, notStale] } })) === promAll ? true : undefined),
      120_000,
      2000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}: ${stored} of ${promAll}`);
    });

    const refusedRequests = await gateMetric('promgate_rate_limited_total{tenant="rl",limit="request_rate"}');
    const refusedSamples = await gateMetric('promgate_rate_limited_total{tenant="rl",limit="ingestion_rate"}');
    expect(refusedRequests + refusedSamples).toBeGreaterThanOrEqual(10);
    expect(await gateMetric('promgate_rate_limited_total{tenant="rl",limit="ingestion_burst"}')).toBe(0);
    // Prometheus retried, and gave nothing up.
    // Prometheus' own counters reach its TSDB by its next self-scrape: wait for the retries to show.
    let retried = 0;
    await waitFor("Prometheus counting its retries", async () => ((retried = await promQuery("prometheus_remote_storage_samples_retried_total")) > 0 ? true : undefined), 30_000, 1000).catch(async (e: Error) => {
      throw new Error(`${e.message}; promgate answered ${JSON.stringify(await writeStatuses())}`);
    });
    expect(await promQuery("prometheus_remote_storage_samples_failed_total")).toBe(0);
    expect(await promQuery("prometheus_remote_storage_samples_dropped_total")).toBe(0);
    // A refusal stores nothing, so its retry is never a duplicate: samples Elasticsearch already held (409)
    // can only follow an answer that came after storing some (Elasticsearch throttling or failing: 429/5xx
    // from its side, which a loaded machine may see). Those are counted, and stored once all the same.
    const statuses = await writeStatuses();
    const duplicates = await gateMetric('promgate_samples_duplicate_total{tenant="rl"}');
    const storageTrouble = Object.entries(statuses).filter(([status]) => status !== "204" && status !== "429").reduce((n, [, c]) => n + c, 0);
    const elasticThrottled = await gateMetric('promgate_samples_rejected_total{tenant="rl",reason="elasticsearch_throttled"}');
    if (duplicates > 0) expect(storageTrouble + elasticThrottled, `${duplicates} duplicates after ${JSON.stringify(statuses)}`).toBeGreaterThan(0);
    console.log(
      `Prometheus → promgate at ${RATE} samples/s (burst ${BURST}), 1 request/s: ${promAll} samples up to the cut-off all stored; ` +
        `${refusedRequests} requests refused by requestRate, ${refusedSamples} by ingestionRate; ${retried} samples retried by Prometheus, 0 failed; ` +
        `write statuses ${JSON.stringify(statuses)}, ${duplicates} duplicates`,
    );
  });
});
