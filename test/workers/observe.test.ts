import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";

/**
 * promgate's own observability inside workerd: the registry and exposition use only the language, and the
 * self-remote-write is handed to the real ExecutionContext's waitUntil.
 */
describe("observability inside workerd", () => {
  it("serves /metrics, logs one JSON line per request, and writes its own metrics through waitUntil", async () => {
    const calls: string[] = [];
    const logs: string[] = [];
    const config = loadConfig({
      PROMGATE_TENANTS: JSON.stringify({ dev: { password: "pw", namespace: "dev", streams: ["metrics-*.prometheus-dev"] } }),
      PROMGATE_METRICS_TOKEN: "workerd-scrape-token",
      PROMGATE_SELF_METRICS: "promgate",
    });
    const app = createApp(config, {
      now: () => Date.now(),
      log: (l) => void logs.push(l),
      fetch: async (input, init) => {
        const req = new Request(input, init);
        calls.push(new URL(req.url).pathname);
        if (!req.url.includes("_bulk")) return Response.json({ status: "green" });
        const docs = (await req.text()).split("\n").filter((l) => l !== "").length / 2;
        return Response.json({ errors: false, items: Array(docs).fill({ create: { status: 201 } }) });
      },
    });
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request("http://promgate/metrics", { headers: { authorization: "Bearer workerd-scrape-token" } }), {}, ctx);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await res.text()).toContain('promgate_build_info{version="0.1.0"} 1');
    await waitOnExecutionContext(ctx);
    // The first scrape asks ES once for the reachability gauge; the self-write follows.
    expect(calls).toEqual(["/_cluster/health", "/metrics-promgate.prometheus-default/_bulk"]);
    expect(JSON.parse(logs[0]!)).toMatchObject({ msg: "request", route: "/metrics", status: 200, tenant: "metrics-scraper" });
  });
});
