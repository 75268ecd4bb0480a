import { benchApp } from "./app.js";
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

export async function benchE2e(requests = 40, concurrency = 4, rounds = 3): Promise<E2eRow[]> {
  const env = process.env;
  const auth = `Basic ${Buffer.from(`${env.ES_USERNAME ?? "elastic"}:${env.ES_PASSWORD ?? "promgate-dev"}`).toString("base64")}`;
  const app = benchApp();
  const run = Date.now().toString(36);
  const t0 = Date.now() - 10 * 60_000;
  // Distinct series per request (offset) so no document is a duplicate of another.
  // One warm-up round (ES JIT, mappings) plus `rounds` measured ones, each on fresh series.
  const total = (rounds + 1) * requests;
  const bodies = Array.from({ length: total }, (_, i) => nodeExporterBody(SAMPLES, t0, i * SAMPLES));

  const viaPromgate = async (body: Uint8Array<ArrayBuffer>) => {
    const res = await app.request(`/metrics/bench/gate${run}/api/v1/write`, {
      method: "POST",
      body,
      headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", authorization: `Basic ${btoa("bench:bench-password")}` },
    });
    if (res.status !== 204) throw new Error(`promgate answered ${res.status}: ${await res.text()}`);
  };
  const ndjson = bodies.map((b) => ours(b).slice());
  // ES_URL may name several nodes (promgate spreads over them round robin): so does the direct side.
  const urls = (env.ES_URL ?? "http://127.0.0.1:9200").split(",");
  let turn = 0;
  const direct = async (body: Uint8Array<ArrayBuffer>) => {
    const res = await fetch(`${urls[turn++ % urls.length]}/metrics-bench.prometheus-direct${run}/_bulk?filter_path=errors`, {
      method: "POST",
      body,
      headers: { "content-type": "application/x-ndjson", authorization: auth },
    });
    const j = (await res.json()) as { errors?: boolean };
    if (!res.ok || j.errors) throw new Error(`elasticsearch answered ${res.status} errors=${j.errors}`);
  };

  // Alternate the two modes round by round so both meet the same state of Elasticsearch (segment merges,
  // JIT); report the median round of each.
  const times: Record<string, number[]> = { direct: [], gate: [] };
  for (let r = 0; r <= rounds; r++) {
    const slice = <T>(xs: T[]) => xs.slice(r * requests, (r + 1) * requests);
    for (const [mode, run] of [
      ["direct", () => pool(slice(ndjson), concurrency, direct)],
      ["gate", () => pool(slice(bodies), concurrency, viaPromgate)],
    ] as const) {
      const start = performance.now();
      await run();
      if (r > 0) times[mode]!.push((performance.now() - start) / 1000);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const row = (mode: string, seconds: number): E2eRow => ({
    mode,
    requests,
    samples: requests * SAMPLES,
    seconds,
    samplesPerSec: (requests * SAMPLES) / seconds,
  });
  const rows = [row("direct _bulk (same NDJSON)", median(times.direct!)), row("through promgate", median(times.gate!))];
  return rows;
}
