import { create, toBinary } from "@bufbuild/protobuf";
import { BENCH_AUTH, benchApp } from "./app.js";
import type { Fetch } from "../src/elastic/http.js";
import { ReadRequest_ResponseType, ReadRequestSchema } from "../src/gen/prometheus/remote_pb.js";
import { LabelMatcher_Type } from "../src/gen/prometheus/types_pb.js";
import { type SeriesSpec, snappy, writeBody } from "../test/helpers/payload.js";

/**
 * The read path against the local Elasticsearch: series discovery over 10,000 series (/api/v1/series) and
 * sample retrieval of 1 h × 1,000 series at 15 s (remote_read, streamed XOR chunks), each through promgate
 * and as the bare Elasticsearch requests promgate made (recorded, then replayed with fetch alone), in one run.
 */

export interface ReadRow {
  what: string;
  promgateMs: number;
  bareMs: number;
  esRequests: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchRead(rounds = 5): Promise<ReadRow[]> {
  const env = process.env;
  const recorded: { url: string; init: RequestInit }[] = [];
  let recording = false;
  const fetchFn: Fetch = async (input, init) => {
    if (recording) recorded.push({ url: String(input), init: { method: init?.method, headers: init?.headers, body: init?.body } as RequestInit });
    return fetch(input, init);
  };
  const app = benchApp({ fetch: fetchFn });
  const auth = BENCH_AUTH;
  const run = Date.now().toString(36);
  const end = Date.now() - 60_000;
  const start = end - 3_600_000;

  const write = async (stream: string, series: SeriesSpec[]) => {
    const res = await app.request(`/metrics/benchread/${stream}/api/v1/write`, {
      method: "POST",
      body: writeBody(series),
      headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", ...auth },
    });
    if (res.status !== 204) throw new Error(`write answered ${res.status}: ${await res.text()}`);
  };
  // 10,000 series for discovery, in requests of 5,000.
  for (let k = 0; k < 2; k++) {
    await write(`disc${run}`, Array.from({ length: 5000 }, (_, i) => ({ labels: { __name__: "bench_discovery", idx: String(k * 5000 + i), job: "bench" }, samples: [[end, i]] })));
  }
  // 1,000 series × 240 samples (1 h at 15 s), in requests of 50 series × 240 samples.
  for (let k = 0; k < 20; k++) {
    await write(
      `samp${run}`,
      Array.from({ length: 50 }, (_, i) => ({
        labels: { __name__: "bench_samples_total", idx: String(k * 50 + i), job: "bench" },
        samples: Array.from({ length: 240 }, (_, s) => [start + s * 15_000, s * 10 + i] as [number, number]),
      })),
    );
  }
  await fetch(`${env.ES_URL}/metrics-benchread.*/_refresh`, { method: "POST", headers: { authorization: `Basic ${btoa(`${env.ES_USERNAME}:${env.ES_PASSWORD}`)}` } });

  const measure = async (what: string, call: () => Promise<void>): Promise<ReadRow> => {
    await call(); // warm-up (and the check that it works)
    recorded.length = 0;
    recording = true;
    await call();
    recording = false;
    const requests = [...recorded];
    const gate: number[] = [];
    const bare: number[] = [];
    for (let r = 0; r < rounds; r++) {
      let t = performance.now();
      await call();
      gate.push(performance.now() - t);
      t = performance.now();
      for (const q of requests) await (await fetch(q.url, q.init)).text();
      bare.push(performance.now() - t);
    }
    return { what, promgateMs: median(gate), bareMs: median(bare), esRequests: requests.length };
  };

  const discovery = await measure("series discovery, 10,000 series (/api/v1/series)", async () => {
    const res = await app.request(`/metrics/benchread/disc${run}/api/v1/series?match[]=bench_discovery`, { headers: auth });
    const body = (await res.json()) as { data: unknown[] };
    if (body.data.length !== 10_000) throw new Error(`series answered ${body.data.length}`);
  });
  const readBody = snappy(
    toBinary(
      ReadRequestSchema,
      create(ReadRequestSchema, {
        queries: [{ startTimestampMs: BigInt(start), endTimestampMs: BigInt(end), matchers: [{ type: LabelMatcher_Type.EQ, name: "__name__", value: "bench_samples_total" }] }],
        acceptedResponseTypes: [ReadRequest_ResponseType.STREAMED_XOR_CHUNKS],
      }),
    ),
  );
  const samples = await measure("samples, 1 h × 1,000 series at 15 s (remote_read, XOR chunks)", async () => {
    const res = await app.request(`/metrics/benchread/samp${run}/api/v1/read`, {
      method: "POST",
      body: readBody,
      headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", ...auth },
    });
    if (res.status !== 200) throw new Error(`read answered ${res.status}`);
    await res.arrayBuffer();
  });
  return [discovery, samples];
}
