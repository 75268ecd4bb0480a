import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { ASSETS_VERSION } from "../../src/gen/assets.js";
import { streamOfBackingIndex } from "../../src/status/collect.js";
import { basic, TEST_TENANTS, testConfig } from "../helpers/config.js";
import { type Behaviour, fakeEs, type Recorded } from "../helpers/fake-es.js";

/**
 * The status page through app.request(), with a stand-in Elasticsearch for what the real one cannot be made
 * to do (fail, answer odd names). That a tenant sees only its own streams in the real cluster, and that the
 * chart draws, is tested in a real browser against the real Elasticsearch (test/browser).
 */

const NOW = 1767268800000; // fakeEs' clock
const DEV = basic("dev", "dev-password");
const TEAMA = basic("teama", "team-a-password");

interface Fixture {
  clusterName?: string;
  templates?: unknown[];
  buckets?: unknown[];
}

const ourTemplates = [
  {
    name: "promgate-metrics",
    index_template: {
      index_patterns: ["metrics-*.prometheus-*"],
      composed_of: ["promgate-metrics@settings", "promgate-metrics@mappings", "promgate-metrics@custom"],
      priority: 500,
    },
  },
  { name: "promgate-metadata", index_template: { index_patterns: ["promgate-metadata"], composed_of: [], priority: 500 } },
];

const bucket = (index: string, docs: number, last: number | null, recent: number) => ({
  key: index,
  doc_count: docs,
  last: { value: last },
  recent: { doc_count: recent },
});

/** Answers the four requests the page makes, like Elasticsearch 9.2 does. */
function cluster(f: Fixture = {}): Behaviour {
  return (req: Recorded) => {
    const path = req.url.pathname;
    if (path === "/_cluster/health") return Response.json({ cluster_name: f.clusterName ?? "test-cluster", status: "green", number_of_nodes: 3 });
    if (path === "/_nodes/_local") return Response.json({ nodes: { abc: { version: "9.2.0" } } });
    if (path.startsWith("/_index_template/")) return Response.json({ index_templates: f.templates ?? ourTemplates });
    if (path.endsWith("/_search")) {
      return Response.json({ aggregations: { indices: { buckets: f.buckets ?? [] } } });
    }
    return Response.json({ error: `unexpected ${path}` }, { status: 400 });
  };
}

/** `auth` null: no Authorization header. */
async function page(app: ReturnType<typeof createApp>, url = "/", auth: string | null = DEV) {
  const res = await app.request(url, auth ? { headers: { authorization: auth } } : {});
  return { res, html: await res.text() };
}

describe("status page: access", () => {
  it("asks for Basic credentials (one scheme, so browsers prompt) and rejects wrong ones", async () => {
    const es = fakeEs(cluster());
    const app = createApp(testConfig(), es.deps);
    for (const auth of [null, basic("dev", "wrong"), basic("nobody", "x"), "Basic !!!"]) {
      const { res, html } = await page(app, "/", auth);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Basic realm="promgate", charset="UTF-8"');
      expect(html.split("\n").filter(Boolean)).toHaveLength(1);
    }
    expect(es.requests).toHaveLength(0); // nothing read from Elasticsearch before the tenant is known
  });

  it("is open with PROMGATE_AUTH=none and shows the anonymous tenant", async () => {
    const es = fakeEs(cluster());
    const app = createApp(testConfig({ PROMGATE_AUTH: "none", PROMGATE_TENANTS: "" }), es.deps);
    const { res, html } = await page(app, "/", null);
    expect(res.status).toBe(200);
    expect(html).toContain('<b id="tenant">anonymous</b>');
  });

  it("shows an ordinary tenant nothing of the cluster, and does not even ask Elasticsearch for it", async () => {
    const es = fakeEs(cluster({ clusterName: "prod-cluster-eu" }));
    const app = createApp(testConfig(), es.deps);
    const { res, html } = await page(app, "/", TEAMA);
    expect(res.status).toBe(200);
    expect(es.requests.map((r) => r.url.pathname)).toEqual([encodeURI("/metrics-teama.prometheus-*/_search")]);
    for (const part of ['id="elasticsearch"', 'id="es-version"', 'id="es-health"', 'id="templates"', "prod-cluster-eu", "9.2.0", "promgate-metadata"]) {
      expect(html).not.toContain(part);
    }
    expect(html).toContain("<h2>Data streams</h2>");
  });

  it("shows an admin the cluster and every stream, not only its own", async () => {
    const es = fakeEs(cluster({ clusterName: "prod-cluster-eu" }));
    const app = createApp(testConfig({ PROMGATE_TENANTS: JSON.stringify({ ops: { password: "ops-pw", admin: true, namespace: "ops" } }) }), es.deps);
    const { html } = await page(app, "/", basic("ops", "ops-pw"));
    expect(html).toContain("<code>prod-cluster-eu</code>");
    expect(html).toContain('<dd id="es-version">9.2.0</dd>');
    const search = es.requests.find((r) => r.url.pathname.endsWith("/_search"))!;
    expect(decodeURIComponent(search.url.pathname)).toBe("/metrics-*.prometheus-*/_search");
    expect(new TextDecoder().decode(search.body)).toContain('{"wildcard":{"_index":{"value":".ds-metrics-*.prometheus-*-*"}}}');
  });

  it("reads only the tenant's own streams", async () => {
    const es = fakeEs(cluster({ buckets: [bucket(".ds-metrics-teama.prometheus-teama-2026.01.01-000001", 5, NOW - 1000, 3)] }));
    const app = createApp(testConfig(), es.deps);
    const { html } = await page(app, "/", TEAMA);
    const search = es.requests.find((r) => r.url.pathname.endsWith("/_search"))!;
    expect(decodeURIComponent(search.url.pathname)).toBe("/metrics-teama.prometheus-*/_search");
    const body = JSON.parse(new TextDecoder().decode(search.body)) as { query: unknown };
    expect(JSON.stringify(body.query)).toContain('{"wildcard":{"_index":{"value":".ds-metrics-teama.prometheus-*-*"}}}');
    expect(html).toContain('<b id="tenant">teama</b>');
    expect(html).toContain("metrics-teama.prometheus-teama");
    const line = es.logs.map((l) => JSON.parse(l) as { route?: string; tenant?: string }).find((l) => l.route === "/");
    expect(line?.tenant).toBe("teama"); // the request log line names the tenant
  });
});

