import { beforeAll, describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { es, gateEnv, uniquePart } from "../helpers/es.js";
import { type SeriesSpec, writeBody } from "../helpers/payload.js";

/**
 * The range query frontend against the real Elasticsearch: two tenants write the same series (same name,
 * same labels, different values) so any answer given to the wrong tenant shows in the values. Cached answers
 * must equal uncached and unsplit ones byte for byte, samples written inside the settle window must show, and
 * Cache-Control: no-store and `nocache` must keep the cache out of the request.
 */

const A = uniquePart("fea");
const B = uniquePart("feb");
const A_AUTH = basic(A, "alpha-password");
const B_AUTH = basic(B, "beta-password");
const SCRAPE = "Bearer scrape-token-0123456789";

function app(extra: Record<string, string>) {
  const config = loadConfig({
    ...gateEnv(),
    PROMGATE_TENANTS: JSON.stringify({ [A]: { password: "alpha-password" }, [B]: { password: "beta-password" } }),
    PROMGATE_METRICS_TOKEN: SCRAPE.slice("Bearer ".length),
    ...extra,
  });
  return createApp(config, { ...defaultDeps(), log: () => {} });
}

const cached = app({ PROMGATE_CACHE: "true", PROMGATE_QUERY_SPLIT_INTERVAL: "15m" });
/** One piece for any range a test asks for: the answer of an unsplit evaluation. */
const whole = app({ PROMGATE_QUERY_SPLIT_INTERVAL: "1000d" });

const NOW = Date.now();
const START = NOW - 90 * 60_000;
const STEP = 30_000;

function series(offset: number): SeriesSpec[] {
  const samples: [number, number][] = [];
  for (let t = NOW - 100 * 60_000; t < NOW - 3 * 60_000; t += 15_000) samples.push([t, offset + ((t / 15_000) % 97)]);
  return [{ labels: { __name__: "fe_load", job: "x" }, samples }];
}

async function write(auth: string, body: SeriesSpec[]): Promise<void> {
  const res = await cached.request("/api/v1/write", { method: "POST", body: writeBody(body), headers: { ...PRW1_HEADERS, authorization: auth } });
  expect(res.status).toBe(204);
  await es("POST", `/metrics-generic.prometheus-${A},metrics-generic.prometheus-${B}/_refresh?ignore_unavailable=true`);
}

async function range(target: ReturnType<typeof app>, auth: string, query: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<string> {
  const params = new URLSearchParams({ query, start: String(START / 1000), end: String(NOW / 1000), step: String(STEP / 1000), ...extra });
  const res = await target.request(`/api/v1/query_range?${params}`, { headers: { authorization: auth, ...headers } });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return text;
}

async function counter(name: string): Promise<number> {
  const text = await (await cached.request("/metrics", { headers: { authorization: SCRAPE } })).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

beforeAll(async () => {
  await write(A_AUTH, series(1000));
  await write(B_AUTH, series(2000));
}, 60_000);

describe("query frontend with the results cache", () => {
  const q = "max_over_time(fe_load[2m]) + 0 * rate(fe_load[5m])";

  it("answers warm exactly as cold, as uncached and as unsplit", async () => {
    const hits0 = await counter("promgate_query_cache_hits_total");
    const misses0 = await counter("promgate_query_cache_misses_total");
    const cold = await range(cached, A_AUTH, q);
    expect(JSON.parse(cold).data.result).toHaveLength(1);
    expect(await counter("promgate_query_cache_misses_total")).toBeGreaterThan(misses0);
    expect(await counter("promgate_query_cache_hits_total")).toBe(hits0);
    const warm = await range(cached, A_AUTH, q);
    expect(warm).toBe(cold);
    expect(await counter("promgate_query_cache_hits_total")).toBeGreaterThan(hits0);
    expect(await counter("promgate_query_cache_stored_bytes_total")).toBeGreaterThan(0);
    expect(await counter("promgate_query_cache_bytes")).toBeGreaterThan(0);
    expect(await range(cached, A_AUTH, q, {}, { "cache-control": "no-store" })).toBe(cold);
    expect(await range(whole, A_AUTH, q)).toBe(cold);
  });

  it("never answers a tenant from another tenant's entries", async () => {
    await range(cached, A_AUTH, q);
    const hits = await counter("promgate_query_cache_hits_total");
    const b = await range(cached, B_AUTH, q);
    expect(await counter("promgate_query_cache_hits_total")).toBe(hits);
    expect(b).toBe(await range(whole, B_AUTH, q));
    expect(b).not.toBe(await range(whole, A_AUTH, q));
  });

  it("keeps the cache out of requests with Cache-Control: no-store or nocache", async () => {
    await range(cached, A_AUTH, "fe_load");
    const hits = await counter("promgate_query_cache_hits_total");
    const misses = await counter("promgate_query_cache_misses_total");
    await range(cached, A_AUTH, "fe_load", {}, { "cache-control": "no-cache, no-store" });
    await range(cached, A_AUTH, "fe_load", { nocache: "1" });
    expect(await counter("promgate_query_cache_hits_total")).toBe(hits);
    expect(await counter("promgate_query_cache_misses_total")).toBe(misses);
  });

  it("shows a late sample written inside the settle window, and keeps settled pieces as cached", async () => {
    // max_over_time: a late sample shows at the steps after it even where a regular sample follows it.
    const peak = "max_over_time(fe_load[1m])";
    const before = await range(cached, A_AUTH, peak);
    // Inside the settle window (10 m): seen. Far behind it: the cached piece stands, as documented.
    await write(A_AUTH, [{ labels: { __name__: "fe_load", job: "x" }, samples: [[NOW - 2 * 60_000 + 1, 4242], [NOW - 60 * 60_000 + 1, 7777]] }]);
    const after = await range(cached, A_AUTH, peak);
    expect(after).not.toBe(before);
    expect(after).toContain('"4242"');
    expect(after).not.toContain('"7777"');
    expect(await range(cached, A_AUTH, peak, {}, { "cache-control": "no-store" })).toContain('"7777"');
  });
});
