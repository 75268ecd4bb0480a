import type { Config, Tenant } from "../config.js";
import { assertComplete, NO_PARTIAL_RESULTS, type SearchCompleteness, withCompleteness } from "../elastic/complete.js";
import { ALL_STREAMS } from "../config/tenants.js";
import { esFailure, esFetch, type Fetch } from "../elastic/http.js";
import { INDEX_TEMPLATE, indexTemplate, METADATA_TEMPLATE, metadataTemplate } from "../elastic/templates.js";
import { readScope } from "../query/scope.js";

/**
 * What the status page shows, read from Elasticsearch on each request (promgate keeps no state). Each part
 * is fetched independently and fails on its own: a part Elasticsearch cannot answer becomes a one-line
 * reason on the page, never a failed page. Reasons come from `esFetch`/`esFailure`, which never carry
 * credentials.
 */

/** A part of the page: its value, or why it could not be read. */
export type Part<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface Cluster {
  name: string;
  status: string;
  nodes: number;
}

export type TemplateState = "installed" | "missing" | { differs: string };

export interface StreamRow {
  name: string;
  docs: number;
  /** Epoch ms of the newest sample, if any. */
  lastSample: number | undefined;
  /** Samples per second over the last RATE_WINDOW_MS (by sample timestamp). */
  ratePerSecond: number;
}

/** What only admins see: facts about the whole cluster rather than one tenant's data. */
export interface ClusterFacts {
  cluster: Part<Cluster>;
  esVersion: Part<string>;
  templates: Part<{ name: string; state: TemplateState }[]>;
}

export interface Status {
  tenant: string;
  /** Admins only (never even asked Elasticsearch for otherwise). */
  clusterFacts?: ClusterFacts;
  /** An admin's: every stream; anyone else's: the tenant's own. */
  streams: Part<StreamRow[]>;
  generatedAt: number;
}

export const RATE_WINDOW_MS = 60_000;
/** Backing indices summarised at most; beyond that, those holding the most documents (terms order). */
export const MAX_INDICES = 500;

/**
 * An ordinary tenant learns nothing beyond its own streams (not even the cluster's name or version: a tenant
 * is a user of promgate, not of the cluster); an admin sees the cluster and every tenant's streams.
 */
export async function collectStatus(config: Config, fetchFn: Fetch, tenant: Tenant, now: number): Promise<Status> {
  const streamsOf = tenant.admin ? { ...tenant, streams: [ALL_STREAMS] } : tenant;
  const [streams, clusterFacts] = await Promise.all([
    part(() => readStreams(config, fetchFn, streamsOf, now)),
    tenant.admin ? readClusterFacts(config, fetchFn) : undefined,
  ]);
  return { tenant: tenant.id, ...(clusterFacts ? { clusterFacts } : {}), streams, generatedAt: now };
}

async function readClusterFacts(config: Config, fetchFn: Fetch): Promise<ClusterFacts> {
  const [cluster, esVersion, templates] = await Promise.all([
    part(() => readCluster(config, fetchFn)),
    part(() => readVersion(config, fetchFn)),
    part(() => readTemplates(config, fetchFn)),
  ]);
  return { cluster, esVersion, templates };
}

async function part<T>(read: () => Promise<T>): Promise<Part<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

