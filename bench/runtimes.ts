import { createServer, type Server } from "node:http";
import { launchPromgate, RUNTIMES } from "../test/helpers/launch.js";
import { freePort, type Running, waitFor } from "../test/helpers/processes.js";
import { nodeExporterBody } from "./payloads.js";

/**
 * The ingest path per runtime: the 2,000-sample remote_write request over HTTP on loopback to promgate
 * served by Node (@hono/node-server), Bun (Bun.serve), Deno (Deno.serve) and workerd (wrangler dev), all
 * started here, one after another in alternating rounds. promgate's Elasticsearch is a sink in this process
 * that answers every `_bulk` with "all created" at once, so the numbers are the runtime + promgate (HTTP in,
 * snappy, decode, NDJSON, fetch out), not Elasticsearch.
 */

const SAMPLES = 2000;
// Every stream, as the benchmarks write to a namespace of their own per run (tenants get only theirs by default).
const TENANTS = JSON.stringify({ bench: { password: "bench-password", streams: ["metrics-*.prometheus-*"], namespace: "default" } });

export interface RuntimeRow {
  runtime: string;
  msPerRequest: number;
  requestsPerSec: number;
  samplesPerSec: number;
  /** msPerRequest of Node / this runtime's: > 1 is faster than Node. */
  vsNode: number;
}

/** An Elasticsearch stand-in for `_bulk` only: reads the body, answers one "created" item per document. */
function bulkSink(): Promise<{ server: Server; url: string; requests: () => number }> {
  const answers = new Map<number, string>();
  const answer = (docs: number) => {
    let a = answers.get(docs);
    if (a === undefined) {
      a = JSON.stringify({ errors: false, items: Array.from({ length: docs }, () => ({ create: { status: 201 } })) });
      answers.set(docs, a);
    }
    return a;
  };
  let count = 0;
  const server = createServer((req, res) => {
    let newlines = 0;
    req.on("data", (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) newlines++;
    });
    req.on("end", () => {
      count++;
      res.writeHead(200, { "content-type": "application/json" });
      // NDJSON: an action line and a document line per document.
      res.end(req.url?.includes("/_bulk") ? answer(newlines / 2) : "{}");
    });
  });
  return new Promise((ok) =>
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      ok({ server, url: `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`, requests: () => count });
    }),
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface RuntimeBenchOptions {
  requestsPerRound?: number;
  rounds?: number;
  only?: string[];
  /** A real Elasticsearch instead of the sink: every request then carries new series (no duplicates). */
  es?: { url: string; username: string; password: string };
}

export async function benchRuntimes(opts: RuntimeBenchOptions = {}): Promise<RuntimeRow[]> {
  const { requestsPerRound = 40, rounds = 7, only, es } = opts;
  const sink = es ? undefined : await bulkSink();
  const env: NodeJS.ProcessEnv = {};
  // Only what promgate needs: the caller's ES_/PROMGATE_ settings must not leak in.
  for (const [k, v] of Object.entries(process.env)) if (!/^(ES_|PROMGATE_)/.test(k)) env[k] = v;
  Object.assign(env, { PROMGATE_TENANTS: TENANTS }, es ? { ES_URL: es.url, ES_USERNAME: es.username, ES_PASSWORD: es.password } : { ES_URL: sink!.url });

  const runtimes = RUNTIMES.filter((name) => !only || only.includes(name));
  // Built before any server starts: a pause between the readiness check and the first request would let Node's
  // 5 s keep-alive timeout close the client's pooled connection under it. Against the sink one body serves every
  // request; against Elasticsearch each request gets its own series (no duplicates for ES to skip).
  const warmups = 20;
  const bodyCount = es ? runtimes.length * (warmups + rounds * requestsPerRound) : 1;
  const t0 = Date.now() - 60_000;
  const bodies = Array.from({ length: bodyCount }, (_, i) => nodeExporterBody(SAMPLES, t0, i * SAMPLES));
  let next = 0;
  const stream = `rt${Date.now().toString(36)}`;
  const servers: { name: string; server: Running; base: string }[] = [];
  try {
    for (const name of runtimes) {
      const port = await freePort();
      // Less wrangler chatter in the bench's output.
      const server = launchPromgate(name, port, env, name === "workerd" ? ["--log-level", "warn"] : []);
      servers.push({ name, server, base: `http://127.0.0.1:${port}` });
    }
    for (const { name, server, base } of servers) {
      await waitFor(`${name} to serve promgate`, async () => ((await fetch(`${base}/-/ready`)).ok ? true : undefined), 120_000).catch((e: Error) => {
        throw new Error(`${e.message}\n${server.output()}`);
      });
    }

    const headers = {
      "content-type": "application/x-protobuf",
      "content-encoding": "snappy",
      "x-prometheus-remote-write-version": "0.1.0",
      authorization: `Basic ${btoa("bench:bench-password")}`,
    };
    const send = async (base: string) => {
      const body = bodies[next++ % bodies.length]!;
      const s = servers.find((x) => x.base === base)!;
      const res = await fetch(`${base}/metrics/bench/${stream}/api/v1/write`, { method: "POST", body, headers }).catch((e: Error) => {
        throw new Error(`${s.name}: ${e.message} (${String(e.cause)})\n${s.server.output().slice(-2000)}`);
      });
      if (res.status !== 204) throw new Error(`${s.name}: promgate answered ${res.status}: ${await res.text()}`);
    };
    // One request at a time: the time of a request is the runtime's and promgate's, not a queue's. Warm-up
    // (JIT, connection pools) first; then rounds alternate between runtimes so all meet the same machine noise.
    for (const { base } of servers) for (let i = 0; i < warmups; i++) await send(base);
    const times = new Map<string, number[]>(servers.map((s) => [s.name, []]));
    for (let r = 0; r < rounds; r++) {
      for (const { name, base } of servers) {
        const t0 = performance.now();
        for (let i = 0; i < requestsPerRound; i++) await send(base);
        times.get(name)!.push((performance.now() - t0) / requestsPerRound);
      }
    }
    const nodeMs = servers.some((s) => s.name === "node") ? median(times.get("node")!) : Number.NaN;
    return servers.map(({ name }) => {
      const ms = median(times.get(name)!);
      return { runtime: name, msPerRequest: ms, requestsPerSec: 1000 / ms, samplesPerSec: (SAMPLES * 1000) / ms, vsNode: nodeMs / ms };
    });
  } finally {
    await Promise.all(servers.map((s) => s.server.stop()));
    if (sink) await new Promise((ok) => sink.server.close(ok));
  }
}
