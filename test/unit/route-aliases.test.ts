import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { basic, PRW1_HEADERS, testConfig } from "../helpers/config.js";
import { emptyEs, fakeEs, type Recorded } from "../helpers/fake-es.js";
import { writeBody } from "../helpers/payload.js";

/**
 * Elasticsearch's `/_prometheus/…` paths and Alibaba TimeStream's `/_time_stream/…` paths are aliases of
 * promgate's own routes: the same handler, with the same streams. Shown by asking Elasticsearch exactly the
 * same requests (paths, index expressions, filters, bodies) through the alias as through the native route,
 * and answering the same. Names the aliases cannot map are 400, streams outside the tenant's 403.
 * The same routes against the real Elasticsearch: test/integration/route-aliases.test.ts; who may use which
 * alias: test/unit/auth-matrix.test.ts.
 */

const TENANTS = {
  alpha: { password: "alpha-password" },
  beta: { password: "beta-password" },
  apps: { password: "apps-password", namespace: "apps", streams: ["metrics-web.prometheus-apps"] },
};
const ALPHA = basic("alpha", "alpha-password");

function setup() {
  const es = fakeEs(emptyEs);
  const app = createApp(testConfig({ PROMGATE_TENANTS: JSON.stringify(TENANTS) }), es.deps);
  return { app, es };
}

/** What Elasticsearch was asked, comparable across two runs. */
const asked = (reqs: Recorded[]) => reqs.map((r) => `${r.method} ${decodeURIComponent(r.url.pathname)}${r.url.search} ${new TextDecoder().decode(r.body)}`);

async function run(path: string, init: RequestInit = {}, authorization = ALPHA) {
  const { app, es } = setup();
  const res = await app.request(path, { ...init, headers: { ...(init.headers as Record<string, string>), authorization } });
  return { status: res.status, text: await res.text(), asked: asked(es.requests) };
}

const T = "start=1767268000&end=1767268800";
const API = [
  `query?query=up&time=1767268800`,
  `query_range?query=rate(up[5m])&${T}&step=60`,
  `series?match[]=up&${T}`,
  `labels?${T}`,
  `label/job/values?${T}`,
  `metadata?metric=up`,
  `status/buildinfo`,
];

/** [alias prefix, the native prefix it stands for] when tenant alpha (namespace alpha) asks. */
const READ_ALIASES: [string, string][] = [
  ["/_prometheus", ""],
  ["/_prometheus/metrics/app", "/metrics/app"],
  ["/_prometheus/metrics/app/alpha", "/metrics/app/alpha"],
  ["/_prometheus/metrics-app.prometheus-alpha", "/metrics/app/alpha"],
  ["/_prometheus/metrics-app.prometheus-*", "/metrics/app"],
  ["/_time_stream/prom/app", "/metrics/app/alpha"],
  ["/_time_stream/prom/metrics-app.prometheus-alpha", "/metrics/app/alpha"],
];

