import { describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { countDocs, gateEnv, searchDocs, uniquePart } from "../helpers/es.js";
import { writeBody } from "../helpers/payload.js";

/**
 * Rate limits against the real Elasticsearch, on the real clock: a tenant sends more than its rates allow
 * from several concurrent senders, each retrying a 429 as Prometheus' queue manager does (the same request
 * again after Retry-After seconds, in order, nothing dropped), while another tenant writes at the same time.
 * Every sample of the limited tenant ends up stored exactly once, and the other tenant never sees a 429.
 */

const LIMITED = uniquePart("rl_limited");
const FREE = uniquePart("rl_free");
const RATE = 200; // samples/s
const BURST = 300;
const REQUEST_RATE = 4; // requests/s

const config = (() => {
  return loadConfig({
    ...gateEnv(),
    PROMGATE_TENANTS: JSON.stringify({
      [LIMITED]: { password: "limited-pw", limits: { ingestionRate: RATE, ingestionBurst: BURST, requestRate: REQUEST_RATE } },
      [FREE]: { password: "free-pw" },
      ops: { password: "ops-pw", admin: true, namespace: "rl_ops", streams: ["metrics-*.prometheus-rl_ops"] },
    }),
  });
})();
const app = createApp(config, { ...defaultDeps(), log: () => undefined });

const SHARDS = 3;
const REQUESTS_PER_SHARD = 5;
const SAMPLES_PER_REQUEST = 100;
const T0 = Date.now() - 10 * 60_000;

/** Shard s's request r: 100 series of one sample each, distinct across the run. */
const request = (s: number, r: number) =>
  writeBody(
    Array.from({ length: SAMPLES_PER_REQUEST }, (_, i) => ({
      labels: { __name__: "rl_samples", shard: String(s), series: String(i) },
      samples: [[T0 + r * 1000, r * SAMPLES_PER_REQUEST + i]] as [number, number][],
    })),
  );

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ShardLog {
  statuses: number[];
  /** Seconds each 429 asked to wait (and was waited) before the retry. */
  retryAfters: number[];
}

/** One remote_write shard: its requests in order, each retried until accepted, honouring Retry-After. */
async function shard(tenant: string, password: string, s: number): Promise<ShardLog> {
  const log: ShardLog = { statuses: [], retryAfters: [] };
  for (let r = 0; r < REQUESTS_PER_SHARD; r++) {
    const body = request(s, r);
    for (;;) {
      const res = await app.request("/api/v1/write", { method: "POST", body, headers: { ...PRW1_HEADERS, authorization: basic(tenant, password) } });
      await res.arrayBuffer();
      log.statuses.push(res.status);
      if (res.status === 204) break;
      // Anything but a 429 would be a failure of this test, not something to retry.
      expect(res.status, `shard ${s} request ${r}`).toBe(429);
      const retryAfter = Number(res.headers.get("retry-after"));
      expect(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After "${res.headers.get("retry-after")}"`).toBe(true);
      await sleep(retryAfter * 1000);
      log.retryAfters.push(retryAfter);
    }
  }
  return log;
}

describe("rate limits against the real Elasticsearch", () => {
  it("a sender over its rates gets 429s, retries as Prometheus does, and gets everything stored exactly once; another tenant is unaffected", async () => {
    const started = Date.now();
    const [limited, free] = await Promise.all([
      Promise.all(Array.from({ length: SHARDS }, (_, s) => shard(LIMITED, "limited-pw", s))),
      Promise.all(Array.from({ length: SHARDS }, (_, s) => shard(FREE, "free-pw", s))),
    ]);
    const seconds = (Date.now() - started) / 1000;
    const total = SHARDS * REQUESTS_PER_SHARD * SAMPLES_PER_REQUEST;

    // The limited tenant was refused, and could not have gone faster than its rate allows.
    const refusals = limited.flatMap((l) => l.statuses.filter((s) => s === 429)).length;
    expect(refusals).toBeGreaterThan(0);
    expect(seconds).toBeGreaterThanOrEqual((total - BURST) / RATE);
    // The other tenant, writing at the same time, never was.
    expect(free.flatMap((l) => l.statuses)).toEqual(Array(SHARDS * REQUESTS_PER_SHARD).fill(204));

    // Everything stored, exactly once: one document per (series, timestamp) and no more.
    const stream = `metrics-generic.prometheus-${LIMITED}`;
    expect(await countDocs(stream)).toBe(total);
    const docs = await searchDocs(stream, { match_all: {} }, total + 10);
    const keys = new Set(docs.map((d) => `${JSON.stringify(d.labels)}@${String(d["@timestamp"])}`));
    expect(keys.size).toBe(total);
    expect(await countDocs(`metrics-generic.prometheus-${FREE}`)).toBe(total);

    // promgate's own account agrees: refusals by limit, samples stored, none stored twice.
    const metrics = await (await app.request("/metrics", { headers: { authorization: basic("ops", "ops-pw") } })).text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(metrics)?.[1] ?? 0);
    const byLimit = value(`promgate_rate_limited_total{tenant="${LIMITED}",limit="ingestion_rate"}`) + value(`promgate_rate_limited_total{tenant="${LIMITED}",limit="request_rate"}`);
    expect(byLimit).toBe(refusals);
    expect(value(`promgate_samples_stored_total{tenant="${LIMITED}"}`)).toBe(total);
    expect(value(`promgate_samples_duplicate_total{tenant="${LIMITED}"}`)).toBe(0);
    expect(metrics).not.toContain(`promgate_rate_limited_total{tenant="${FREE}"`);
    console.log(
      `rate limits: ${total} samples in ${seconds.toFixed(1)} s (${(total / seconds).toFixed(0)}/s at a rate of ${RATE}/s, burst ${BURST}), ` +
        `${refusals} refusals (ingestion ${value(`promgate_rate_limited_total{tenant="${LIMITED}",limit="ingestion_rate"}`)}, requests ${value(`promgate_rate_limited_total{tenant="${LIMITED}",limit="request_rate"}`)}), ` +
        `Retry-After ${[...new Set(limited.flatMap((l) => l.retryAfters))].sort().join("/")} s`,
    );
  });
});