describe("status page: content", () => {
  it("shows version, health, templates and per-stream counts, last sample and rate", async () => {
    const es = fakeEs(
      cluster({
        buckets: [
          // Two backing indices of one stream (after a rollover) add up to one row.
          bucket(".ds-metrics-generic.prometheus-default-2026.01.01-000001", 1000, NOW - 3_600_000, 0),
          bucket(".ds-metrics-generic.prometheus-default-2026.01.01-000002", 234, NOW - 30_000, 120),
          bucket(".ds-metrics-app.prometheus-prod-2026.01.01-000001", 7, null, 0),
        ],
      }),
    );
    const { res, html } = await page(createApp(testConfig(), es.deps));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("version 0.1.0");
    expect(html).toContain('<dd id="es-version">9.2.0</dd>');
    expect(html).toContain('<code>test-cluster</code> <b class="state-green">green</b>, 3 nodes');
    expect(html).toContain('<code>promgate-metrics</code> <span class="ok">installed</span>');
    expect(html).toContain('<code>promgate-metadata</code> <span class="ok">installed</span>');
    const rows = [...html.matchAll(/<tr data-stream="([^"]+)">(.*?)<\/tr>/g)].map((m) => [m[1], m[2]]);
    expect(rows.map((r) => r[0])).toEqual(["metrics-app.prometheus-prod", "metrics-generic.prometheus-default"]);
    const generic = rows[1]![1]!;
    expect(generic).toContain('<td class="num docs">1,234</td>');
    expect(generic).toContain("2026-01-01 11:59:30Z (30s ago)");
    expect(generic).toContain('<td class="num">2.0</td>'); // 120 samples in the last 60 s
    expect(rows[0]![1]).toContain("<td>—</td>");
  });

  it("says when no stream has samples yet", async () => {
    const { html } = await page(createApp(testConfig(), fakeEs(cluster()).deps));
    expect(html).toContain("No data streams with samples yet.");
  });

  it("says which templates are missing or differ from what setup installs", async () => {
    const templates = [{ name: "promgate-metrics", index_template: { index_patterns: ["metrics-*"], composed_of: [], priority: 100 } }];
    const { html } = await page(createApp(testConfig(), fakeEs(cluster({ templates })).deps));
    expect(html).toContain('<code>promgate-metrics</code> <span class="warn">differs (index patterns, component templates, priority)');
    expect(html).toContain('<code>promgate-metadata</code> <span class="bad">missing — run <code>promgate setup</code>');
  });

  it("maps backing indices back to their data streams", () => {
    expect(streamOfBackingIndex(".ds-metrics-a.prometheus-b-2026.11.25-000001")).toBe("metrics-a.prometheus-b");
    expect(streamOfBackingIndex(".ds-metrics-a.prometheus-b-c-2026.11.25-000012")).toBe("metrics-a.prometheus-b-c");
    expect(streamOfBackingIndex("metrics-a.prometheus-b")).toBeUndefined();
  });
});

