import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { ReadRequest_ResponseType, ReadRequestSchema } from "../../src/gen/prometheus/remote_pb.js";
import { basic, PRW1_HEADERS, testConfig } from "../helpers/config.js";
import { emptyEs, fakeEs, type Recorded } from "../helpers/fake-es.js";
import { snappy, V2_CONTENT_TYPE, writeBody, writeBodyV2 } from "../helpers/payload.js";

/**
 * Who may do what, route by route: every route of src/app.ts (health, /metrics, remote_write 1.0 and 2.0,
 * the Prometheus HTTP API under each prefix, remote_read, the status page and its files) against five callers
 * — no credentials, wrong credentials, another tenant, the tenant whose namespace the route names, and an
 * admin — with tenants configured by credentials alone (the default: each its own namespace). These are
 * decisions made before or in how Elasticsearch is asked, so Elasticsearch answers empty here; what data comes
 * back is checked against the real Elasticsearch in test/integration/isolation.test.ts.
 */

const METRICS_TOKEN = "matrix-scrape-token-0123";
const TENANTS = {
  alpha: { password: "alpha-password" },
  beta: { tokens: ["beta-token-0123"] },
  ops: { password: "ops-password", admin: true },
};
const CALLERS = {
  none: undefined,
  wrong: basic("alpha", "not-alphas-password"),
  other: "Bearer beta-token-0123",
  self: basic("alpha", "alpha-password"),
  admin: basic("ops", "ops-password"),
} as const;
type Caller = keyof typeof CALLERS;
/** The namespace each authenticated caller owns (tenants given credentials only: namespace = id). */
const OWN: Record<Caller, string | undefined> = { none: undefined, wrong: undefined, other: "beta", self: "alpha", admin: "ops" };

const matrixSeries = [{ labels: { __name__: "up", job: "matrix" }, samples: [[1767268800000, 1]] as [number, number][] }];
const writeBytes = writeBody(matrixSeries);
const writeV2Bytes = writeBodyV2(matrixSeries);
const readBytes = snappy(
  toBinary(ReadRequestSchema, create(ReadRequestSchema, {
    queries: [{ startTimestampMs: 1767268000000n, endTimestampMs: 1767268800000n, matchers: [{ type: 0, name: "__name__", value: "up" }] }],
    acceptedResponseTypes: [ReadRequest_ResponseType.SAMPLES],
  })),
);

interface Route {
  method: "GET" | "POST";
  path: string;
  body?: "write" | "write2" | "read" | "form";
  /** Query string (GET) or form body (POST). */
  params?: string;
  /** A write's data stream: its dataset, and its namespace when the path names one. */
  writes?: { dataset: string; namespace?: string };
}

const T = "start=1767268000&end=1767268800";
const API: [string, string][] = [
  ["series", `match[]=up&${T}`],
  ["labels", T],
  ["label/job/values", T],
  ["metadata", ""],
  ["query", "query=up&time=1767268800"],
  ["query_range", `query=up&${T}&step=60`],
  ["query_exemplars", `query=up&${T}`],
  ["format_query", "query=up"],
  ["status/buildinfo", ""],
];
/**
 * The prefixes every read route takes (promgate's own, then Elasticsearch's and TimeStream's paths): those
 * that leave the namespace to the tenant, and those that name alpha's.
 */
const OPEN_PREFIXES = ["", "/metrics/app", "/_prometheus", "/_prometheus/metrics/app", "/_prometheus/metrics-app.prometheus-*", "/_time_stream/prom/app"];
const ALPHA_PREFIXES = ["/metrics/app/alpha", "/_prometheus/metrics/app/alpha", "/_prometheus/metrics-app.prometheus-alpha", "/_time_stream/prom/metrics-app.prometheus-alpha"];
/** remote_write routes, with the stream each writes (no namespace: the tenant's). */
const OPEN_WRITES: [string, string][] = [
  ["/api/v1/write", "generic"],
  ["/metrics/app/api/v1/write", "app"],
  ["/_prometheus/api/v1/write", "generic"],
  ["/_prometheus/metrics/app/api/v1/write", "app"],
  ["/_time_stream/prom_write/app", "app"],
];
const ALPHA_WRITES = ["/metrics/app/alpha/api/v1/write", "/_prometheus/metrics/app/alpha/api/v1/write", "/_time_stream/prom_write/metrics-app.prometheus-alpha"];

