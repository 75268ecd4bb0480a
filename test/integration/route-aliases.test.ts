import { create, toBinary } from "@bufbuild/protobuf";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { ReadRequest_ResponseType, ReadRequestSchema } from "../../src/gen/prometheus/remote_pb.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { countDocs, gateEnv, searchDocs, uniquePart } from "../helpers/es.js";
import { MetricMetadata_MetricType, type SeriesSpec, snappy, writeBody } from "../helpers/payload.js";

/**
 * Elasticsearch's `/_prometheus/…` and TimeStream's `/_time_stream/…` routes against the real Elasticsearch:
 * the same data written through a native route and through each alias is stored the same (document for
 * document, in the stream the alias names), and every read alias answers what its native route answers.
 */

const NS = uniquePart("alias"); // the tenant's id and namespace
const AUTH = basic(NS, "alias-pw");
const app = (() => {
  const config = loadConfig({ ...gateEnv(), PROMGATE_TENANTS: JSON.stringify({ [NS]: { password: "alias-pw" } }) });
  return createApp(config, { ...defaultDeps(), log: () => undefined });
})();

const T0 = Math.floor((Date.now() - 20 * 60_000) / 60_000) * 60_000;
/** The same three series with five samples each, told apart only by `via` (the route that wrote them). */
const series = (via: string): SeriesSpec[] =>
  ["a", "b", "c"].map((job, j) => ({
    labels: { __name__: "alias_requests_total", job, via },
    samples: Array.from({ length: 5 }, (_, k): [number, number] => [T0 + k * 60_000, (j + 1) * 10 + k]),
  }));
const metadata = [{ family: "alias_requests_total", type: MetricMetadata_MetricType.COUNTER, help: "Requests.", unit: "" }];

/** [write route, the stream it writes for this tenant] — a native route first, then the aliases. */
const WRITES: [string, string][] = [
  ["/metrics/nat/api/v1/write", `metrics-nat.prometheus-${NS}`],
  [`/metrics/natns/${NS}/api/v1/write`, `metrics-natns.prometheus-${NS}`],
  ["/_prometheus/api/v1/write", `metrics-generic.prometheus-${NS}`],
  ["/_prometheus/metrics/esa/api/v1/write", `metrics-esa.prometheus-${NS}`],
  [`/_prometheus/metrics/esb/${NS}/api/v1/write`, `metrics-esb.prometheus-${NS}`],
  ["/_time_stream/prom_write/tsa", `metrics-tsa.prometheus-${NS}`],
  [`/_time_stream/prom_write/metrics-tsb.prometheus-${NS}`, `metrics-tsb.prometheus-${NS}`],
];
const viaOf = (route: string) => route.replace(/[^a-z0-9]+/g, "_");

beforeAll(async () => {
  for (const [route] of WRITES) {
    const res = await app.request(route, { method: "POST", body: writeBody(series(viaOf(route)), metadata), headers: { ...PRW1_HEADERS, authorization: AUTH } });
    expect(res.status, `${route}: ${await res.text()}`).toBe(204);
  }
  await countDocs(`${WRITES.map(([, s]) => s).join(",")},promgate-metadata`); // refresh
});

describe("write aliases store what the native routes store", () => {
  it.each(WRITES.slice(2))("%s writes %s, document for document as a native route", async (route, stream) => {
    const strip = (docs: Record<string, unknown>[]) =>
      docs.map((d) => JSON.stringify({ ...d, labels: { ...(d.labels as Record<string, string>), via: undefined } })).sort();
    const native = await searchDocs(WRITES[0]![1], { match_all: {} });
    const alias = await searchDocs(stream, { term: { "labels.via": viaOf(route) } });
    expect(native).toHaveLength(15);
    expect(strip(alias)).toEqual(strip(native));
  });
});

const T = `start=${T0 / 1000 - 60}&end=${T0 / 1000 + 300}`;
const API = [
  `query?query=${encodeURIComponent("sum by (job) (alias_requests_total)")}&time=${T0 / 1000 + 240}`,
  `query_range?query=${encodeURIComponent("sum by (job) (increase(alias_requests_total[2m]))")}&${T}&step=60`,
  `series?match[]=alias_requests_total&${T}`,
  `labels?${T}`,
  `label/via/values?${T}`,
  `metadata?metric=alias_requests_total`,
  `status/buildinfo`,
];
/** Something each answer holds when it found the data written above (so two empty answers cannot pass as equal). */
const FOUND: [string, string][] = [
  ["query?", '"job":"a"'],
  ["query_range?", '"job":"a"'],
  ["series?", '"__name__":"alias_requests_total"'],
  ["labels?", '"via"'],
  ["label/via/values?", "_write"],
  ["metadata?", '"alias_requests_total":[{"type":"counter"'],
  ["status/buildinfo", '"version"'],
];
/** [read alias prefix, the native prefix that reads the same streams]. */
const READS: [string, string][] = [
  ["/_prometheus", ""],
  ["/_prometheus/metrics/esa", "/metrics/esa"],
  [`/_prometheus/metrics/esb/${NS}`, `/metrics/esb/${NS}`],
  [`/_prometheus/metrics-esa.prometheus-${NS}`, `/metrics/esa/${NS}`],
  ["/_prometheus/metrics-esb.prometheus-*", "/metrics/esb"],
  ["/_time_stream/prom/tsa", `/metrics/tsa/${NS}`],
  [`/_time_stream/prom/metrics-tsb.prometheus-${NS}`, `/metrics/tsb/${NS}`],
];

async function get(path: string): Promise<{ status: number; body: unknown }> {
  const res = await app.request(path, { headers: { authorization: AUTH } });
  return { status: res.status, body: await res.json() };
}

describe("read aliases answer what the native routes answer", () => {
  it.each(READS.flatMap(([alias, native]) => API.map((endpoint) => [alias, endpoint, native] as const)))(
    "%s/api/v1/%s = %s",
    async (alias, endpoint, native) => {
      const expected = await get(`${native}/api/v1/${endpoint}`);
      expect(expected.status).toBe(200);
      expect(JSON.stringify(expected.body)).toContain(FOUND.find(([prefix]) => endpoint.startsWith(prefix))![1]);
      expect(await get(`${alias}/api/v1/${endpoint}`)).toEqual(expected);
    },
  );

  it("an index expression of several streams reads them all", async () => {
    const r = await get(`/_prometheus/metrics-esa.prometheus-${NS},metrics-tsa.prometheus-${NS}/api/v1/label/via/values?${T}`);
    expect(r.body).toEqual({ status: "success", data: [viaOf("/_prometheus/metrics/esa/api/v1/write"), viaOf("/_time_stream/prom_write/tsa")].sort() });
  });

  it("remote_read through an alias answers the bytes the native route answers", async () => {
    const body = snappy(
      toBinary(ReadRequestSchema, create(ReadRequestSchema, {
        queries: [{ startTimestampMs: BigInt(T0 - 60_000), endTimestampMs: BigInt(T0 + 300_000), matchers: [{ type: 0, name: "__name__", value: "alias_requests_total" }] }],
        acceptedResponseTypes: [ReadRequest_ResponseType.SAMPLES],
      })),
    );
    const read = async (prefix: string) => {
      const res = await app.request(`${prefix}/api/v1/read`, { method: "POST", body, headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", authorization: AUTH } });
      expect(res.status).toBe(200);
      return new Uint8Array(await res.arrayBuffer());
    };
    const native = await read(`/metrics/tsa/${NS}`);
    expect(native.length).toBeGreaterThan(100);
    expect(await read("/_time_stream/prom/tsa")).toEqual(native);
  });
});
