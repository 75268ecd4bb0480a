import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countDocs, esEnv, uniquePart } from "../helpers/es.js";
import { freePort, type Running, start, waitFor } from "../helpers/processes.js";

/**
 * The whole path with real parts: Debian's Prometheus 2.42 scrapes itself every second and remote_writes
 * (PRW 1.0) to promgate running in workerd under `wrangler dev`, which writes to the real Elasticsearch.
 * Then what Prometheus holds locally must equal what landed in Elasticsearch, sample for sample.
 */

const ROOT = resolve(import.meta.dirname, "../..");
const PROMETHEUS = process.env.PROMETHEUS_BIN ?? "/usr/bin/prometheus";
const namespace = uniquePart("e2e");
const stream = `metrics-e2e.prometheus-${namespace}`;

let wrangler: Running | undefined;
let prometheus: Running | undefined;
let promUrl = "";

interface PromAnswer {
  status: string;
  error?: string;
  data: { result: { value?: [number, string]; values?: [number, string][] }[] };
}

async function promApi(query: string, time: number): Promise<PromAnswer["data"]["result"]> {
  const url = `${promUrl}/api/v1/query?query=${encodeURIComponent(query)}&time=${time}`;
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
  const es = esEnv();
  const dir = mkdtempSync(join(tmpdir(), "promgate-e2e-"));
  const [gatePort, promPort] = [await freePort(), await freePort()];

  writeFileSync(
    join(dir, "promgate.env"),
    [
      `ES_URL=${es.url}`,
      `ES_USERNAME=${es.username}`,
      `ES_PASSWORD=${es.password}`,
      `PROMGATE_TENANTS=${JSON.stringify({ dev: { password: "promgate-dev" } })}`,
      "",
    ].join("\n"),
  );
  wrangler = start(
    process.execPath,
    [
      join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
      "dev",
      "--ip", "127.0.0.1",
      "--port", String(gatePort),
      "--env-file", join(dir, "promgate.env"),
      "--show-interactive-dev-session=false",
      "--persist-to", join(dir, "wrangler-state"),
    ],
    { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } },
  );
  const gate = `http://127.0.0.1:${gatePort}`;
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
  await prometheus?.stop();
  await wrangler?.stop();
});

describe("Prometheus 2.42 → promgate (workerd) → Elasticsearch", () => {
  it("stores every sample Prometheus scraped, exactly once, with no failed sends", async () => {
    // Let Prometheus scrape for a while, then fix a cut-off time and wait until it has sent everything up to it.
    await waitFor("a few scrapes", async () => ((await promQuery("count_over_time(up[5m])", Date.now() / 1000)) >= 10 ? true : undefined), 60_000);
    const cutoff = Math.floor(Date.now() / 1000) - 1;
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
