import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { PromgateMetrics } from "../../src/observe/metrics.js";
import { observeRequests } from "../../src/observe/requests.js";
import { Registry } from "../../src/observe/registry.js";
import { writeRequestOf } from "../../src/observe/self-write.js";
import { decodeWriteRequest, type WriteVisitor } from "../../src/ingest/decode.js";
import { BulkBodyWriter } from "../../src/ingest/documents.js";
import { DEFAULT_LIMITS } from "../../src/config.js";
import { parseBulk } from "../helpers/reference.js";

describe("metrics registry: exposition format 0.0.4", () => {
  it("prints HELP and TYPE once per family, then each label set", () => {
    const r = new Registry();
    const c = r.counter({ name: "x_total", help: "Things.", labelNames: ["route", "status"] });
    c.inc({ route: "/a", status: "200" });
    c.inc({ route: "/a", status: "200" }, 2);
    c.inc({ route: "/b", status: "500" });
    const g = r.gauge({ name: "up", help: "Up." });
    g.set({}, 1);
    expect(r.expose()).toBe(
      [
        "# HELP x_total Things.",
        "# TYPE x_total counter",
        'x_total{route="/a",status="200"} 3',
        'x_total{route="/b",status="500"} 1',
        "# HELP up Up.",
        "# TYPE up gauge",
        "up 1",
        "",
      ].join("\n"),
    );
  });

  it("escapes backslash, quote and newline in label values, backslash and newline in HELP", () => {
    const r = new Registry();
    r.counter({ name: "e_total", help: 'a\\b\nc "q"', labelNames: ["v"] }).inc({ v: 'x\\y"z\nw' });
    expect(r.expose()).toBe(['# HELP e_total a\\\\b\\nc "q"', "# TYPE e_total counter", 'e_total{v="x\\\\y\\"z\\nw"} 1', ""].join("\n"));
  });

  it("histogram: cumulative buckets with inclusive le, +Inf, _sum and _count", () => {
    const r = new Registry();
    const h = r.histogram({ name: "d_seconds", help: "D.", labelNames: ["endpoint"], buckets: [0.1, 1, 10] });
    for (const v of [0.05, 0.1, 0.5, 1, 20]) h.observe({ endpoint: "query" }, v);
    expect(r.expose()).toBe(
      [
        "# HELP d_seconds D.",
        "# TYPE d_seconds histogram",
        'd_seconds_bucket{endpoint="query",le="0.1"} 2',
        'd_seconds_bucket{endpoint="query",le="1"} 4',
        'd_seconds_bucket{endpoint="query",le="10"} 4',
        'd_seconds_bucket{endpoint="query",le="+Inf"} 5',
        'd_seconds_sum{endpoint="query"} 21.65',
        'd_seconds_count{endpoint="query"} 5',
        "",
      ].join("\n"),
    );
  });

  it("non-finite values print as Prometheus spells them; counters ignore negative increments", () => {
    const r = new Registry();
    const g = r.gauge({ name: "g", help: "G.", labelNames: ["k"] });
    g.set({ k: "nan" }, Number.NaN);
    g.set({ k: "pinf" }, Number.POSITIVE_INFINITY);
    g.set({ k: "minf" }, Number.NEGATIVE_INFINITY);
    const c = r.counter({ name: "c_total", help: "C." });
    c.inc({}, 2);
    c.inc({}, -1);
    expect(r.expose()).toContain('g{k="nan"} NaN\ng{k="pinf"} +Inf\ng{k="minf"} -Inf\n');
    expect(r.expose()).toContain("c_total 2\n");
  });

  it("refuses invalid or duplicate names", () => {
    const r = new Registry();
    r.counter({ name: "a_total", help: "A." });
    expect(() => r.counter({ name: "a_total", help: "A." })).toThrow(/twice/);
    expect(() => r.counter({ name: "a-b", help: "x" })).toThrow(/invalid metric name/);
    expect(() => r.histogram({ name: "h", help: "x", labelNames: ["le"], buckets: [1] })).toThrow(/invalid label name/);
    expect(() => r.histogram({ name: "h2", help: "x", buckets: [2, 1] })).toThrow(/increase/);
  });
});

describe("self-remote-write encoding", () => {
  it("registry samples become a WriteRequest the ingest decoder turns into the expected documents", () => {
    const r = new Registry();
    r.counter({ name: "promgate_x_total", help: "X.", labelNames: ["route"] }).inc({ route: "/a" }, 3);
    r.histogram({ name: "promgate_d_seconds", help: "D.", buckets: [1] }).observe({}, 0.5);
    const bytes = writeRequestOf(r.samples(), [["instance", "abc"], ["job", "promgate"]], 1767268800000);
    const writer = new BulkBodyWriter(DEFAULT_LIMITS, 4096);
    const stats = decodeWriteRequest(bytes, DEFAULT_LIMITS, writer satisfies WriteVisitor);
    expect(stats.samples).toBe(5);
    expect(writer.rejected.size).toBe(0);
    const docs = parseBulk(writer.body());
    expect(docs[0]).toEqual({
      "@timestamp": 1767268800000,
      labels: { __name__: "promgate_x_total", instance: "abc", job: "promgate", route: "/a" },
      metrics: { promgate_x_total: 3 },
    });
    expect(docs.map((d) => (d as { labels: Record<string, string> }).labels.__name__)).toEqual([
      "promgate_x_total",
      "promgate_d_seconds_bucket",
      "promgate_d_seconds_bucket",
      "promgate_d_seconds_sum",
      "promgate_d_seconds_count",
    ]);
    expect(docs[2]).toMatchObject({ labels: { le: "+Inf" }, metrics: { promgate_d_seconds_bucket: 1 } });
  });
});

describe("request middleware", () => {
  it("adds x-request-id even to a response whose headers are immutable", async () => {
    const app = new Hono();
    const logs: string[] = [];
    app.use(observeRequests({ metrics: new PromgateMetrics("test"), log: (l) => void logs.push(l) }));
    app.get("/r", () => Response.redirect("http://127.0.0.1/elsewhere", 302));
    const res = await app.request("/r", { headers: { "x-request-id": "fixed-id" } });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("http://127.0.0.1/elsewhere");
    expect(res.headers.get("x-request-id")).toBe("fixed-id");
    expect(JSON.parse(logs[0]!)).toMatchObject({ request_id: "fixed-id", route: "/r", status: 302 });
  });
});