type Row = [Route, Record<Caller, number>];
const row = (none: number, wrong: number, other: number, self: number, admin: number) => ({ none, wrong, other, self, admin });
/** Anyone's data route: each tenant gets its own streams (or writes into its own namespace). */
const ANY_TENANT_READ = row(401, 401, 200, 200, 200);
const ANY_TENANT_WRITE = row(401, 401, 204, 204, 204);
/** A route naming alpha's namespace: alpha alone; an admin has no data access it was not given. */
const ALPHA_READ = row(401, 401, 403, 200, 403);
const ALPHA_WRITE = row(401, 401, 403, 204, 403);

const MATRIX: Row[] = [
  [{ method: "GET", path: "/-/healthy" }, row(200, 200, 200, 200, 200)],
  [{ method: "GET", path: "/-/ready" }, row(200, 200, 200, 200, 200)],
  [{ method: "GET", path: "/-/static/status.css" }, row(200, 200, 200, 200, 200)],
  [{ method: "GET", path: "/metrics" }, row(401, 401, 403, 403, 200)],
  [{ method: "GET", path: "/" }, row(401, 401, 200, 200, 200)],
  ...(["write", "write2"] as const).flatMap((body): Row[] => [
    ...OPEN_WRITES.map(([path, dataset]): Row => [{ method: "POST", path, body, writes: { dataset } }, ANY_TENANT_WRITE]),
    ...ALPHA_WRITES.map((path): Row => [{ method: "POST", path, body, writes: { dataset: "app", namespace: "alpha" } }, ALPHA_WRITE]),
  ]),
  ...OPEN_PREFIXES.map((p): Row => [{ method: "POST", path: `${p}/api/v1/read`, body: "read" }, ANY_TENANT_READ]),
  ...ALPHA_PREFIXES.map((p): Row => [{ method: "POST", path: `${p}/api/v1/read`, body: "read" }, ALPHA_READ]),
  ...[...OPEN_PREFIXES, ...ALPHA_PREFIXES].flatMap((p) =>
    API.flatMap(([name, params]): Row[] => {
      const expected = ALPHA_PREFIXES.includes(p) ? ALPHA_READ : ANY_TENANT_READ;
      return [
        [{ method: "GET", path: `${p}/api/v1/${name}`, params }, expected],
        [{ method: "POST", path: `${p}/api/v1/${name}`, body: "form", params }, expected],
      ];
    }),
  ),
];