async function getJson<T>(config: Config, fetchFn: Fetch, path: string, what: string, body?: unknown): Promise<T> {
  const res = await esFetch(config, fetchFn, {
    method: body === undefined ? "GET" : "POST",
    path,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw await esFailure(res, what, config.retryAfterSeconds);
  return (await res.json()) as T;
}

async function readCluster(config: Config, fetchFn: Fetch): Promise<Cluster> {
  const h = await getJson<{ cluster_name?: string; status?: string; number_of_nodes?: number }>(
    config, fetchFn, "/_cluster/health", "the cluster health request");
  return { name: h.cluster_name ?? "", status: h.status ?? "unknown", nodes: h.number_of_nodes ?? 0 };
}

/** From the nodes API: `GET /` needs the rest-root module, which some distributions (the test zip) lack. */
async function readVersion(config: Config, fetchFn: Fetch): Promise<string> {
  const r = await getJson<{ nodes?: Record<string, { version?: string }> }>(
    config, fetchFn, "/_nodes/_local?filter_path=nodes.*.version", "the nodes info request");
  const version = Object.values(r.nodes ?? {})[0]?.version;
  if (!version) throw new Error("elasticsearch reported no local node");
  return version;
}

interface InstalledTemplate {
  name: string;
  index_template: { index_patterns?: string[] | string; composed_of?: string[]; priority?: number };
}

/**
 * Whether our index templates are installed as `promgate setup` would install them. Compared on what
 * decides where and how documents land (patterns, components, priority); settings that depend on setup's
 * options (retention, look-back) are not compared.
 */
async function readTemplates(config: Config, fetchFn: Fetch): Promise<{ name: string; state: TemplateState }[]> {
  // A wildcard answers 200 with what exists (a missing exact name would answer 404 for the whole request).
  const r = await getJson<{ index_templates?: InstalledTemplate[] }>(
    config, fetchFn, "/_index_template/promgate-*", "the index template request");
  const installed = new Map((r.index_templates ?? []).map((t) => [t.name, t.index_template]));
  const wanted = [
    { name: INDEX_TEMPLATE, def: indexTemplate({ lookBackTime: undefined, retention: undefined, failureStore: false }) },
    { name: METADATA_TEMPLATE, def: { ...metadataTemplate(config.metadataIndex), composed_of: [] as string[] } },
  ];
  return wanted.map(({ name, def }) => {
    const have = installed.get(name);
    if (!have) return { name, state: "missing" };
    const diffs: string[] = [];
    if (!sameList(have.index_patterns, def.index_patterns)) diffs.push("index patterns");
    if (!sameList(have.composed_of ?? [], def.composed_of)) diffs.push("component templates");
    if (have.priority !== def.priority) diffs.push("priority");
    return { name, state: diffs.length === 0 ? "installed" : { differs: diffs.join(", ") } };
  });
}

function sameList(a: string[] | string | undefined, b: string[]): boolean {
  const list = a === undefined ? [] : ([] as string[]).concat(a);
  return list.length === b.length && list.every((x, i) => x === b[i]);
}

/** `.ds-<stream>-<yyyy.mm.dd>-<generation>` → `<stream>`; undefined for anything else. */
export function streamOfBackingIndex(index: string): string | undefined {
  return /^\.ds-(.+)-\d{4}\.\d{2}\.\d{2}-\d{6}$/.exec(index)?.[1];
}

interface IndexBucket {
  key: string;
  doc_count: number;
  last: { value: number | null };
  recent: { doc_count: number };
}

/**
 * One search over the tenant's streams: a terms aggregation on `_index` (backing indices, mapped back to
 * their stream) with the newest `@timestamp` and the count of the last minute's samples. The data stream
 * API is not used because some distributions (the test zip) lack the data-streams module.
 */
async function readStreams(config: Config, fetchFn: Fetch, tenant: Tenant, now: number): Promise<StreamRow[]> {
  const scope = readScope(tenant);
  const r = await getJson<{ aggregations?: { indices?: { buckets: IndexBucket[] } } } & SearchCompleteness>(
    config,
    fetchFn,
    `/${scope.indices}/_search?ignore_unavailable=true&allow_no_indices=true&${NO_PARTIAL_RESULTS}&filter_path=${withCompleteness("aggregations")}`,
    "the data stream summary search",
    {
      size: 0,
      query: { bool: { filter: [scope.filter] } },
      aggs: {
        indices: {
          terms: { field: "_index", size: MAX_INDICES },
          aggs: {
            last: { max: { field: "@timestamp" } },
            recent: { filter: { range: { "@timestamp": { gte: now - RATE_WINDOW_MS, lte: now, format: "epoch_millis" } } } },
          },
        },
      },
    },
  );
  assertComplete(r, "the data stream summary search");
  const byStream = new Map<string, StreamRow>();
  for (const b of r.aggregations?.indices?.buckets ?? []) {
    const name = streamOfBackingIndex(b.key) ?? b.key;
    const row = byStream.get(name) ?? { name, docs: 0, lastSample: undefined, ratePerSecond: 0 };
    row.docs += b.doc_count;
    if (b.last.value !== null && (row.lastSample === undefined || b.last.value > row.lastSample)) row.lastSample = b.last.value;
    row.ratePerSecond += b.recent.doc_count / (RATE_WINDOW_MS / 1000);
    byStream.set(name, row);
  }
  return [...byStream.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
