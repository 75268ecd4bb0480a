import { createHash } from "node:crypto";
import { Client } from "@elastic/elasticsearch";
import type { EsConfig } from "../config.js";
import { streamPattern } from "../http/auth.js";
import {
  CHUNKS_TEMPLATE,
  chunksTemplate,
  EXEMPLAR_TEMPLATE,
  exemplarTemplate,
  HA_TEMPLATE,
  haTemplate,
  COMPONENT_MAPPINGS,
  COMPONENT_SETTINGS,
  INDEX_TEMPLATE,
  indexTemplate,
  mappingsComponent,
  METADATA_TEMPLATE,
  metadataTemplate,
  METRICS_PATTERN,
  PRIORITY,
  PROMGATE_PROPERTIES,
  settingsComponent,
  type TemplateOptions,
} from "./templates.js";

/**
 * `promgate setup`: installs the templates idempotently with the official client (Node only; the request
 * path never needs it). Each template carries a hash of its body in `_meta`, so a rerun can say
 * "unchanged" without comparing Elasticsearch's normalised form of the settings.
 */

export type SetupAction = "created" | "updated" | "unchanged";
export interface SetupReport {
  version: string;
  actions: { kind: string; name: string; action: SetupAction }[];
  notes: string[];
}

export function esClient(config: EsConfig): Client {
  const a = config.esAuth;
  return new Client({
    nodes: [...config.esUrls],
    requestTimeout: config.esTimeoutMs,
    // Plain JSON instead of the client's `compatible-with=9` media type, which Elasticsearch 8 refuses
    // ("Accept version must be either version 8 or 7"): every API setup calls answers the same on 8.19 and 9.x.
    headers: { accept: "application/json", "content-type": "application/json" },
    ...(a.kind === "apiKey" ? { auth: { apiKey: a.apiKey } } : {}),
    ...(a.kind === "basic" ? { auth: { username: a.username, password: a.password } } : {}),
  });
}

function withHash<T extends { _meta: Record<string, unknown> }>(body: T): T {
  const hash = createHash("sha256").update(JSON.stringify({ ...body, _meta: undefined })).digest("hex").slice(0, 16);
  return { ...body, _meta: { ...body._meta, promgate_hash: hash } };
}

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [ma = 0, mi = 0] = version.split(".").map(Number);
  return ma > major || (ma === major && mi >= minor);
}

export interface SetupOptions {
  lookBackTime?: string;
  retention?: string;
  /** undefined: on where the cluster supports it. */
  failureStore?: boolean;
  metadataIndex: string;
  exemplarIndex: string;
  haIndex: string;
  /** Default "promgate-chunks" (PROMGATE_CHUNKS_INDEX). */
  chunksIndex?: string;
  /** Replicas of each metrics backing index; undefined: Elasticsearch's default. */
  replicas?: number;
}

