import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { ConfigError, loadConfig } from "../../src/config.js";
import { ResetHint, type NativeHistogram } from "../../src/model/histogram.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { allCreated, type Behaviour, bulkItems, fakeEs } from "../helpers/fake-es.js";
import { MetricMetadata_MetricType, type SeriesSpec, writeBody } from "../helpers/payload.js";

/**
 * Per-tenant rate limits on remote_write, through the app with a clock the test moves: what is charged
 * (decoded floats + histograms + exemplars; requests), what a refused sender is told (429, Retry-After, one
 * line naming the limit and its value; 413 beyond the burst), that a refusal stores nothing and leaves other
 * tenants alone, and what /metrics counts. Against the real Elasticsearch, with a sender retrying as
 * Prometheus does: test/integration/rate-limits.test.ts.
 */

const T0 = 1767268800000;
const TENANTS = {
  limited: { password: "p-limited", limits: { ingestionRate: 100, ingestionBurst: 200 } },
  twin: { password: "p-twin", limits: { ingestionRate: 100, ingestionBurst: 200 } },
  calls: { password: "p-calls", limits: { requestRate: 2 } },
  defaults: { password: "p-defaults", limits: { ingestionRate: 10, maxSamples: 1000 } },
  free: { password: "p-free" },
  ops: { password: "p-ops", admin: true },
};
const auth = (id: keyof typeof TENANTS) => basic(id, `p-${id}`);

/** n series of one float sample each. */
const samples = (n: number, name = "rl_metric"): Uint8Array<ArrayBuffer> =>
  writeBody(Array.from({ length: n }, (_, i): SeriesSpec => ({ labels: { __name__: name, i: String(i) }, samples: [[T0, i]] })));

function setup(behaviour: Behaviour = allCreated, env: Record<string, unknown> = {}) {
  const es = fakeEs(behaviour);
  const clock = { now: T0 };
  const config = loadConfig({
    ES_URL: "http://127.0.0.1:9200",
    ES_USERNAME: "elastic",
    ES_PASSWORD: "es-secret",
    PROMGATE_TENANTS: JSON.stringify(TENANTS),
    ...env,
  });
  const app = createApp(config, { ...es.deps, now: () => clock.now });
  const post = (tenant: keyof typeof TENANTS, body: BodyInit, path = "/api/v1/write") =>
    app.request(path, {
      method: "POST",
      body,
      headers: { ...PRW1_HEADERS, authorization: auth(tenant) },
      ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
    } as RequestInit);
  const metrics = async () => (await app.request("/metrics", { headers: { authorization: auth("ops") } })).text();
  const bulks = () => es.requests.filter((r) => r.url.pathname.endsWith("/_bulk"));
  return { app, es, clock, post, metrics, bulks };
}

async function refused(res: Response, status: number): Promise<string> {
  expect(res.status).toBe(status);
  const text = await res.text();
  expect(text.trim().split("\n"), "one line").toHaveLength(1);
  return text.trim();
}

