/**
 * Environment (Workers vars/secrets or process env) → a validated Config. Every problem names the variable
 * and field at fault; secrets are never echoed back.
 */

export interface Limits {
  /** Request body as sent (snappy-compressed). */
  maxCompressedBytes: number;
  /** The snappy preamble's declared decoded length. */
  maxDecompressedBytes: number;
  maxSeries: number;
  maxSamples: number;
  maxLabelsPerSeries: number;
  maxLabelNameBytes: number;
  maxLabelValueBytes: number;
  /** Samples one read (remote_read query, API call) may load. */
  maxQuerySamples: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxCompressedBytes: 10 * 1024 * 1024,
  maxDecompressedBytes: 32 * 1024 * 1024,
  maxSeries: 10_000,
  maxSamples: 100_000,
  maxLabelsPerSeries: 64,
  maxLabelNameBytes: 256,
  maxLabelValueBytes: 4096,
  maxQuerySamples: 5_000_000,
};

export interface Tenant {
  id: string;
  /** Basic-auth password (username = tenant id). */
  password?: string;
  /** Bearer tokens. */
  tokens: string[];
  /** Glob patterns over data stream names this tenant may write and read. */
  streams: string[];
  /** Namespace used when the URL names none (pins a tenant's default writes to its own namespace). */
  namespace: string;
  limits: Limits;
}

export type EsAuth =
  | { kind: "apiKey"; apiKey: string }
  | { kind: "basic"; username: string; password: string }
  | { kind: "none" };

export interface Config {
  esUrl: string;
  esAuth: EsAuth;
  /** Per ES call; below Prometheus' default remote_timeout (30 s) so the sender sees our 503, not its own timeout. */
  esTimeoutMs: number;
  /** gzip the `_bulk` body (saves egress; costs CPU). */
  esGzip: boolean;
  /** Seconds a throttled sender is asked to wait. */
  retryAfterSeconds: number;
  /** Index holding the metric metadata that remote_write sends. */
  metadataIndex: string;
  tenants: Tenant[];
  /**
   * "none": no credentials asked (PROMGATE_AUTH=none, set deliberately for a gateway behind its own auth);
   * one anonymous tenant may then read and write every stream.
   */
  auth: "tenants" | "none";
  limits: Limits;
}

export type Env = Record<string, unknown>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(`invalid configuration: ${message}`);
    this.name = "ConfigError";
  }
}

const LIMIT_VARS: Record<keyof Limits, string> = {
  maxCompressedBytes: "PROMGATE_MAX_COMPRESSED_BYTES",
  maxDecompressedBytes: "PROMGATE_MAX_DECOMPRESSED_BYTES",
  maxSeries: "PROMGATE_MAX_SERIES",
  maxSamples: "PROMGATE_MAX_SAMPLES",
  maxLabelsPerSeries: "PROMGATE_MAX_LABELS_PER_SERIES",
  maxLabelNameBytes: "PROMGATE_MAX_LABEL_NAME_BYTES",
  maxLabelValueBytes: "PROMGATE_MAX_LABEL_VALUE_BYTES",
  maxQuerySamples: "PROMGATE_MAX_QUERY_SAMPLES",
};

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new ConfigError(`${name} must be a string`);
  return v;
}

function positiveInt(value: unknown, where: string): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n <= 0) {
    throw new ConfigError(`${where} must be a positive integer`);
  }
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const v = str(env, name);
  if (v === undefined) return fallback;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new ConfigError(`${name} must be true or false`);
}

function parseLimits(env: Env): Limits {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(LIMIT_VARS) as (keyof Limits)[]) {
    const raw = str(env, LIMIT_VARS[key]);
    if (raw !== undefined) limits[key] = positiveInt(raw, LIMIT_VARS[key]);
  }
  return limits;
}

function parseEsUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError("ES_URL is not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConfigError("ES_URL must be http or https");
  if (url.username || url.password) throw new ConfigError("ES_URL must not carry credentials; use ES_API_KEY or ES_USERNAME/ES_PASSWORD");
  return url.toString().replace(/\/+$/, "");
}

function parseEsAuth(env: Env): EsAuth {
  const apiKey = str(env, "ES_API_KEY");
  const username = str(env, "ES_USERNAME");
  const password = str(env, "ES_PASSWORD");
  if (apiKey && (username || password)) throw new ConfigError("set either ES_API_KEY or ES_USERNAME/ES_PASSWORD, not both");
  if (apiKey) return { kind: "apiKey", apiKey };
  if (username || password) {
    if (!username || !password) throw new ConfigError("ES_USERNAME and ES_PASSWORD must be set together");
    return { kind: "basic", username, password };
  }
  return { kind: "none" };
}

const TENANT_ID = /^[A-Za-z0-9_.@-]{1,64}$/;
const NAMESPACE = /^[a-z0-9_][a-z0-9_.]{0,99}$/;