describe("read aliases", () => {
  it.each(READ_ALIASES.flatMap(([alias, native]) => API.map((endpoint) => [alias, native, endpoint] as const)))(
    "%s/api/v1/%s asks Elasticsearch what %s/api/v1/%s asks",
    async (alias, native, endpoint) => {
      const viaNative = await run(`${native}/api/v1/${endpoint}`);
      const viaAlias = await run(`${alias}/api/v1/${endpoint}`);
      expect(viaNative.status, viaNative.text).toBe(200);
      expect(viaAlias).toEqual(viaNative);
      if (endpoint !== "status/buildinfo") expect(viaNative.asked.length).toBeGreaterThan(0);
    },
  );

  it("takes POST forms and remote_read as the native prefix does", async () => {
    const form = { method: "POST", body: "query=up&time=1767268800", headers: { "content-type": "application/x-www-form-urlencoded" } };
    expect(await run("/_time_stream/prom/app/api/v1/query", form)).toEqual(await run("/metrics/app/alpha/api/v1/query", form));
  });

  it("an index expression of several patterns searches them all, within the tenant's streams", async () => {
    const r = await run(`/_prometheus/metrics-app.prometheus-*,metrics-web.prometheus-*/api/v1/series?match[]=up&${T}`);
    expect(r.status, r.text).toBe(200);
    const fieldCaps = r.asked.find((a) => a.includes("/_field_caps"))!;
    expect(fieldCaps).toMatch(/^POST \/metrics-app\.prometheus-\*,metrics-web\.prometheus-\*\/_field_caps/);
    expect(fieldCaps).toContain(`{"wildcard":{"_index":{"value":".ds-metrics-*.prometheus-alpha-*"}}}`);
    const metadata = await run(`/_prometheus/metrics-app.prometheus-*,metrics-web.prometheus-*/api/v1/metadata`);
    expect(metadata.asked.join("\n")).toContain(`"should":[{"wildcard":{"data_stream":{"value":"metrics-app.prometheus-*"}}},{"wildcard":{"data_stream":{"value":"metrics-web.prometheus-*"}}}]`);
  });
});

/** [alias, the native route it stands for] when tenant alpha writes. */
const WRITE_ALIASES: [string, string][] = [
  ["/_prometheus/api/v1/write", "/api/v1/write"],
  ["/_prometheus/metrics/app/api/v1/write", "/metrics/app/api/v1/write"],
  ["/_prometheus/metrics/app/alpha/api/v1/write", "/metrics/app/alpha/api/v1/write"],
  ["/_time_stream/prom_write/app", "/metrics/app/alpha/api/v1/write"],
  ["/_time_stream/prom_write/metrics-app.prometheus-alpha", "/metrics/app/alpha/api/v1/write"],
];
const body = writeBody([{ labels: { __name__: "up", job: "a" }, samples: [[1767268800000, 1]] }]);
const write = (path: string, authorization = ALPHA) => run(path, { method: "POST", body, headers: PRW1_HEADERS }, authorization);

describe("write aliases", () => {
  it.each(WRITE_ALIASES)("%s writes what %s writes", async (alias, native) => {
    const viaNative = await write(native);
    expect(viaNative.status, viaNative.text).toBe(204);
    expect(viaNative.asked).toHaveLength(1);
    expect(await write(alias)).toEqual(viaNative);
  });

  it("a TimeStream index is a dataset in the tenant's namespace, or a full data stream name", async () => {
    expect((await write("/_time_stream/prom_write/prom_index")).asked[0]).toMatch(/^POST \/metrics-prom_index\.prometheus-alpha\/_bulk/);
    expect((await write("/_time_stream/prom_write/node.exporter")).asked[0]).toMatch(/^POST \/metrics-node\.exporter\.prometheus-alpha\/_bulk/);
    expect((await write("/_time_stream/prom_write/metrics-a.b.prometheus-alpha")).asked[0]).toMatch(/^POST \/metrics-a\.b\.prometheus-alpha\/_bulk/);
  });
});