describe("ingestion rate (samples/s)", () => {
  it("over the rate: 429 with Retry-After and the limit named; nothing of the request reaches Elasticsearch", async () => {
    const { post, clock, bulks } = setup();
    expect((await post("limited", samples(150))).status).toBe(204);
    const res = await post("limited", samples(100));
    expect(await refused(res, 429)).toBe(
      'tenant "limited" is over its ingestionRate of 100 samples/s (burst 200); this request of 100 samples can be retried after 1 s',
    );
    expect(res.headers.get("retry-after")).toBe("1");
    expect(bulks()).toHaveLength(1);
    clock.now += 500; // 50 held + 50 refilled
    expect((await post("limited", samples(100))).status).toBe(204);
    expect(bulks()).toHaveLength(2);
  });

  it("Retry-After is the time the bucket needs to cover the request, rounded up to whole seconds", async () => {
    const { post, clock } = setup();
    expect((await post("limited", samples(200))).status).toBe(204);
    const res = await post("limited", samples(150));
    expect(res.headers.get("retry-after")).toBe("2"); // 1.5 s
    clock.now += 1499;
    expect((await post("limited", samples(150))).status).toBe(429);
    clock.now += 1;
    expect((await post("limited", samples(150))).status).toBe(204);
  });

  it("charges float samples, histogram samples and exemplars, as decoded", async () => {
    const { post, clock } = setup();
    const h: NativeHistogram = {
      float: false, schema: 0, zeroThreshold: 0.001, zeroCount: 1, count: 3, sum: 2, positiveSpans: [{ offset: 0, length: 1 }],
      positiveBuckets: [2], negativeSpans: [], negativeBuckets: [], resetHint: ResetHint.Unknown, customValues: [],
    };
    const mixed = writeBody([
      { labels: { __name__: "f" }, samples: [[T0, 1], [T0 + 1, 2]], exemplars: [{ labels: { trace_id: "a" }, value: 1, timestampMs: T0 }] },
      { labels: { __name__: "h" }, samples: [], histograms: [[T0, h], [T0 + 1, h], [T0 + 2, h]] },
    ]); // 2 floats + 3 histograms + 1 exemplar = 6
    expect((await post("limited", samples(194))).status).toBe(204);
    expect((await post("limited", mixed)).status).toBe(204);
    const after = await post("limited", samples(1));
    expect(after.status).toBe(429);
    expect(after.headers.get("retry-after")).toBe("1");
    clock.now += 10;
    expect((await post("limited", samples(1))).status).toBe(204);
  });

  it("another tenant at the same time is unaffected, and a tenant with the same limits has its own bucket", async () => {
    const { post } = setup();
    expect((await post("limited", samples(200))).status).toBe(204);
    expect((await post("limited", samples(1))).status).toBe(429);
    expect((await post("free", samples(5000))).status).toBe(204);
    expect((await post("twin", samples(200))).status).toBe(204);
    expect((await post("calls", samples(1000))).status).toBe(204);
    expect((await post("limited", samples(1))).status).toBe(429);
  });

  it("a request costing more than the burst can never pass: 413 naming ingestionBurst (Prometheus does not retry it)", async () => {
    const { post, clock, bulks } = setup();
    const text = await refused(await post("limited", samples(201)), 413);
    expect(text).toBe('request of 201 samples exceeds the ingestionBurst of 200 of tenant "limited": send fewer per request (queue_config.max_samples_per_send)');
    clock.now += 3_600_000;
    expect((await post("limited", samples(201))).status).toBe(413);
    expect(bulks()).toHaveLength(0);
    expect((await post("limited", samples(200))).status).toBe(204); // the refusals took nothing
  });

  it("by default the burst lets through every request the size limits accept (maxSamples)", async () => {
    const { post } = setup();
    expect((await post("defaults", samples(1000))).status).toBe(204);
    expect((await post("defaults", samples(1))).status).toBe(429);
  });

  it("a request that costs nothing (metadata only) passes an empty bucket", async () => {
    const { post } = setup((_r, n) => Response.json({ errors: false, items: Array(n).fill({ index: { status: 201 } }) }));
    expect((await post("limited", samples(200))).status).toBe(204);
    const metadataOnly = writeBody([], [{ family: "rl_metric", type: MetricMetadata_MetricType.GAUGE, help: "h" }]);
    expect((await post("limited", metadataOnly)).status).toBe(204);
  });

  it("samples of a request Elasticsearch fails retryably are given back; those of a 400 are not", async () => {
    let unavailable = true;
    const { post } = setup((req, n) => (unavailable ? new Response("{}", { status: 503 }) : allCreated(req, n)));
    expect((await post("limited", samples(200))).status).toBe(503);
    unavailable = false;
    expect((await post("limited", samples(200))).status).toBe(204); // the retry pays, once

    const rejecting = setup((_r, n) => bulkItems(Array(n).fill([400, "document_parsing_exception", "bad"])));
    expect((await rejecting.post("limited", samples(200))).status).toBe(400);
    expect((await rejecting.post("limited", samples(1))).status).toBe(429); // not resent by the sender: stays charged
  });

  it("works the same on the aliases of the write route", async () => {
    const { post } = setup();
    expect((await post("limited", samples(200), "/_time_stream/prom_write/app")).status).toBe(204);
    expect((await post("limited", samples(1), "/_prometheus/metrics/app/api/v1/write")).status).toBe(429);
  });
});

describe("request rate (requests/s)", () => {
  it("over the rate: 429 with Retry-After, refused before the body is read", async () => {
    const { post, clock } = setup();
    expect((await post("calls", samples(1))).status).toBe(204);
    expect((await post("calls", samples(1))).status).toBe(204);
    let pulled = false;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulled = true;
          controller.enqueue(samples(1));
          controller.close();
        },
      },
      { highWaterMark: 0 },
    );
    const res = await post("calls", body);
    expect(await refused(res, 429)).toBe('tenant "calls" is over its requestRate of 2 requests/s (burst 2); retry after 1 s');
    expect(res.headers.get("retry-after")).toBe("1");
    expect(pulled).toBe(false);
    clock.now += 500;
    expect((await post("calls", samples(1))).status).toBe(204);
    expect((await post("calls", samples(1))).status).toBe(429);
  });
});

describe("/metrics", () => {
  it("counts refusals by tenant and limit; refused samples are rejected as rate_limited, not as Elasticsearch's", async () => {
    const { post, metrics } = setup();
    await post("limited", samples(200));
    await post("limited", samples(100));
    await post("limited", samples(300));
    await post("calls", samples(1));
    await post("calls", samples(1));
    await post("calls", samples(1));
    const text = await metrics();
    expect(text).toContain('promgate_rate_limited_total{tenant="limited",limit="ingestion_rate"} 1');
    expect(text).toContain('promgate_rate_limited_total{tenant="limited",limit="ingestion_burst"} 1');
    expect(text).toContain('promgate_rate_limited_total{tenant="calls",limit="request_rate"} 1');
    expect(text).toContain('promgate_samples_rejected_total{tenant="limited",reason="rate_limited"} 400');
    expect(text).not.toContain("elasticsearch_throttled");
    expect(text).toContain('promgate_http_requests_total{route="/api/v1/write",method="POST",status="429"} 2');
  });
});