function parseTenant(id: string, raw: unknown, defaults: Limits): Tenant {
  const at = `PROMGATE_TENANTS.${id}`;
  if (!TENANT_ID.test(id)) throw new ConfigError(`PROMGATE_TENANTS: tenant id "${id}" must match ${TENANT_ID.source}`);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ConfigError(`${at} must be an object`);
  const t = raw as Record<string, unknown>;
  const known = new Set(["password", "tokens", "streams", "namespace", "limits"]);
  for (const k of Object.keys(t)) if (!known.has(k)) throw new ConfigError(`${at}.${k} is not a known field`);

  const password = t.password;
  if (password !== undefined && (typeof password !== "string" || password.length === 0)) {
    throw new ConfigError(`${at}.password must be a non-empty string`);
  }
  const tokens = t.tokens ?? [];
  if (!Array.isArray(tokens) || tokens.some((x) => typeof x !== "string" || x.length < 8)) {
    throw new ConfigError(`${at}.tokens must be a list of strings of 8 or more characters`);
  }
  if (password === undefined && tokens.length === 0) throw new ConfigError(`${at} needs a password or tokens`);
  const streams = t.streams ?? ["metrics-*.prometheus-*"];
  if (!Array.isArray(streams) || streams.length === 0 || streams.some((x) => typeof x !== "string" || x === "")) {
    throw new ConfigError(`${at}.streams must be a non-empty list of data stream name patterns`);
  }
  const namespace = t.namespace ?? "default";
  if (typeof namespace !== "string" || !NAMESPACE.test(namespace)) {
    throw new ConfigError(`${at}.namespace must match ${NAMESPACE.source}`);
  }
  const limits = { ...defaults };
  if (t.limits !== undefined) {
    if (typeof t.limits !== "object" || t.limits === null) throw new ConfigError(`${at}.limits must be an object`);
    for (const [k, v] of Object.entries(t.limits)) {
      if (!(k in limits)) throw new ConfigError(`${at}.limits.${k} is not a known limit`);
      limits[k as keyof Limits] = positiveInt(v, `${at}.limits.${k}`);
    }
  }
  return {
    id,
    ...(password !== undefined ? { password: password as string } : {}),
    tokens: tokens as string[],
    streams: streams as string[],
    namespace,
    limits,
  };
}

function parseTenants(env: Env, limits: Limits): Tenant[] {
  const raw = str(env, "PROMGATE_TENANTS");
  if (raw === undefined) {
    throw new ConfigError("PROMGATE_TENANTS is required (JSON: tenant id → credentials); PROMGATE_AUTH=none turns authentication off");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError("PROMGATE_TENANTS is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError("PROMGATE_TENANTS must be a JSON object of tenant id → settings");
  }
  const tenants = Object.entries(parsed).map(([id, t]) => parseTenant(id, t, limits));
  if (tenants.length === 0) throw new ConfigError("PROMGATE_TENANTS names no tenant");
  const seen = new Set<string>();
  for (const t of tenants) {
    for (const token of t.tokens) {
      if (seen.has(token)) throw new ConfigError(`PROMGATE_TENANTS.${t.id}.tokens: a token is shared with another tenant`);
      seen.add(token);
    }
  }
  return tenants;
}

/** Just the Elasticsearch connection: what `promgate setup` needs (no tenants). */
export type EsConfig = Pick<Config, "esUrl" | "esAuth" | "esTimeoutMs">;

export function loadEsConfig(env: Env): EsConfig {
  return {
    esUrl: parseEsUrl(str(env, "ES_URL") ?? "http://127.0.0.1:9200"),
    esAuth: parseEsAuth(env),
    esTimeoutMs: positiveInt(str(env, "ES_TIMEOUT_MS") ?? 20_000, "ES_TIMEOUT_MS"),
  };
}

function anonymousTenant(limits: Limits): Tenant {
  return { id: "anonymous", tokens: [], streams: ["metrics-*.prometheus-*"], namespace: "default", limits };
}

export function loadConfig(env: Env): Config {
  const limits = parseLimits(env);
  const auth = str(env, "PROMGATE_AUTH") ?? "tenants";
  if (auth !== "tenants" && auth !== "none") throw new ConfigError('PROMGATE_AUTH must be "tenants" or "none"');
  if (auth === "none" && str(env, "PROMGATE_TENANTS") !== undefined) {
    throw new ConfigError("PROMGATE_AUTH=none and PROMGATE_TENANTS cannot both be set");
  }
  return {
    ...loadEsConfig(env),
    auth,
    esGzip: bool(env, "ES_GZIP", false),
    retryAfterSeconds: positiveInt(str(env, "PROMGATE_RETRY_AFTER_SECONDS") ?? 5, "PROMGATE_RETRY_AFTER_SECONDS"),
    metadataIndex: str(env, "PROMGATE_METADATA_INDEX") ?? "promgate-metadata",
    tenants: auth === "none" ? [anonymousTenant(limits)] : parseTenants(env, limits),
    limits,
  };
}