function request(route: Route, authorization: string | undefined): RequestInit & { url: string } {
  const headers: Record<string, string> = authorization ? { authorization } : {};
  if (route.body === "write") return { url: route.path, method: "POST", body: writeBytes, headers: { ...PRW1_HEADERS, ...headers } };
  if (route.body === "write2") {
    const v2 = { "content-type": V2_CONTENT_TYPE, "content-encoding": "snappy", "x-prometheus-remote-write-version": "2.0.0" };
    return { url: route.path, method: "POST", body: writeV2Bytes, headers: { ...v2, ...headers } };
  }
  if (route.body === "read") {
    return { url: route.path, method: "POST", body: readBytes, headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy", ...headers } };
  }
  if (route.body === "form") {
    return { url: route.path, method: "POST", body: route.params ?? "", headers: { "content-type": "application/x-www-form-urlencoded", ...headers } };
  }
  return { url: route.params ? `${route.path}?${route.params}` : route.path, method: "GET", headers };
}

/** Data stream namespaces an Elasticsearch request names (`…prometheus-{ns}` in its path or body). */
function namespacesIn(reqs: Recorded[]): Set<string> {
  const out = new Set<string>();
  for (const r of reqs) {
    const text = `${decodeURIComponent(r.url.pathname)} ${new TextDecoder().decode(r.body)}`;
    for (const m of text.matchAll(/prometheus-([a-z0-9_.*]+)/g)) out.add(m[1]!.replace(/-\*$/, ""));
  }
  return out;
}

function setup() {
  const es = fakeEs(emptyEs);
  const app = createApp(testConfig({ PROMGATE_TENANTS: JSON.stringify(TENANTS), PROMGATE_METRICS_TOKEN: METRICS_TOKEN }), es.deps);
  return { app, es };
}

describe("authorization matrix: tenants configured with credentials only", () => {
  const cases = MATRIX.flatMap(([route, expected]) =>
    (Object.keys(CALLERS) as Caller[]).map((caller) => [`${route.method} ${route.path}${route.params && route.method === "GET" ? `?${route.params}` : ""}${route.body === "write2" ? " (remote write 2.0)" : ""}`, caller, route, expected[caller]] as const),
  );

  it.each(cases)("%s as %s", async (_name, caller, route, status) => {
    const { app, es } = setup();
    const { url, ...init } = request(route, CALLERS[caller]);
    const res = await app.request(url, init);
    const text = await res.text();
    expect(res.status, text).toBe(status);
    if (status === 401) expect(res.headers.get("www-authenticate")).toMatch(/Basic realm="promgate"/);
    if (status === 401 || status === 403) {
      expect(text.trim().split("\n"), "one line").toHaveLength(1);
      // Refused before anything is read from or written to Elasticsearch.
      expect(es.requests.map((r) => r.url.pathname)).toEqual([]);
      return;
    }
    // Whatever Elasticsearch was asked stays within the caller's own namespace (or, for an admin's status
    // page, spans every stream); never alpha's for anyone but alpha.
    const named = namespacesIn(es.requests);
    if (caller !== "self") expect([...named]).not.toContain("alpha");
    const own = OWN[caller];
    if (own !== undefined && !(caller === "admin" && route.path === "/")) {
      for (const ns of named) expect(["*", own], `${ns} in a request of ${caller}`).toContain(ns);
    }
    if (route.writes) {
      const bulk = es.requests.find((r) => r.url.pathname.endsWith("/_bulk"));
      expect(bulk?.url.pathname).toBe(`/metrics-${route.writes.dataset}.prometheus-${own}/_bulk`);
    }
  });

  it("a data read of each tenant filters on the tenant's own backing indices", async () => {
    for (const caller of ["other", "self", "admin"] as const) {
      const { app, es } = setup();
      expect((await app.request("/api/v1/series?match[]=up", { headers: { authorization: CALLERS[caller] } })).status).toBe(200);
      const fieldCaps = es.requests.find((r) => r.url.pathname.endsWith("/_field_caps"))!;
      expect(new TextDecoder().decode(fieldCaps.body)).toContain(`{"wildcard":{"_index":{"value":".ds-metrics-*.prometheus-${OWN[caller]}-*"}}}`);
    }
  });

  it("the scrape token opens /metrics and nothing else", async () => {
    const { app } = setup();
    const bearer = { authorization: `Bearer ${METRICS_TOKEN}` };
    expect((await app.request("/metrics", { headers: bearer })).status).toBe(200);
    for (const [route] of MATRIX.filter(([r]) => r.path !== "/metrics" && !r.path.startsWith("/-/"))) {
      const { url, ...init } = request(route, bearer.authorization);
      expect((await app.request(url, init)).status, `${route.method} ${route.path}`).toBe(401);
    }
  });
});

describe("PROMGATE_AUTH=none keeps the single-user development mode", () => {
  it("every route answers without credentials, writes go to namespace default, /metrics and the cluster facts are open", async () => {
    const es = fakeEs(emptyEs);
    const app = createApp(testConfig({ PROMGATE_AUTH: "none", PROMGATE_TENANTS: "" }), es.deps);
    for (const [route] of MATRIX) {
      const { url, ...init } = request(route, undefined);
      const res = await app.request(url, init);
      expect(res.status, `${route.method} ${url}: ${await res.text()}`).toBe(route.body === "write" || route.body === "write2" ? 204 : 200);
    }
    const written = MATRIX.flatMap(([r]) => (r.writes ? [`/metrics-${r.writes.dataset}.prometheus-${r.writes.namespace ?? "default"}/_bulk`] : []));
    expect(written).toHaveLength(2 * (OPEN_WRITES.length + ALPHA_WRITES.length));
    expect(es.requests.filter((r) => r.url.pathname.endsWith("/_bulk")).map((r) => r.url.pathname)).toEqual(written);
    const page = await (await app.request("/")).text();
    expect(page).toContain('id="es-version"');
    expect(page).toContain("matrix-cluster");
  });
});
