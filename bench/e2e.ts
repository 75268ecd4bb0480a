import { createApp, defaultDeps } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { ours } from "./ingest.js";
import { nodeExporterBody } from "./payloads.js";

/**
 * End to end into the local Elasticsearch: samples/s through promgate (decode + `_bulk` over fetch, the
 * app in-process) against the same documents bulk-loaded straight into Elasticsearch, same concurrency,
 * same run. Each side writes its own fresh data stream.
 */

export interface E2eRow {
  mode: string;
  requests: number;
  samples: number;
  seconds: number;
  samplesPerSec: number;
}

const SAMPLES = 2000;

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export async function benchE2e(requests = 40, concurrency = 4): Promise<E2eRow[]> {
  const env = process.env;
  const auth = `Basic ${Buffer.from(`${env.ES_USERNAME ?? "elastic"}:${env.ES_PASSWORD ?? "promgate-dev"}`).toString("base64")}`;
  const app = createApp(
    loadConfig({ ...env, PROMGATE_TENANTS: JSON.stringify({ bench: { password: "bench-password" } }) }),
    defaultDeps(),
  );
  const run = Date.now().toString(36);
  const t0 = Date.now() - 10 * 60_000;
  // Distinct series per request (offset) so no document is a duplicate of another.
  const bodies = Array.from({ length: requests + 1 }, (_, i) => nodeExporterBody(SAMPLES, t0, i * SAMPLES));

  const viaPromgate = async (body: Uint8Array<ArrayBuffer>) => {
    const res = await app.request(`/metrics/bench/gate${run}/api/v1/write`, {
      method: "POST",
      body,
      headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", authorization: `Basic ${btoa("bench:bench-password")}` },
    });
    if (res.status !== 204) throw new Error(`promgate answered ${res.status}: ${await res.text()}`);
  };
  const ndjson = bodies.map((b) => ours(b).slice());
  const direct = async (body: Uint8Array<ArrayBuffer>) => {
    const res = await fetch(`${env.ES_URL}/metrics-bench.prometheus-direct${run}/_bulk?filter_path=errors`, {
      method: "POST",
      body,
      headers: { "content-type": "application/x-ndjson", authorization: auth },
    });
    const j = (await res.json()) as { errors?: boolean };
    if (!res.ok || j.errors) throw new Error(`elasticsearch answered ${res.status} errors=${j.errors}`);
  };

  const rows: E2eRow[] = [];
  const measure = async <T>(mode: string, items: T[], fn: (x: T) => Promise<void>) => {
    await fn(items[0]!); // creates the data stream and its mappings outside the timing
    const start = performance.now();
    await pool(items.slice(1), concurrency, fn);
    const seconds = (performance.now() - start) / 1000;
    rows.push({ mode, requests, samples: requests * SAMPLES, seconds, samplesPerSec: (requests * SAMPLES) / seconds });
  };
  await measure("direct _bulk (same NDJSON)", ndjson, direct);
  await measure("through promgate", bodies, viaPromgate);
  return rows;
}