describe("names the aliases refuse", () => {
  const oneLine = (text: string) => expect(text.trim().split("\n")).toHaveLength(1);

  it.each([
    ["/_time_stream/prom_write/Prom_Index", /invalid index "Prom_Index": use a dataset name .* or a data stream name metrics-\{dataset\}\.prometheus-\{namespace\}/],
    ["/_time_stream/prom_write/prom-index", /invalid index "prom-index"/],
    ["/_time_stream/prom_write/.hidden", /invalid index "\.hidden"/],
    ["/_time_stream/prom_write/metrics-App.prometheus-alpha", /invalid dataset "App"/],
    ["/_time_stream/prom_write/metrics-app.prometheus-Alpha", /invalid namespace "Alpha"/],
    ["/_prometheus/metrics/Bad/api/v1/write", /invalid dataset "Bad"/],
    ["/_prometheus/metrics/app/a-b/api/v1/write", /invalid namespace "a-b"/],
  ])("remote_write to %s: 400", async (path, reason) => {
    const r = await write(path);
    expect(r.status).toBe(400);
    expect(r.text).toMatch(reason);
    oneLine(r.text);
    expect(r.asked).toEqual([]);
  });

  it.each([
    ["/_prometheus/-metrics-app.prometheus-beta", /invalid index "-metrics-app\.prometheus-beta"/],
    ["/_prometheus/_all", /invalid index "_all"/],
    ["/_prometheus/.ds-metrics-app.prometheus-beta-2026", /invalid index "\.ds-metrics/],
    ["/_prometheus/remote:metrics-*", /invalid index "remote:metrics-\*"/],
    ["/_prometheus/metrics-app.prometheus-*,", /invalid index ""/],
    [`/_prometheus/${Array(33).fill("metrics-*").join(",")}`, /index expression has more than 32 parts/],
    ["/_time_stream/prom/Prom_Index", /invalid index "Prom_Index"/],
    ["/_prometheus/metrics/app/a-b", /invalid namespace "a-b"/],
  ])("reads under %s: 400 bad_data", async (prefix, reason) => {
    const r = await run(`${prefix}/api/v1/labels`);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toEqual({ status: "error", errorType: "bad_data", error: expect.stringMatching(reason) });
    expect(r.asked).toEqual([]);
  });

  it.each([
    ["/_prometheus/metrics-app.prometheus-beta", "metrics-app.prometheus-beta"],
    ["/_prometheus/metrics-app.prometheus-alpha,metrics-app.prometheus-beta", "metrics-app.prometheus-beta"],
    ["/_time_stream/prom/metrics-app.prometheus-beta", "metrics-app.prometheus-beta"],
  ])("reads of another tenant's stream under %s: 403", async (prefix, stream) => {
    const r = await run(`${prefix}/api/v1/labels`);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.text)).toEqual({ status: "error", errorType: "forbidden", error: `tenant "alpha" may not read ${stream}` });
    expect(r.asked).toEqual([]);
  });

  it("a pattern over other tenants' streams is not refused but finds only the tenant's own", async () => {
    const r = await run(`/_prometheus/metrics-*.prometheus-beta/api/v1/labels?${T}`);
    expect(r.status).toBe(200);
    expect(r.asked.join("\n")).toContain(`{"wildcard":{"_index":{"value":".ds-metrics-*.prometheus-alpha-*"}}}`);
  });

  it.each([
    ["/_time_stream/prom_write/metrics-app.prometheus-beta", basic("alpha", "alpha-password"), 'tenant "alpha" may not write to metrics-app.prometheus-beta'],
    // A bare index is a dataset in the tenant's namespace: refused when the tenant's streams leave that dataset out.
    ["/_time_stream/prom_write/other", basic("apps", "apps-password"), 'tenant "apps" may not write to metrics-other.prometheus-apps'],
    ["/_prometheus/metrics/app/beta/api/v1/write", basic("alpha", "alpha-password"), 'tenant "alpha" may not write to metrics-app.prometheus-beta'],
  ])("remote_write to %s outside the tenant's streams: 403", async (path, authorization, message) => {
    const r = await write(path, authorization);
    expect(r.status).toBe(403);
    expect(r.text.trim()).toBe(message);
    expect(r.asked).toEqual([]);
  });

  it("remote_write aliases take POST only, checked before the name (as the native routes)", async () => {
    for (const path of ["/_time_stream/prom_write/Bad-Name", "/_prometheus/metrics/app/api/v1/write", "/api/v1/write"]) {
      const r = await run(path);
      expect(r.status, path).toBe(405);
      expect(r.text.trim()).toBe("remote_write takes POST");
    }
  });

  it("Elasticsearch has no remote_write under an index expression, nor has promgate", async () => {
    expect((await write("/_prometheus/metrics-app.prometheus-alpha/api/v1/write")).status).toBe(404);
  });
});
