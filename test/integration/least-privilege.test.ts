import { describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { countDocs, es, esEnv, gateEnv, uniquePart } from "../helpers/es.js";
import { writeBody } from "../helpers/payload.js";

/**
 * promgate's own credential (gateEnv: the promgate_gateway role of `promgate setup --print-role`) against the
 * real Elasticsearch: enough to write, read and report readiness through promgate, and refused everything
 * else. Each refusal is checked beside the administrator doing the same, so the test cannot pass because
 * the thing did not exist.
 */

function gateAuth(): string {
  const g = gateEnv();
  return g.ES_API_KEY ? `ApiKey ${g.ES_API_KEY}` : basic(g.ES_USERNAME, g.ES_PASSWORD);
}

async function asGate(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${esEnv().url}${path}`, {
    method,
    headers: { authorization: gateAuth(), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, text: await res.text() };
}

const NS = uniquePart("lp");
const STREAM = `metrics-lp.prometheus-${NS}`;
const app = createApp(
  loadConfig({ ...gateEnv(), PROMGATE_TENANTS: JSON.stringify({ [NS]: { password: "lp-password", streams: [STREAM], namespace: NS } }) }),
  { ...defaultDeps(), log: () => undefined },
);
const AUTH = basic(NS, "lp-password");

describe("promgate's least-privileged Elasticsearch credential", () => {
  it("is not the administrator", () => {
    const g = gateEnv();
    expect(g.ES_API_KEY !== "" || g.ES_USERNAME !== esEnv().username).toBe(true);
  });

  it("writes a new data stream, reads it back and answers readiness through promgate", async () => {
    const t = Date.now() - 60_000;
    const write = await app.request(`/metrics/lp/${NS}/api/v1/write`, {
      method: "POST",
      body: writeBody([{ labels: { __name__: "lp_probe", job: "lp" }, samples: [[t, 7]] }]),
      headers: { ...PRW1_HEADERS, authorization: AUTH },
    });
    expect(write.status).toBe(204);
    expect(await countDocs(STREAM)).toBe(1);
    const q = await app.request(`/metrics/lp/${NS}/api/v1/query?query=lp_probe&time=${(t + 1000) / 1000}`, { headers: { authorization: AUTH } });
    expect(q.status).toBe(200);
    const body = (await q.json()) as { data: { result: { value: [number, string] }[] } };
    expect(body.data.result.map((r) => r.value[1])).toEqual(["7"]);
    expect((await app.request("/-/ready")).status).toBe(200);
  });

  it("cannot delete a backing index of promgate's own streams", async () => {
    await countDocs(STREAM); // the stream exists once the write above went through
    const r = await es<Record<string, unknown>>("GET", `/${STREAM}/_settings`);
    const backing = Object.keys(r.json)[0]!;
    expect(backing).toMatch(/^\.ds-/);
    const del = await asGate("DELETE", `/${backing}`);
    expect(del.status).toBe(403);
    expect(del.text).toContain("indices:admin/delete");
    expect(await countDocs(STREAM)).toBe(1);
  });

  it("cannot read an index outside its patterns, which the administrator can", async () => {
    const other = `outside-${uniquePart("lp")}`;
    expect((await es("PUT", `/${other}/_doc/1?refresh=true`, { secret: "not for promgate" })).status).toBe(201);
    expect((await asGate("GET", `/${other}/_search`)).status).toBe(403);
    expect((await asGate("GET", `/${other}/_doc/1`)).status).toBe(403);
    // Through a wildcard the index is silently out of sight, as for any index it may not read.
    const wild = JSON.parse((await asGate("GET", `/outside-*/_search?q=secret:promgate`)).text) as { hits: { total: { value: number } } };
    expect(wild.hits.total.value).toBe(0);
    const admin = await es<{ hits: { total: { value: number } } }>("GET", `/outside-*/_search?q=secret:promgate`);
    expect(admin.json.hits.total.value).toBeGreaterThan(0);
  });

  it("cannot create other indices, change templates or mappings", async () => {
    expect((await asGate("PUT", `/${uniquePart("anything")}`)).status).toBe(403);
    expect((await asGate("PUT", "/_index_template/promgate-metrics", { index_patterns: ["x-*"] })).status).toBe(403);
    expect((await asGate("PUT", `/${STREAM}/_mapping`, { properties: { x: { type: "keyword" } } })).status).toBe(403);
    expect((await asGate("PUT", "/_cluster/settings", { persistent: { "cluster.max_shards_per_node": 1 } })).status).toBe(403);
  });
});