describe("the Workers rate-limiting binding (PROMGATE_RATE_LIMITER)", () => {
  /** A binding that answers from a script and records the keys it was asked about. */
  function binding(answers: boolean[]) {
    const keys: string[] = [];
    return { keys, limit: async ({ key }: { key: string }) => ({ success: (keys.push(key), answers.shift() ?? true) }) };
  }

  it("counts every remote_write request against the tenant's key; a refusal is a 429 with PROMGATE_RETRY_AFTER_SECONDS", async () => {
    const b = binding([true, false, true]);
    const { post, metrics, bulks } = setup(allCreated, { PROMGATE_RATE_LIMITER: b, PROMGATE_RETRY_AFTER_SECONDS: "7" });
    expect((await post("free", samples(1))).status).toBe(204);
    const res = await post("limited", samples(1));
    expect(await refused(res, 429)).toBe(
      'tenant "limited" is over the request limit of the PROMGATE_RATE_LIMITER binding (its limit and period are in wrangler.toml); retry after 7 s',
    );
    expect(res.headers.get("retry-after")).toBe("7");
    expect(bulks()).toHaveLength(1);
    expect((await post("limited", samples(1))).status).toBe(204);
    expect(b.keys).toEqual(["free", "limited", "limited"]);
    expect(await metrics()).toContain('promgate_rate_limited_total{tenant="limited",limit="rate_limiter_binding"} 1');
  });

  it("is asked only after the instance's own request limit, which keeps the token of a request the binding refused", async () => {
    const b = binding([true, false, true]);
    const { post } = setup(allCreated, { PROMGATE_RATE_LIMITER: b });
    expect((await post("calls", samples(1))).status).toBe(204);
    expect((await post("calls", samples(1))).status).toBe(429); // refused by the binding: its token comes back
    expect((await post("calls", samples(1))).status).toBe(204);
    expect((await post("calls", samples(1))).status).toBe(429); // now by the local bucket, without asking the binding
    expect(b.keys).toEqual(["calls", "calls", "calls"]);
  });
});

describe("configuration", () => {
  const load = (tenants: unknown, env: Record<string, unknown> = {}) => loadConfig({ PROMGATE_TENANTS: JSON.stringify(tenants), ...env });

  it("per tenant, over the PROMGATE_* defaults; off unless set", () => {
    const c = load({ a: { password: "x" }, b: { password: "y", limits: { ingestionRate: 5, requestBurst: 9 } } }, { PROMGATE_INGESTION_RATE: "1000", PROMGATE_REQUEST_RATE: "3" });
    expect(c.tenants[0]!.limits).toMatchObject({ ingestionRate: 1000, requestRate: 3 });
    expect(c.tenants[0]!.limits.ingestionBurst).toBeUndefined();
    expect(c.tenants[1]!.limits).toMatchObject({ ingestionRate: 5, requestRate: 3, requestBurst: 9 });
    const off = load({ a: { password: "x" } }).tenants[0]!.limits;
    expect([off.ingestionRate, off.ingestionBurst, off.requestRate, off.requestBurst]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it.each([
    [{ a: { password: "x", limits: { ingestionBurst: 10 } } }, {}, "PROMGATE_TENANTS.a.limits.ingestionBurst needs PROMGATE_TENANTS.a.limits.ingestionRate"],
    [{ a: { password: "x", limits: { requestBurst: 10 } } }, {}, "PROMGATE_TENANTS.a.limits.requestBurst needs PROMGATE_TENANTS.a.limits.requestRate"],
    [{ a: { password: "x" } }, { PROMGATE_INGESTION_BURST: "10" }, "PROMGATE_INGESTION_BURST needs PROMGATE_INGESTION_RATE"],
    [{ a: { password: "x", limits: { ingestionRate: 0.5 } } }, {}, "PROMGATE_TENANTS.a.limits.ingestionRate must be a positive integer"],
    [{ a: { password: "x", limits: { ingestRate: 5 } } }, {}, "PROMGATE_TENANTS.a.limits.ingestRate is not a known limit"],
    [{ a: { password: "x" } }, { PROMGATE_REQUEST_RATE: "0" }, "PROMGATE_REQUEST_RATE must be a positive integer"],
    [{ a: { password: "x" } }, { PROMGATE_RATE_LIMITER: "limit" }, "PROMGATE_RATE_LIMITER must be a Workers rate-limiting binding ([[ratelimits]] in wrangler.toml), not a variable"],
  ])("refuses %j %j: %s", (tenants, env, message) => {
    expect(() => load(tenants, env)).toThrow(ConfigError);
    expect(() => load(tenants, env)).toThrow(message);
  });

  it("takes a binding as the binding, and an unset one as none", () => {
    const b = { limit: async () => ({ success: true }) };
    expect(load({ a: { password: "x" } }, { PROMGATE_RATE_LIMITER: b }).rateLimiter).toBe(b);
    expect(load({ a: { password: "x" } }).rateLimiter).toBeUndefined();
  });
});
