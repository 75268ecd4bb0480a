import { loadConfig } from "../../src/config.js";

/**
 * Access to the real Elasticsearch that scripts/test.sh started, as its administrator (ES_URL, ES_USERNAME,
 * ES_PASSWORD): for the tests' own checks of what was stored, never for promgate itself (see gateEnv).
 */
export function esEnv() {
  const url = process.env.ES_URL;
  if (!url) throw new Error("ES_URL is not set: run the integration tests through `npm test` (scripts/test.sh)");
  return { url, username: process.env.ES_USERNAME ?? "elastic", password: process.env.ES_PASSWORD ?? "promgate-dev" };
}

/**
 * The settings promgate runs with in every suite: the least-privileged credential of `promgate setup
 * --print-role` (scripts/elasticsearch.sh's file-realm user, or an API key where the cluster can make one:
 * GATE_ES_API_KEY), so a privilege promgate lacks fails the tests instead of passing as `elastic`.
 * The empty values override an administrator's ES_* inherited from the environment.
 */
export function gateEnv(): { ES_URL: string; ES_USERNAME: string; ES_PASSWORD: string; ES_API_KEY: string } {
  const { url } = esEnv();
  const apiKey = process.env.GATE_ES_API_KEY ?? "";
  if (apiKey) return { ES_URL: url, ES_API_KEY: apiKey, ES_USERNAME: "", ES_PASSWORD: "" };
  return {
    ES_URL: url,
    ES_API_KEY: "",
    ES_USERNAME: process.env.GATE_ES_USERNAME ?? "promgate",
    ES_PASSWORD: process.env.GATE_ES_PASSWORD ?? "promgate-gateway-dev",
  };
}

export async function es<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const { url, username, password } = esEnv();
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T };
}

/** Documents in `index` matching `query`, after a refresh (ES only makes writes searchable on refresh). */
export async function countDocs(index: string, query: unknown = { match_all: {} }): Promise<number> {
  await es("POST", `/${index}/_refresh?ignore_unavailable=true`);
  const r = await es<{ count?: number }>("POST", `/${index}/_count?ignore_unavailable=true&allow_no_indices=true`, { query });
  return r.json.count ?? 0;
}

export async function searchDocs(index: string, query: unknown, size = 1000): Promise<Record<string, unknown>[]> {
  await es("POST", `/${index}/_refresh?ignore_unavailable=true`);
  const r = await es<{ hits?: { hits: { _source: Record<string, unknown> }[] } }>("POST", `/${index}/_search`, {
    query,
    size,
    sort: [{ "@timestamp": "asc" }],
  });
  return r.json.hits?.hits.map((h) => h._source) ?? [];
}

export const INTEGRATION_TENANTS = {
  dev: { password: "promgate-dev", admin: true, streams: ["metrics-*.prometheus-*"], namespace: "default" },
  teama: { tokens: ["token-of-team-a"], streams: ["metrics-teama.prometheus-*"], namespace: "teama" },
};

export function integrationConfig(extra: Record<string, string> = {}) {
  return loadConfig({
    ...gateEnv(),
    PROMGATE_TENANTS: JSON.stringify(INTEGRATION_TENANTS),
    ...extra,
  });
}

/** A name part unique to this test run, so tests never share a data stream. */
export function uniquePart(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
}
