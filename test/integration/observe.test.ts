import { describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { countDocs, es, integrationConfig, uniquePart } from "../helpers/es.js";
import { writeBody } from "../helpers/payload.js";

const DEV = basic("dev", "promgate-dev");
const quiet = { ...defaultDeps(), log: () => {} };

function value(text: string, line: string): number {
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  if (found === undefined) throw new Error(`no sample ${line} in /metrics`);
  return Number(found.slice(line.length + 1));
}

describe("promgate's own metrics against the real Elasticsearch", () => {
  it("after ingest, /metrics' stored minus duplicates equals what Elasticsearch holds", async () => {
    const app = createApp(integrationConfig(), quiet);
    const ns = uniquePart("obs");
    const stream = `metrics-obs.prometheus-${ns}`;
    const t = Date.now() - 60_000;
    const write = (body: Uint8Array<ArrayBuffer>) =>
      app.request(`/metrics/obs/${ns}/api/v1/write`, { method: "POST", body, headers: { ...PRW1_HEADERS, authorization: DEV } });
    const good = writeBody([
      { labels: { __name__: "obs_requests_total", job: "a" }, samples: [[t, 1], [t + 15_000, 2]] },
      { labels: { __name__: "obs_temperature", job: "a" }, samples: [[t, 21.5]] },
    ]);
    expect((await write(good)).status).toBe(204);
    expect((await write(good)).status).toBe(204); // a retry: TSDS answers 409 for each, counted as stored
    const bad = writeBody([
      { labels: { __name__: "obs_temperature", job: "b" }, samples: [[t, 3]] },
      { labels: { job: "nameless" }, samples: [[t, 4]] },
    ]);
    expect((await write(bad)).status).toBe(400);

    const res = await app.request("/metrics", { headers: { authorization: DEV } });
    const m = await res.text();
    const held = await countDocs(stream);
    expect(held).toBe(4);
    expect(value(m, 'promgate_samples_received_total{tenant="dev"}')).toBe(8);
    expect(value(m, 'promgate_samples_stored_total{tenant="dev"}') - value(m, 'promgate_samples_duplicate_total{tenant="dev"}')).toBe(held);
    expect(value(m, 'promgate_samples_duplicate_total{tenant="dev"}')).toBe(3);
    expect(value(m, 'promgate_samples_rejected_total{tenant="dev",reason="series_without_name_label"}')).toBe(1);
    expect(value(m, "promgate_elasticsearch_bulk_duration_seconds_count")).toBe(3);
    expect(value(m, "promgate_elasticsearch_up")).toBe(1);
    expect(value(m, 'promgate_http_requests_total{route="/metrics/:dataset/:namespace/api/v1/write",method="POST",status="204"}')).toBe(2);
  });

  it("the self-remote-write lands in Elasticsearch and sums over instances with PromQL", async () => {
    const dataset = uniquePart("promgate_self");
    const config = integrationConfig({ PROMGATE_SELF_METRICS: dataset, PROMGATE_SELF_METRICS_INTERVAL_SECONDS: "3600" });
    // Two apps stand for two isolates or processes: each writes its own counters under its own instance.
    const apps = [createApp(config, quiet), createApp(config, quiet)];
    const pending: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => void pending.push(p), passThroughOnException: () => {}, props: {} };
    for (const app of apps) expect((await app.request("/-/healthy", {}, {}, ctx)).status).toBe(200);
    await Promise.all(pending);
    expect(pending).toHaveLength(2);
    const stream = `metrics-${dataset}.prometheus-default`;
    expect(await countDocs(stream, { term: { "labels.__name__": "promgate_build_info" } })).toBe(2);
    await es("POST", `/${stream}/_refresh`);

    const query = 'sum without(instance)(promgate_http_requests_total{job="promgate",route="/-/healthy"})';
    const res = await apps[0]!.request(`/metrics/${dataset}/api/v1/query?query=${encodeURIComponent(query)}&time=${Date.now() / 1000 + 1}`, {
      headers: { authorization: DEV },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    expect(body.data.result).toHaveLength(1);
    expect(body.data.result[0]!.metric).toEqual({ job: "promgate", method: "GET", route: "/-/healthy", status: "200" });
    expect(body.data.result[0]!.value[1]).toBe("2");
  });
});