describe("status page: Elasticsearch trouble", () => {
  it.each([
    ["down", (() => "refuse") as Behaviour, /unavailable: elasticsearch unreachable/],
    ["hanging", (() => "hang") as Behaviour, /unavailable: elasticsearch did not answer within 200 ms/],
    ["refusing promgate's credentials", (() => Response.json({ error: "x" }, { status: 401 })) as Behaviour, /unavailable: elasticsearch refused promgate&#39;s credentials/],
  ])("still renders when Elasticsearch is %s, and says so in each part", async (_name, behaviour, reason) => {
    const es = fakeEs(behaviour);
    const { res, html } = await page(createApp(testConfig(), es.deps));
    expect(res.status).toBe(200);
    for (const id of ["es-version", "es-health", "templates"]) expect(html).toMatch(new RegExp(`<dd id="${id}"><span class="bad">${reason.source}`));
    expect(html.match(new RegExp(reason.source, "g"))).toHaveLength(4); // and the streams
    expect(html).toContain('id="query-form"'); // the query box is still there
  });

  it("shows a failing part's reason and the rest of the page", async () => {
    const ok = cluster();
    const es = fakeEs((req) => (req.url.pathname.endsWith("/_search") ? Response.json({ error: { type: "search_phase_execution_exception", reason: "all shards failed" } }, { status: 503 }) : ok(req, 0)));
    const { html } = await page(createApp(testConfig(), es.deps));
    expect(html).toContain("unavailable: elasticsearch failed the data stream summary search: search_phase_execution_exception: all shards failed");
    expect(html).toContain('<dd id="es-version">9.2.0</dd>');
  });
});

describe("status page: escaping and secrets", () => {
  it("escapes names from Elasticsearch and the query from the URL", async () => {
    const evil = `<img src=x onerror="alert(1)">`;
    const es = fakeEs(cluster({ clusterName: evil, buckets: [bucket(`.ds-metrics-x<script>.prometheus-"a'-2026.01.01-000001`, 1, NOW, 1)] }));
    const query = `up{job="</script><script>alert(2)</script>"} & "x'`;
    const { html } = await page(createApp(testConfig(), es.deps), `/?query=${encodeURIComponent(query)}`);
    expect(html).not.toContain(evil);
    expect(html).not.toContain("<script>");
    expect(html).not.toContain("alert(2)</script>");
    expect(html).toContain("<code>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</code>");
    expect(html).toContain("<code>metrics-x&lt;script&gt;.prometheus-&quot;a&#39;</code>");
    expect(html).toContain(`value="up{job=&quot;&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;&quot;} &amp; &quot;x&#39;"`);
  });

  it("has no inline script or style, and a CSP that forbids them", async () => {
    const { res, html } = await page(createApp(testConfig(), fakeEs(cluster()).deps));
    expect(res.headers.get("content-security-policy")).toMatch(/script-src 'self';.*style-src 'self';/);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son\w+=/);
  });

  it("never shows or logs a secret, whatever Elasticsearch answers", async () => {
    const secrets = ["es-secret", ...Object.values(TEST_TENANTS).flatMap((t) => [t.password, ...("tokens" in t ? t.tokens : [])])];
    const secretShapes = (s: string) => [s, btoa(s), btoa(`elastic:${s}`), btoa(`dev:${s}`)];
    for (const behaviour of [cluster(), (() => "refuse") as Behaviour, (() => Response.json({ error: "no" }, { status: 403 })) as Behaviour]) {
      const es = fakeEs(behaviour);
      const app = createApp(testConfig(), es.deps);
      const texts = [(await page(app)).html, (await page(app, "/", null)).html, (await page(app, "/", basic("dev", "wrong"))).html, ...es.logs];
      for (const s of secrets.flatMap(secretShapes)) for (const t of texts) expect(t).not.toContain(s);
    }
    // The requests to Elasticsearch did carry promgate's credentials: the check above is not vacuous.
    const es = fakeEs(cluster());
    await page(createApp(testConfig(), es.deps));
    expect(es.requests[0]!.headers.get("authorization")).toBe(`Basic ${btoa("elastic:es-secret")}`);
  });
});

describe("status page: browser files", () => {
  it("serves uPlot and the page's own files, cached for good under the current version", async () => {
    const app = createApp(testConfig(), fakeEs(cluster()).deps);
    const js = await app.request(`/-/static/uplot.js?v=${ASSETS_VERSION}`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await js.text()).toMatch(/var uPlot=/);
    const status = await app.request("/-/static/status.js?v=old");
    expect(status.headers.get("cache-control")).toBe("no-cache");
    expect(await status.text()).toContain("/api/v1/query_range?");
    const css = await app.request(`/-/static/status.css?v=${ASSETS_VERSION}`);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect((await app.request("/-/static/uplot.css")).status).toBe(200);
  });

  it("answers 404 for any other name", async () => {
    const app = createApp(testConfig(), fakeEs(cluster()).deps);
    for (const name of ["nope.js", "constructor", "__proto__", "..%2Fpackage.json"]) {
      expect((await app.request(`/-/static/${name}`)).status).toBe(404);
    }
  });

  it("the page links the files with the current version", async () => {
    const { html } = await page(createApp(testConfig(), fakeEs(cluster()).deps));
    for (const f of ["uplot.css", "status.css", "uplot.js", "status.js"]) expect(html).toContain(`/-/static/${f}?v=${ASSETS_VERSION}"`);
  });
});
