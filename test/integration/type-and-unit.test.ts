import { beforeAll, describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { countDocs, integrationConfig, uniquePart } from "../helpers/es.js";
import { MetricMetadata_MetricType, type SeriesSpec, writeBody } from "../helpers/payload.js";

/**
 * PROMGATE_PROMQL_EXPERIMENTAL=type-and-unit-labels over the real Elasticsearch: series written through
 * remote_write 1.0 with their families' metadata are read by PromQL with `__type__` and `__unit__`.
 */

const DEV = basic("dev", "promgate-dev");
const on = createApp(integrationConfig({ PROMGATE_PROMQL_EXPERIMENTAL: "type-and-unit-labels" }), defaultDeps());
const off = createApp(integrationConfig(), defaultDeps());
const ns = uniquePart("tul");
const prefix = `/metrics/ittul/${ns}`;
const T0 = Date.now() - 10 * 60_000;
const points = (f: (k: number) => number): [number, number][] => Array.from({ length: 20 }, (_, k) => [T0 + k * 15_000, f(k)]);

const SERIES: SeriesSpec[] = [
  { labels: { __name__: "http_requests_total", job: "api" }, samples: points((k) => k * 10) },
  { labels: { __name__: "mem", job: "api" }, samples: points(() => 1024) },
  { labels: { __name__: "req_seconds_bucket", job: "api", le: "+Inf" }, samples: points((k) => k) },
  { labels: { __name__: "no_metadata", job: "api" }, samples: points(() => 1) },
];

beforeAll(async () => {
  const res = await on.request(`${prefix}/api/v1/write`, {
    method: "POST",
    body: writeBody(SERIES, [
      { family: "http_requests_total", type: MetricMetadata_MetricType.COUNTER, help: "Requests." },
      { family: "mem", type: MetricMetadata_MetricType.GAUGE, help: "Memory.", unit: "bytes" },
      { family: "req_seconds", type: MetricMetadata_MetricType.HISTOGRAM, help: "Latency.", unit: "seconds" },
    ]),
    headers: { ...PRW1_HEADERS, authorization: DEV },
  });
  expect(res.status).toBe(204);
  await countDocs(`metrics-ittul.prometheus-${ns},promgate-metadata`); // refresh
});

async function query(app: ReturnType<typeof createApp>, q: string) {
  const res = await app.request(`${prefix}/api/v1/query?${new URLSearchParams({ query: q, time: String((T0 + 19 * 15_000) / 1000) })}`, { headers: { authorization: DEV } });
  const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  expect(body.status).toBe("success");
  return body.data.result.map((s) => s.metric);
}

describe("type-and-unit-labels", () => {
  it("selects series by the type and unit of their family's metadata", async () => {
    expect(await query(on, '{__type__="gauge", __unit__="bytes"}')).toEqual([{ __name__: "mem", __type__: "gauge", __unit__: "bytes", job: "api" }]);
    expect(await query(on, '{__type__="histogram", job="api"}')).toEqual([{ __name__: "req_seconds_bucket", __type__: "histogram", __unit__: "seconds", job: "api", le: "+Inf" }]);
    expect(await query(on, "http_requests_total")).toEqual([{ __name__: "http_requests_total", __type__: "counter", job: "api" }]);
    expect(await query(on, "no_metadata")).toEqual([{ __name__: "no_metadata", job: "api" }]);
  });

  it("drops them with the name", async () => {
    expect(await query(on, "rate(http_requests_total[5m])")).toEqual([{ job: "api" }]);
    expect(await query(on, "sum by (__type__) (mem)")).toEqual([{ __type__: "gauge" }]);
  });

  it("tells counters by __type__ in rate()'s info, as Prometheus does with the flag", async () => {
    const infos = async (app: ReturnType<typeof createApp>, q: string) => {
      const res = await app.request(`${prefix}/api/v1/query?${new URLSearchParams({ query: q, time: String((T0 + 19 * 15_000) / 1000) })}`, { headers: { authorization: DEV } });
      return ((await res.json()) as { infos?: string[] }).infos ?? [];
    };
    expect(await infos(on, "rate(mem[5m])")).toEqual(['PromQL info: metric might not be a counter, __type__ label is not set to "counter" or "histogram", got "gauge": "mem" (1:6)']);
    expect(await infos(on, "rate(no_metadata[5m])")).toEqual(['PromQL info: metric might not be a counter, __type__ label is not set to "counter" or "histogram", got "": "no_metadata" (1:6)']);
    expect(await infos(on, "rate(http_requests_total[5m])")).toEqual([]);
    expect(await infos(off, "rate(mem[5m])")).toEqual(['PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "mem" (1:6)']);
  });

  it("is off by default: the labels are not there to select", async () => {
    expect(await query(off, '{__type__="gauge"}')).toEqual([]);
    expect(await query(off, "mem")).toEqual([{ __name__: "mem", job: "api" }]);
  });
});