export async function setup(client: Client, opts: SetupOptions): Promise<SetupReport> {
  const { version, modules } = await localNode(client);
  const hasDataStreamsModule = modules.has("data-streams");
  const notes: string[] = [];
  const failureStore = opts.failureStore ?? (hasDataStreamsModule && versionAtLeast(version, 9, 1));
  const options: TemplateOptions = {
    lookBackTime: hasDataStreamsModule ? (opts.lookBackTime ?? "2h") : undefined,
    retention: hasDataStreamsModule ? opts.retention : undefined,
    failureStore,
    replicas: opts.replicas,
  };
  if (opts.lookBackTime && !hasDataStreamsModule) {
    notes.push(`look-back time ${opts.lookBackTime} not set: index.look_back_time needs the data-streams module`);
  }
  if (opts.retention && !hasDataStreamsModule) {
    notes.push(`retention ${opts.retention} not set: this distribution has no data-streams module (no lifecycle)`);
  }
  const actions: SetupReport["actions"] = [];

  /** Puts `body` unless the installed one carries the same hash; records what it did. */
  const ensure = async (
    kind: "component template" | "index template",
    name: string,
    body: { _meta: Record<string, unknown> },
  ) => {
    const desired = withHash(body);
    const isComponent = kind === "component template";
    let current: unknown;
    try {
      current = isComponent
        ? (await client.cluster.getComponentTemplate({ name })).component_templates[0]?.component_template._meta?.promgate_hash
        : (await client.indices.getIndexTemplate({ name })).index_templates[0]?.index_template._meta?.promgate_hash;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (current === desired._meta.promgate_hash) return actions.push({ kind, name, action: "unchanged" });
    const request = { name, ...(desired as object) } as never;
    await (isComponent ? client.cluster.putComponentTemplate(request) : client.indices.putIndexTemplate(request));
    actions.push({ kind, name, action: current === undefined ? "created" : "updated" });
  };

  await ensure("component template", COMPONENT_SETTINGS, settingsComponent(options));
  await ensure("component template", COMPONENT_MAPPINGS, mappingsComponent());
  await ensure("index template", INDEX_TEMPLATE, indexTemplate(options));
  await ensure("index template", METADATA_TEMPLATE, metadataTemplate(opts.metadataIndex));
  await ensure("index template", EXEMPLAR_TEMPLATE, exemplarTemplate(opts.exemplarIndex, options));
  await ensure("index template", HA_TEMPLATE, haTemplate(opts.haIndex));
  // Created now rather than by the first write, so the first election of every instance meets the mapping.
  if (!(await client.indices.exists({ index: opts.haIndex }))) {
    try {
      await client.indices.create({ index: opts.haIndex });
      actions.push({ kind: "index", name: opts.haIndex, action: "created" });
    } catch (e) {
      if (!isAlreadyThere(e)) throw e; // another setup run won the race: fine
    }
  }
  await ensure("index template", CHUNKS_TEMPLATE, chunksTemplate(opts.chunksIndex ?? "promgate-chunks"));
  // Streams created before promgate knew a field get it in place (a template only shapes new backing
  // indices): without this, a histogram written to an existing stream would be mapped dynamically as text.
  await client.indices.putMapping({
    index: METRICS_PATTERN,
    allow_no_indices: true,
    expand_wildcards: ["open", "hidden"],
    properties: { promgate: { properties: PROMGATE_PROPERTIES } } as never,
  });
  const exemplarMappings = exemplarTemplate(opts.exemplarIndex, options).template.mappings;
  await client.indices.putMapping({
    index: opts.exemplarIndex,
    allow_no_indices: true,
    ignore_unavailable: true,
    expand_wildcards: ["open", "hidden"],
    ...(exemplarMappings as object),
  });

  notes.push(...(await shadowedTemplates(client)));
  if (!hasDataStreamsModule) {
    notes.push("this distribution has no data-streams module: routing_path is set explicitly by our template");
  }
  return { version, actions, notes };
}

/** Version and modules from the nodes API (`GET /` needs the rest-root module, absent on the test zip). */
async function localNode(client: Client): Promise<{ version: string; modules: Set<string> }> {
  const r = await client.nodes.info({ node_id: "_local", metric: "plugins" });
  const node = Object.values(r.nodes)[0];
  if (!node) throw new Error("elasticsearch reported no local node");
  return { version: node.version, modules: new Set((node.modules ?? []).map((m) => m.name)) };
}

/** Other templates that would match our streams: ours takes precedence (higher priority); say so. */
async function shadowedTemplates(client: Client): Promise<string[]> {
  const r = await client.indices.getIndexTemplate();
  const probe = "metrics-generic.prometheus-default";
  const notes: string[] = [];
  for (const t of r.index_templates) {
    if (t.name === INDEX_TEMPLATE) continue;
    const patterns = ([] as string[]).concat(t.index_template.index_patterns);
    if (!patterns.some((p) => p === METRICS_PATTERN || streamPattern(p).test(probe))) continue;
    const prio = Number(t.index_template.priority ?? 0);
    notes.push(
      prio < PRIORITY
        ? `shadows built-in index template ${t.name} (priority ${prio}) for ${METRICS_PATTERN}`
        : `WARNING: index template ${t.name} (priority ${prio}) outranks ${INDEX_TEMPLATE} (${PRIORITY})`,
    );
  }
  return notes;
}

function isAlreadyThere(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { meta?: { statusCode?: number } }).meta?.statusCode === 400 && String(e).includes("resource_already_exists");
}

function isNotFound(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { meta?: { statusCode?: number } }).meta?.statusCode === 404;
}
