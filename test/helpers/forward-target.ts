import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type SeriesSpec, writeBody } from "./payload.js";
import { type Running, start, waitFor } from "./processes.js";

/**
 * What forwarding tests send to: a real Prometheus taking remote_write (`--web.enable-remote-write-receiver`,
 * scraping nothing, so every series it holds came from promgate), which a test can stop and start again on
 * the same port and data; and a small HTTP server that refuses every request with one status.
 */

export const PROMETHEUS = process.env.PROMETHEUS_BIN ?? "/usr/bin/prometheus";
/** Prometheus 3 (scripts/prometheus3.sh): its receiver also takes remote write 2.0. */
export const PROMETHEUS3 = process.env.PROMETHEUS3_BIN ?? resolve(import.meta.dirname, "../../.cache/prometheus3/v0.305.0/prometheus");
const V2_RECEIVER = "--web.remote-write-receiver.accepted-protobuf-messages=io.prometheus.write.v2.Request";

export class TargetPrometheus {
  private running: Running | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), "promgate-forward-target-"));

  /** `v2`: Prometheus 3 taking remote write 2.0 only, so a 1.0 request could not pass for one. */
  constructor(
    readonly port: number,
    private readonly v2 = false,
  ) {
    writeFileSync(join(this.dir, "prometheus.yml"), "global:\n  scrape_interval: 1m\n");
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get writeUrl(): string {
    return `${this.url}/api/v1/write`;
  }

  async start(): Promise<void> {
    this.running = start(this.v2 ? PROMETHEUS3 : PROMETHEUS, [
      `--config.file=${join(this.dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(this.dir, "data")}`,
      `--web.listen-address=127.0.0.1:${this.port}`,
      "--web.enable-remote-write-receiver",
      ...(this.v2 ? [V2_RECEIVER] : []),
    ]);
    await waitFor("the target Prometheus to be ready", async () => ((await fetch(`${this.url}/-/ready`)).ok ? true : undefined), 60_000, 250).catch((e: Error) => {
      throw new Error(`${e.message}\n${this.running?.output()}`);
    });
  }

  async stop(): Promise<void> {
    await this.running?.stop();
    this.running = undefined;
  }

  /** Every series the target holds (over the last 10 minutes), as label objects sorted by name. */
  async series(): Promise<Record<string, string>[]> {
    const now = Date.now() / 1000;
    const res = await fetch(`${this.url}/api/v1/series?match[]=${encodeURIComponent('{__name__=~".+"}')}&start=${now - 600}&end=${now + 60}`);
    const body = (await res.json()) as { status: string; data: Record<string, string>[] };
    if (body.status !== "success") throw new Error(`target Prometheus: ${JSON.stringify(body)}`);
    return body.data.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  }

  /** Samples the target holds for `selector` over the last 10 minutes. */
  async samples(selector: string): Promise<number> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(`count_over_time(${selector}[10m])`)}`);
    const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
    return body.data.result.reduce((n, r) => n + Number(r.value[1]), 0);
  }
}

/** An HTTP server that answers every request with `status`, counting them. */
export async function refusingServer(status: number): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      n++;
      res.statusCode = status;
      res.end("refused by the test\n");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/api/v1/write`, requests: () => n, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** The sum of a promgate metric's series whose labels include `labels` (scraped with an admin's credentials). */
export async function gateMetric(gateUrl: string, auth: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${gateUrl}/metrics`, { headers: { authorization: auth } })).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, "gm"))) {
    const have = Object.fromEntries([...(m[1] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[2]);
  }
  return sum;
}

/** One remote_write 1.0 request to promgate; throws unless it is stored (204). */
export async function writeTo(url: string, auth: string, series: SeriesSpec[]): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    body: writeBody(series),
    headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", authorization: auth },
  });
  if (res.status !== 204) throw new Error(`remote_write answered ${res.status}: ${await res.text()}`);
}
