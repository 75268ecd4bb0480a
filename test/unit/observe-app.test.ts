import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { basic, PRW1_HEADERS, testConfig } from "../helpers/config.js";
import { allCreated, type Behaviour, bulkItems, fakeEs } from "../helpers/fake-es.js";
import { writeBody } from "../helpers/payload.js";
import { parseBulk } from "../helpers/reference.js";

const DEV = basic("dev", "dev-password");
const METRICS_TOKEN = "scrape-token-0123456789";
const goodBody = writeBody([{ labels: { __name__: "up", job: "a" }, samples: [[1767268800000, 1]] }]);

function setup(behaviour: Behaviour = allCreated, env: Record<string, string> = {}) {
  const es = fakeEs(behaviour);
  const app = createApp(testConfig({ PROMGATE_METRICS_TOKEN: METRICS_TOKEN, ...env }), es.deps);
  const write = (body: BodyInit = goodBody, headers: Record<string, string> = {}, path = "/api/v1/write") =>
    app.request(path, { method: "POST", body, headers: { ...PRW1_HEADERS, authorization: DEV, ...headers } });
  const scrape = async (): Promise<string> => {
    const res = await app.request("/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    return res.text();
  };
  return { app, es, write, scrape };
}

/** The value of one sample in an exposition, labels given in the metric's label order; undefined if absent. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const l = Object.entries(labels);
  const prefix = `${name}${l.length > 0 ? `{${l.map(([k, v]) => `${k}="${v}"`).join(",")}}` : ""} `;
  const line = text.split("\n").find((x) => x.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

const logLines = (logs: string[]) => logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "request");

describe("/metrics: counters after ingest", () => {
  it("a good write: request, samples, bytes, _bulk latency, Elasticsearch up", async () => {
    const { write, scrape } = setup();
    expect((await write()).status).toBe(204);
    const m = await scrape();
    expect(value(m, "promgate_http_requests_total", { route: "/api/v1/write", method: "POST", status: "204" })).toBe(1);
    expect(value(m, "promgate_samples_received_total", { tenant: "dev" })).toBe(1);
    expect(value(m, "promgate_samples_stored_total", { tenant: "dev" })).toBe(1);
    expect(value(m, "promgate_samples_duplicate_total", { tenant: "dev" })).toBe(0);
    expect(value(m, "promgate_received_bytes_total", { stage: "compressed" })).toBe(goodBody.length);
    expect(value(m, "promgate_received_bytes_total", { stage: "decompressed" })).toBeGreaterThan(goodBody.length - 10);
    expect(value(m, "promgate_elasticsearch_bulk_duration_seconds_count")).toBe(1);
    expect(value(m, "promgate_elasticsearch_bulk_duration_seconds_bucket", { le: "+Inf" })).toBe(1);
    expect(value(m, "promgate_elasticsearch_up")).toBe(1);
    expect(value(m, "promgate_build_info", { version: "0.1.0" })).toBe(1);
    expect(m).not.toContain("promgate_samples_rejected_total{");
  });

  it("counts by route pattern, not by raw path; an unknown path is 'unmatched'", async () => {
    const { app, write, scrape } = setup();
    expect((await write(goodBody, {}, "/metrics/app/prod/api/v1/write")).status).toBe(204);
    expect((await app.request("/no/such/thing")).status).toBe(404);
    const m = await scrape();
    expect(value(m, "promgate_http_requests_total", { route: "/metrics/:dataset/:namespace/api/v1/write", method: "POST", status: "204" })).toBe(1);
    expect(value(m, "promgate_http_requests_total", { route: "unmatched", method: "GET", status: "404" })).toBe(1);
    expect(m).not.toContain("/metrics/app/prod");
  });

  it("a bad write (400 with reason): valid samples stored, the rest rejected by reason", async () => {
    const { write, scrape, es } = setup();
    const body = writeBody([
      { labels: { __name__: "up", job: "a" }, samples: [[1767268800000, 1]] },
      { labels: { job: "nameless" }, samples: [[1767268800000, 1], [1767268801000, 2]] },
    ]);
    const res = await write(body);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/series without __name__ label/);
    const m = await scrape();
    expect(value(m, "promgate_samples_received_total", { tenant: "dev" })).toBe(3);
    expect(value(m, "promgate_samples_stored_total", { tenant: "dev" })).toBe(1);
    expect(value(m, "promgate_samples_rejected_total", { tenant: "dev", reason: "series_without_name_label" })).toBe(2);
    expect(value(m, "promgate_http_requests_total", { route: "/api/v1/write", method: "POST", status: "400" })).toBe(1);
    const line = logLines(es.logs).find((l) => l.status === 400)!;
    expect(line).toMatchObject({ level: "warn", tenant: "dev", samples: 3, stored: 1 });
    expect(line.error).toMatch(/^stored 1 samples; not stored: series without __name__ label/);
  });

  it("a 401: counted, no samples, no tenant", async () => {
    const { write, scrape, es } = setup();
    expect((await write(goodBody, { authorization: basic("dev", "wrong") })).status).toBe(401);
    const m = await scrape();
    expect(value(m, "promgate_http_requests_total", { route: "/api/v1/write", method: "POST", status: "401" })).toBe(1);
    expect(value(m, "promgate_samples_received_total", { tenant: "dev" })).toBeUndefined();
    expect(logLines(es.logs)[0]).toMatchObject({ status: 401, tenant: "", error: "invalid username or password" });
  });

  it("TSDS duplicates (409) count as stored and as duplicates", async () => {
    const { write, scrape } = setup((_r, n) => bulkItems(Array(n).fill([409, "version_conflict_engine_exception", "exists"])));
    expect((await write()).status).toBe(204);
    const m = await scrape();
    expect(value(m, "promgate_samples_stored_total", { tenant: "dev" })).toBe(1);
    expect(value(m, "promgate_samples_duplicate_total", { tenant: "dev" })).toBe(1);
    expect(value(m, "promgate_elasticsearch_bulk_item_failures_total", { status: "409" })).toBeUndefined();
  });

  it("Elasticsearch throttling: item 429 and request 429", async () => {
    const items = setup((_r, n) => bulkItems(Array(n).fill([429, "es_rejected_execution_exception", "queue full"])));
    expect((await items.write()).status).toBe(503);
    let m = await items.scrape();
    expect(value(m, "promgate_samples_rejected_total", { tenant: "dev", reason: "elasticsearch_throttled" })).toBe(1);
    expect(value(m, "promgate_samples_stored_total", { tenant: "dev" })).toBe(0);
    expect(value(m, "promgate_elasticsearch_bulk_item_failures_total", { status: "429" })).toBe(1);
    expect(value(m, "promgate_elasticsearch_up")).toBe(1);

    const whole = setup(() => new Response('{"error":"too many"}', { status: 429 }));
    expect((await whole.write()).status).toBe(503);
    m = await whole.scrape();
    expect(value(m, "promgate_elasticsearch_bulk_failures_total", { status: "429" })).toBe(1);
    expect(value(m, "promgate_samples_rejected_total", { tenant: "dev", reason: "elasticsearch_throttled" })).toBe(1);
  });

  it("Elasticsearch down: 503 answer, refused connection, timeout; reachability goes to 0", async () => {
    for (const [behaviour, status] of [
      [() => new Response("unavailable", { status: 503 }), "503"],
      [() => "refuse", "unreachable"],
      [() => "hang", "timeout"],
    ] as [Behaviour, string][]) {
      const { write, scrape, es } = setup(behaviour);
      expect((await write()).status).toBe(503);
      const m = await scrape();
      expect(value(m, "promgate_elasticsearch_bulk_failures_total", { status })).toBe(1);
      expect(value(m, "promgate_elasticsearch_up")).toBe(0);
      expect(value(m, "promgate_samples_rejected_total", { tenant: "dev", reason: "elasticsearch_unavailable" })).toBe(1);
      expect(logLines(es.logs)[0]).toMatchObject({ level: "error", status: 503 });
    }
  });

  it("/-/ready sets reachability from its own call", async () => {
    let up = false;
    const { app, scrape } = setup(() => (up ? Response.json({ status: "green" }) : "refuse"));
    expect((await app.request("/-/ready")).status).toBe(503);
    expect(value(await scrape(), "promgate_elasticsearch_up")).toBe(0);
    up = true;
    expect((await app.request("/-/ready")).status).toBe(200);
    expect(value(await scrape(), "promgate_elasticsearch_up")).toBe(1);
  });

  it("a query: latency by endpoint, tenant in the log line", async () => {
    const { app, scrape, es } = setup();
    const res = await app.request("/api/v1/query?query=1%2B1&time=1767268800", { headers: { authorization: DEV } });
    expect(res.status).toBe(200);
    const bad = await app.request("/api/v1/query?query=sum(", { headers: { authorization: DEV } });
    expect(bad.status).toBe(400);
    const m = await scrape();
    expect(value(m, "promgate_query_duration_seconds_count", { endpoint: "query" })).toBe(2);
    expect(value(m, "promgate_http_requests_total", { route: "/api/v1/query", method: "GET", status: "200" })).toBe(1);
    const lines = logLines(es.logs);
    expect(lines[0]).toMatchObject({ tenant: "dev", route: "/api/v1/query", status: 200, samples: 0 });
    expect(lines[1]).toMatchObject({ tenant: "dev", status: 400, error: expect.stringMatching(/parse error/) });
  });
});

describe("/metrics: access", () => {
  it("401 without or with wrong credentials; an admin tenant or the scrape token may read; text format 0.0.4", async () => {
    const { app } = setup();
    const none = await app.request("/metrics");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/Bearer/);
    expect((await app.request("/metrics", { headers: { authorization: "Bearer not-the-token-at-all" } })).status).toBe(401);
    for (const authorization of [DEV, `Bearer ${METRICS_TOKEN}`]) {
      const res = await app.request("/metrics", { headers: { authorization } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    }
  });

  it("403 for a tenant that is not an admin: the metrics name every tenant and its volumes", async () => {
    const { app, write } = setup();
    expect((await write()).status).toBe(204); // so there is a tenant="dev" series to leak
    for (const authorization of ["Bearer token-of-team-a", basic("small", "small-password")]) {
      const res = await app.request("/metrics", { headers: { authorization } });
      expect(res.status).toBe(403);
      const text = await res.text();
      expect(text).toMatch(/^tenant "(teama|small)" may not read \/metrics \(needs PROMGATE_METRICS_TOKEN or a tenant with "admin": true\)\n$/);
      expect(text).not.toContain("dev");
    }
  });

  it("a tenant named like the scrape token's pseudo-tenant is not it", async () => {
    const es = fakeEs();
    const tenants = JSON.stringify({ "metrics-scraper": { password: "pw", namespace: "scraper" } });
    const app = createApp(testConfig({ PROMGATE_TENANTS: tenants, PROMGATE_METRICS_TOKEN: METRICS_TOKEN }), es.deps);
    expect((await app.request("/metrics", { headers: { authorization: basic("metrics-scraper", "pw") } })).status).toBe(403);
    expect((await app.request("/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
  });

  it("the scrape token opens /metrics only, not the data routes", async () => {
    const { write } = setup();
    expect((await write(goodBody, { authorization: `Bearer ${METRICS_TOKEN}` })).status).toBe(401);
  });

  it("is open with PROMGATE_AUTH=none", async () => {
    const es = fakeEs();
    const app = createApp(testConfig({ PROMGATE_AUTH: "none", PROMGATE_TENANTS: "" }), es.deps);
    expect((await app.request("/metrics")).status).toBe(200);
  });
});

describe("request logs", () => {
  it("one JSON line per request with the documented fields; a request id is generated and echoed", async () => {
    const { write, es } = setup();
    const res = await write();
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(es.logs).toHaveLength(1);
    const line = JSON.parse(es.logs[0]!) as Record<string, unknown>;
    expect(line).toEqual({
      ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      level: "info",
      msg: "request",
      request_id: id,
      tenant: "dev",
      method: "POST",
      route: "/api/v1/write",
      status: 204,
      duration_ms: expect.any(Number),
      samples: 1,
      stored: 1,
      bytes: goodBody.length,
    });
  });

  it("logs each configuration warning once when the app is created, as a warn line without secrets", async () => {
    const es = fakeEs();
    const tenants = JSON.stringify({ plain: { password: "plain-secret-pw" }, ops: { password: "p", admin: true, streams: ["metrics-*.prometheus-*"], namespace: "default" } });
    const app = createApp(testConfig({ PROMGATE_TENANTS: tenants }), es.deps);
    expect(es.logs.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      { ts: "2026-01-01T12:00:00.000Z", level: "warn", msg: expect.stringMatching(/^PROMGATE_TENANTS\.plain sets neither "streams" nor "namespace": .*"streams": \["metrics-\*\.prometheus-\*"\], "namespace": "default"$/) },
    ]);
    await app.request("/-/healthy");
    await app.request("/-/healthy");
    expect(es.logs.filter((l) => l.includes('"level":"warn"'))).toHaveLength(1);
    expect(es.logs.join("\n")).not.toContain("plain-secret-pw");
  });

  it("takes a safe incoming x-request-id, else cf-ray, else makes one", async () => {
    const { app, es } = setup();
    const idOf = async (headers: Record<string, string>) => (await app.request("/-/healthy", { headers })).headers.get("x-request-id");
    expect(await idOf({ "x-request-id": "abc-123.XY:z_9" })).toBe("abc-123.XY:z_9");
    expect(await idOf({ "cf-ray": "8f1e2d3c4b5a6978-AMS" })).toBe("8f1e2d3c4b5a6978-AMS");
    expect(await idOf({ "x-request-id": "evil\"} {\"level\":\"x", "cf-ray": "8f1e-AMS" })).toBe("8f1e-AMS");
    expect(await idOf({ "x-request-id": "x".repeat(200) })).toMatch(/^[0-9a-f-]{36}$/);
    expect(logLines(es.logs).map((l) => l.request_id)).toEqual(["abc-123.XY:z_9", "8f1e2d3c4b5a6978-AMS", "8f1e-AMS", expect.stringMatching(/^[0-9a-f-]{36}$/)]);
  });
});

describe("secrets never leak", () => {
  it("no credential appears in any log line, error body or /metrics output", async () => {
    const secrets = {
      ES_PASSWORD: "es-pw-SECRET-7f3a9c",
      tenantPassword: "tenant-pw-SECRET-1b2c3d",
      tenantToken: "tenant-token-SECRET-4e5f6a",
      metricsToken: "metrics-token-SECRET-8b9c0d",
    };
    const tenants = { dev: { password: secrets.tenantPassword, tokens: [secrets.tenantToken] } };
    const seen: string[] = [];
    const run = async (behaviour: Behaviour) => {
      const es = fakeEs(behaviour);
      const app = createApp(
        testConfig({ ES_PASSWORD: secrets.ES_PASSWORD, PROMGATE_TENANTS: JSON.stringify(tenants), PROMGATE_METRICS_TOKEN: secrets.metricsToken }),
        es.deps,
      );
      const good = basic("dev", secrets.tenantPassword);
      const requests: [string, RequestInit][] = [
        ["/api/v1/write", { method: "POST", body: goodBody, headers: { ...PRW1_HEADERS, authorization: good } }],
        ["/api/v1/write", { method: "POST", body: goodBody, headers: { ...PRW1_HEADERS, authorization: `Bearer ${secrets.tenantToken}` } }],
        ["/api/v1/write", { method: "POST", body: goodBody, headers: { ...PRW1_HEADERS, authorization: basic("dev", `${secrets.tenantPassword}x`) } }],
        ["/api/v1/write", { method: "POST", body: "garbage", headers: { ...PRW1_HEADERS, authorization: good } }],
        ["/api/v1/query?query=up", { headers: { authorization: good } }],
        ["/api/v1/query?query=1", { headers: { authorization: `Bearer ${secrets.metricsToken}x` } }],
        ["/-/ready", {}],
        ["/metrics", { headers: { authorization: basic("dev", secrets.metricsToken) } }],
        ["/metrics", { headers: { authorization: `Bearer ${secrets.metricsToken}` } }],
        ["/metrics", { headers: { authorization: good } }],
      ];
      for (const [path, init] of requests) seen.push(await (await app.request(path, init)).text());
      seen.push(...es.logs);
    };
    await run(allCreated);
    await run(() => new Response('{"error":{"type":"security_exception","reason":"unable to authenticate"}}', { status: 401 }));
    await run((_r, n) => bulkItems(Array(n).fill([429, "es_rejected_execution_exception", "queue full"])));
    await run(() => new Response("unavailable", { status: 503 }));
    await run(() => "refuse");
    await run(() => "hang");
    const all = seen.join("\n");
    expect(all).toContain("promgate_http_requests_total"); // the /metrics output is among what was checked
    expect(all).toContain('"msg":"request"');
    for (const s of Object.values(secrets)) {
      expect(all).not.toContain(s);
      expect(all).not.toContain(btoa(`elastic:${s}`));
      expect(all).not.toContain(btoa(`dev:${s}`));
    }
  });
});

describe("self-remote-write (PROMGATE_SELF_METRICS)", () => {
  it("writes the registry through _bulk at most once per interval, handed to waitUntil", async () => {
    const es = fakeEs();
    let now = 1767268800000;
    const app = createApp(
      testConfig({ PROMGATE_SELF_METRICS: "promgate", PROMGATE_SELF_METRICS_INTERVAL_SECONDS: "60" }),
      { ...es.deps, now: () => now },
    );
    const pending: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => void pending.push(p), passThroughOnException: () => {}, props: {} };
    const healthy = () => app.request("/-/healthy", {}, {}, ctx);

    expect((await healthy()).status).toBe(200);
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
    const selfWrites = () => es.requests.filter((r) => r.url.pathname === "/metrics-promgate.prometheus-default/_bulk");
    expect(selfWrites()).toHaveLength(1);
    const docs = parseBulk(selfWrites()[0]!.body) as { "@timestamp": number; labels: Record<string, string>; metrics: Record<string, number> }[];
    const requests = docs.find((d) => d.labels.__name__ === "promgate_http_requests_total")!;
    expect(requests).toEqual({
      "@timestamp": now,
      labels: { __name__: "promgate_http_requests_total", instance: expect.stringMatching(/^[0-9a-f]{8}$/), job: "promgate", method: "GET", route: "/-/healthy", status: "200" },
      metrics: { promgate_http_requests_total: 1 },
    });

    now += 59_000;
    await healthy();
    expect(pending).toHaveLength(1); // not yet
    now += 1_000;
    await healthy();
    expect(pending).toHaveLength(2);
    await Promise.all(pending);
    expect(selfWrites()).toHaveLength(2);
  });

  it("a failed self-write is logged (without credentials) and never fails the request", async () => {
    const es = fakeEs(() => "refuse");
    const app = createApp(testConfig({ PROMGATE_SELF_METRICS: "promgate" }), es.deps);
    const pending: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => void pending.push(p), passThroughOnException: () => {}, props: {} };
    expect((await app.request("/-/healthy", {}, {}, ctx)).status).toBe(200);
    await Promise.all(pending);
    const warn = es.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "self metrics write failed");
    expect(warn).toMatchObject({ level: "warn", data_stream: "metrics-promgate.prometheus-default", error: expect.stringMatching(/unreachable/) });
    expect(es.logs.join("\n")).not.toContain("es-secret");
  });

  it("is off by default; the settings are validated", () => {
    expect(testConfig().selfMetrics).toBeUndefined();
    expect(testConfig({ PROMGATE_SELF_METRICS: "off" }).selfMetrics).toBeUndefined();
    expect(testConfig({ PROMGATE_SELF_METRICS: "promgate.self" }).selfMetrics).toEqual({ dataset: "promgate.self", intervalSeconds: 60 });
    expect(() => testConfig({ PROMGATE_SELF_METRICS: "Bad-Name" })).toThrow(/PROMGATE_SELF_METRICS must be "off" or a dataset/);
    expect(() => testConfig({ PROMGATE_SELF_METRICS: "x", PROMGATE_SELF_METRICS_INTERVAL_SECONDS: "0" })).toThrow(/PROMGATE_SELF_METRICS_INTERVAL_SECONDS/);
    expect(() => testConfig({ PROMGATE_METRICS_TOKEN: "short-secret-x" })).toThrow(/PROMGATE_METRICS_TOKEN must be 16 or more characters/);
    try {
      testConfig({ PROMGATE_METRICS_TOKEN: "short-secret-x" });
    } catch (e) {
      expect(String(e)).not.toContain("short-secret-x");
    }
  });
});

describe("reachability before any traffic", () => {
  it("the first scrape of a fresh app asks Elasticsearch once; later scrapes do not", async () => {
    for (const [behaviour, up] of [[allCreated, 1], [() => "refuse", 0]] as [Behaviour, number][]) {
      const { es, scrape } = setup(behaviour);
      expect(value(await scrape(), "promgate_elasticsearch_up")).toBe(up);
      expect(es.requests.map((r) => r.url.pathname)).toEqual(["/_cluster/health"]);
      await scrape();
      expect(es.requests).toHaveLength(1);
    }
  });
});
