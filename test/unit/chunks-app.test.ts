import { describe, expect, it } from "vitest";
import { createGateway } from "../../src/app.js";
import { loadCompactInterval } from "../../src/config.js";
import { testConfig } from "../helpers/config.js";
import { fakeEs } from "../helpers/fake-es.js";

describe("the chunk index in the app", () => {
  it("has a compactor only with PROMGATE_CHUNKS on, and reads the server's compaction interval", () => {
    expect(createGateway(testConfig(), fakeEs().deps).compactor).toBeUndefined();
    expect(createGateway(testConfig({ PROMGATE_CHUNKS: "on" }), fakeEs().deps).compactor).toBeDefined();
    expect(loadCompactInterval({})).toBeUndefined();
    expect(loadCompactInterval({ PROMGATE_CHUNKS_COMPACT_INTERVAL: "5m" })).toBe(300_000);
    expect(() => loadCompactInterval({ PROMGATE_CHUNKS_COMPACT_INTERVAL: "often" })).toThrow(/PROMGATE_CHUNKS_COMPACT_INTERVAL/);
  });

  it("reports how far the compactor lags behind in /metrics", async () => {
    const es = fakeEs((req) => {
      // Streams: one with a first sample long ago; progress: none; everything else empty.
      if (req.url.pathname.startsWith("/metrics-*.prometheus-*/_search")) {
        return Response.json({ aggregations: { i: { buckets: [{ key: ".ds-metrics-a.prometheus-b-2026.01.01-000001", doc_count: 0, t: { value: 0 } }] } } });
      }
      if (req.url.pathname.endsWith("/_pit")) return Response.json({ id: "pit" });
      return Response.json({});
    });
    const { app, compactor } = createGateway(testConfig({ PROMGATE_CHUNKS: "on" }), es.deps);
    const step = await compactor!.step();
    expect(step.kind).toBe("skipped");
    const text = await (await app.request("/metrics", { headers: { authorization: `Basic ${btoa("dev:dev-password")}` } })).text();
    expect(text).toMatch(/^promgate_chunks_lag_seconds [1-9]\d*/m);
  });
});
