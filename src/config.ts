/**
 * Environment (Workers vars/secrets or process env) → a validated Config, checked against the settings table
 * in src/config/schema.ts. Every problem names the variable and field at fault; values are never echoed back.
 */

import { ConfigError } from "./config/errors.js";
import type { HaConfig } from "./config/ha.js";
import { CHECKED_PREFIXES, FOREIGN_NAMES, type Setting, SETTING_BY_NAME, SETTINGS } from "./config/schema.js";
import { checkRateLimits } from "./config/limits.js";
import { ALL_STREAMS, parseTenants } from "./config/tenants.js";
import { asPositiveInt } from "./config/values.js";
import type { ForwardRule } from "./config/forward.js";

export { ConfigError };

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
  /**
   * remote_write samples (floats + histograms + exemplars) per second, per tenant and instance; unset = no
   * limit. The rate limits are the only optional ones: each is off until configured.
   */
  ingestionRate?: number;
  /** Samples the ingestion bucket holds; unset = the larger of ingestionRate and maxSamples. */
  ingestionBurst?: number;
  /** remote_write requests per second, per tenant and instance; unset = no limit. */
  requestRate?: number;
  /** Requests the request bucket holds; unset = requestRate. */
  requestBurst?: number;
}

/** The limits' defaults, from the settings table (src/config/schema.ts); rate limits have none (off). */
export const DEFAULT_LIMITS: Limits = Object.fromEntries(
  SETTINGS.filter((s) => s.limit !== undefined && s.default !== undefined).map((s) => [s.limit, Number(s.default)]),
) as unknown as Limits;

export interface Tenant {
  id: string;
  /** Basic-auth password (username = tenant id). */
  password?: string;
  /** Bearer tokens. */
  tokens: string[];
  /** Glob patterns over data stream names this tenant may write and read; by default its own namespace's. */
  streams: string[];
  /** Namespace used when the URL names none; by default the tenant id. */
  namespace: string;
  /** May scrape /metrics and see cluster-wide facts on the status page; no access to other tenants' data. */
  admin: boolean;
  limits: Limits;
  /** Deduplication of HA Prometheus pairs (src/ingest/ha/); absent = off. */
  ha?: HaConfig;
  /** Where what the tenant writes is also sent (src/forward/); absent or empty = nowhere. */
  forward?: readonly ForwardRule[];
}

export interface FrontendConfig {
  splitMs: number;
  alignStep: boolean;
  cache: boolean;
  settleMs: number;
  cacheMaxBytes: number;
}

/**
 * What promgate uses of a Workers rate-limiting binding (the shape of workers-types' `RateLimit`, written here
 * so the config stays free of runtime types): one call counts one request against the key.
 */
export interface RateLimiterBinding {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

/**
 * What promgate uses of a Workers Queue producer binding (workers-types' `Queue`, written here so the config
 * stays free of runtime types).
 */
export interface QueueProducer {
  sendBatch(messages: Iterable<{ body: unknown; contentType?: "text" | "bytes" | "json" | "v8" }>): Promise<unknown>;
}

/** Forwarding's delivery settings (the rules themselves belong to tenants). */
export interface ForwardSettings {
  /** Bound of the in-process queue (Node, Bun, Deno), in bytes of compressed batches. */
  queueBytes: number;
  /** Sends of one batch before it is dropped (in-process queue; Workers: the queue's max_retries). */
  maxAttempts: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  timeoutMs: number;
}

export type EsAuth =
  | { kind: "apiKey"; apiKey: string }
  | { kind: "basic"; username: string; password: string }
  | { kind: "none" };

export interface ChunksConfig {
  /** Index holding chunk, progress and dirty-window documents. */
  index: string;
  /** Samples older than this are refused at ingest; windows settle this long after they end. */
  settleMs: number;
}

export interface Config {
  /** One URL per Elasticsearch node to send to (ES_URL, comma-separated); requests spread over them (elastic/nodes.ts). */
  esUrls: readonly string[];
  esAuth: EsAuth;
  /** Per ES call; below Prometheus' default remote_timeout (30 s) so the sender sees our 503, not its own timeout. */
  esTimeoutMs: number;
  /** gzip the `_bulk` body (saves egress; costs CPU). */
  esGzip: boolean;
  /** Seconds a throttled sender is asked to wait. */
  retryAfterSeconds: number;
  /** Index holding the metric metadata that remote_write sends. */
  metadataIndex: string;
  /** Index holding the exemplars remote_write sends. */
  exemplarIndex: string;
  /** Index holding each HA cluster's elected replica (src/ingest/ha/). */
  haIndex: string;
  /** Longest a PromQL query may run, in ms (PROMGATE_QUERY_TIMEOUT, Prometheus' --query.timeout). */
  queryTimeoutMs: number;
  /** Prometheus 3.16 PromQL syntax turned on (PROMGATE_PROMQL_EXPERIMENTAL); none by default. */
  promqlExperimental?: readonly string[];
  tenants: Tenant[];
  /**
   * "none": no credentials asked (PROMGATE_AUTH=none, set deliberately for a gateway behind its own auth);
   * one anonymous tenant may then read and write every stream.
   */
  auth: "tenants" | "none";
  limits: Limits;
  /** The range query frontend (splitting, alignment, results cache); absent = range queries run whole. */
  frontend?: FrontendConfig;
  /** The chunk index (PROMGATE_CHUNKS); absent = off: reads and ingest as without it. */
  chunks?: ChunksConfig;
  /** Bearer token that may scrape `/metrics` (besides admin tenants' credentials). */
  metricsToken?: string;
  /** promgate's own metrics written into `metrics-{dataset}.prometheus-default`; absent = off. */
  selfMetrics?: { dataset: string; intervalSeconds: number };
  /** The Workers rate-limiting binding PROMGATE_RATE_LIMITER, when the Worker has one. */
  rateLimiter?: RateLimiterBinding;
  forward: ForwardSettings;
  /** The Workers Queue PROMGATE_FORWARD_QUEUE, when the Worker has one. */
  forwardQueue?: QueueProducer;
  /**
   * One line each about a configuration that works but may not do what its author expects (a tenant relying
   * on a default that changed); logged once when the app starts. Never holds a secret.
   */
  warnings: string[];
}

/**
 * Where settings come from: a process environment, Workers' `env` (vars, secrets, and bindings we ignore), or a
 * test's object. `object` so Workers' generated `Env` interface (no index signature) fits as it is.
 */
export type Env = object;

const vars = (env: Env) => env as Readonly<Record<string, unknown>>;


/** A setting's value once checked: what its kind says, or undefined when unset and without a default. */
type Value = string | number | boolean | undefined;

/** Levenshtein distance, to suggest the setting a misspelt name meant. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

function unknownName(name: string): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const s of SETTINGS) {
    const d = distance(name, s.name);
    if (d < bestD) [best, bestD] = [s.name, d];
  }
  const hint = best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 4)) ? ` (did you mean ${best}?)` : "";
  return `${name} is not a known setting${hint}`;
}

const DURATION = /^[1-9][0-9]*(d|h|m|s|ms)$/;
const DURATION_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
/** A checked duration setting ("2m") in ms. */
const durationMs = (text: string): number => Number(/^\d+/.exec(text)![0]) * DURATION_MS[/[a-z]+$/.exec(text)![0]]!;

/**
 * One setting's raw value → its typed value, or a problem naming the setting (never the value: a secret
 * pasted into the wrong variable must not end up in a log). Workers vars may arrive as TOML numbers and
 * booleans, so those are accepted where the kind fits.
 */
function check(s: Setting, raw: unknown): { value: Value } | { problem: string } {
  if (s.kind === "binding") return checkBinding(s, raw);
  if (raw === undefined || raw === null || raw === "") {
    // Defaults are written as the environment would hold them, so they go through the same checks.
    return s.default === undefined ? { value: undefined } : check(s, s.default);
  }
  switch (s.kind) {
    case "positive-int": {
      const n = asPositiveInt(raw);
      return n === undefined ? { problem: `${s.name} must be a positive integer` } : { value: n };
    }
    case "bool": {
      if (typeof raw === "boolean") return { value: raw };
      if (typeof raw === "string" && /^(1|true|yes|on)$/i.test(raw)) return { value: true };
      if (typeof raw === "string" && /^(0|false|no|off)$/i.test(raw)) return { value: false };
      return { problem: `${s.name} must be true or false` };
    }
    default:
      break;
  }
  if (typeof raw !== "string") return { problem: `${s.name} must be a string` };
  switch (s.kind) {
    case "urls":
      return checkUrls(s.name, raw);
    case "duration":
      return DURATION.test(raw) ? { value: raw } : { problem: `${s.name} must be a duration such as 90d, 2h, 30m or 15s` };
    case "enum":
      return s.values?.includes(raw) ? { value: raw } : { problem: `${s.name} must be ${s.values?.map((v) => `"${v}"`).join(" or ")}` };
    case "list": {
      const items = raw.split(",").map((v) => v.trim()).filter((v) => v !== "");
      const unknown = items.find((v) => !s.values?.includes(v));
      return unknown === undefined ? { value: items.join(",") } : { problem: `${s.name} may list ${s.values?.map((v) => `"${v}"`).join(", ")} (comma-separated)` };
    }
    default:
      return { value: raw };
  }
}

/** The bindings promgate takes: how to recognise each, and what to call it when something else is there. */
const BINDINGS: Readonly<Record<string, { is: (raw: unknown) => boolean; what: string }>> = {
  PROMGATE_RATE_LIMITER: { is: (raw) => isRateLimiter(raw), what: "a Workers rate-limiting binding ([[ratelimits]] in wrangler.toml)" },
  PROMGATE_FORWARD_QUEUE: { is: (raw) => isQueueProducer(raw), what: "a Workers Queue producer binding ([[queues.producers]] in wrangler.toml)" },
};

/** A binding arrives as an object; as text (an environment variable) it can only be a mistake. */
function checkBinding(s: Setting, raw: unknown): { value: undefined } | { problem: string } {
  const b = BINDINGS[s.name];
  if (b === undefined) throw new Error(`binding ${s.name} has no check`);
  if (raw === undefined || b.is(raw)) return { value: undefined };
  return { problem: `${s.name} must be ${b.what}, not a variable` };
}

const hasMethod = (raw: unknown, name: string): boolean =>
  typeof raw === "object" && raw !== null && typeof (raw as Record<string, unknown>)[name] === "function";
const isRateLimiter = (raw: unknown): raw is RateLimiterBinding => hasMethod(raw, "limit");
const isQueueProducer = (raw: unknown): raw is QueueProducer => hasMethod(raw, "sendBatch");

/** Comma-separated URLs, each checked; the value is the normalised list joined by ",". */
function checkUrls(name: string, raw: string): { value: string } | { problem: string } {
  const parts = raw.split(",").map((p) => p.trim());
  if (parts.some((p) => p === "")) return { problem: `${name} has an empty entry; separate URLs with single commas` };
  const out: string[] = [];
  for (const p of parts) {
    const r = checkUrl(name, p);
    if ("problem" in r) return r;
    if (out.includes(r.value)) return { problem: `${name} names ${r.value} twice` };
    out.push(r.value);
  }
  return { value: out.join(",") };
}

function checkUrl(name: string, raw: string): { value: string } | { problem: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: `${name} is not a URL` };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return { problem: `${name} must be http or https` };
  if (url.username || url.password) return { problem: `${name} must not carry credentials; use ES_API_KEY or ES_USERNAME/ES_PASSWORD` };
  return { value: url.toString().replace(/\/+$/, "") };
}

/** Typed access to checked values; the kind is fixed by the schema, so a mismatch is a bug here, not bad input. */
class Settings {
  constructor(private readonly values: ReadonlyMap<string, Value>) {}
  private get(name: string, type: "string" | "number" | "boolean"): Value {
    const v = this.values.get(name);
    if (v !== undefined && typeof v !== type) throw new Error(`setting ${name} is not a ${type}`);
    return v;
  }
  text(name: string): string | undefined {
    return this.get(name, "string") as string | undefined;
  }
  int(name: string): number {
    const v = this.optionalInt(name);
    if (v === undefined) throw new Error(`setting ${name} has no default`);
    return v;
  }
  optionalInt(name: string): number | undefined {
    return this.get(name, "number") as number | undefined;
  }
  flag(name: string): boolean {
    return (this.get(name, "boolean") as boolean | undefined) ?? false;
  }
}

/**
 * Checks the whole environment against the schema: every ES_ and PROMGATE_ variable must be a known setting,
 * every known setting that is set must fit its kind. All problems are reported at once, in one line.
 */
function readSettings(env: Env): Settings {
  const problems: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!CHECKED_PREFIXES.some((p) => name.startsWith(p))) continue;
    if (!SETTING_BY_NAME.has(name) && !FOREIGN_NAMES.has(name)) problems.push(unknownName(name));
  }
  const values = new Map<string, Value>();
  for (const s of SETTINGS) {
    if (s.kind === "tenants") continue; // needs the limits; parsed by parseTenants
    const r = check(s, vars(env)[s.name]);
    if ("problem" in r) problems.push(r.problem);
    else values.set(s.name, r.value);
  }
  if (problems.length > 0) throw new ConfigError(problems.join("; "));
  return new Settings(values);
}

function parseLimits(settings: Settings): Limits {
  const limits = { ...DEFAULT_LIMITS };
  for (const s of SETTINGS) {
    if (s.limit === undefined) continue;
    const v = settings.optionalInt(s.name);
    if (v !== undefined) limits[s.limit] = v;
  }
  checkRateLimits(limits, (field) => SETTINGS.find((s) => s.limit === field)!.name);
  return limits;
}


function parseEsAuth(settings: Settings): EsAuth {
  const apiKey = settings.text("ES_API_KEY");
  const username = settings.text("ES_USERNAME");
  const password = settings.text("ES_PASSWORD");
  if (apiKey && (username || password)) throw new ConfigError("set either ES_API_KEY or ES_USERNAME/ES_PASSWORD, not both");
  if (apiKey) return { kind: "apiKey", apiKey };
  if (username || password) {
    if (!username || !password) throw new ConfigError("ES_USERNAME and ES_PASSWORD must be set together");
    return { kind: "basic", username, password };
  }
  return { kind: "none" };
}

/** Just the Elasticsearch connection: what `promgate setup` needs (no tenants; the other settings are still checked). */
export type EsConfig = Pick<Config, "esUrls" | "esAuth" | "esTimeoutMs">;

function esConfig(settings: Settings): EsConfig {
  return { esUrls: settings.text("ES_URL")!.split(","), esAuth: parseEsAuth(settings), esTimeoutMs: settings.int("ES_TIMEOUT_MS") };
}


/** What `promgate setup` needs: the ES connection and the template settings, checked by the same schema. */
export interface SetupConfig extends EsConfig {
  lookBackTime?: string;
  retention?: string;
  /** Unset: on where the cluster supports it. */
  failureStore?: boolean;
  metadataIndex: string;
  exemplarIndex: string;
  haIndex: string;
  chunksIndex: string;
}

export function loadSetupConfig(env: Env): SetupConfig {
  const settings = readSettings(env);
  // Only what the operator set: setup applies its own defaults where the cluster supports the setting, and says
  // so when it cannot honour one that was asked for.
  const set = (name: string) => vars(env)[name] !== undefined && vars(env)[name] !== "";
  return {
    ...esConfig(settings),
    ...(set("PROMGATE_LOOK_BACK_TIME") ? { lookBackTime: settings.text("PROMGATE_LOOK_BACK_TIME")! } : {}),
    ...(set("PROMGATE_RETENTION") ? { retention: settings.text("PROMGATE_RETENTION")! } : {}),
    ...(set("PROMGATE_FAILURE_STORE") ? { failureStore: settings.flag("PROMGATE_FAILURE_STORE") } : {}),
    metadataIndex: settings.text("PROMGATE_METADATA_INDEX")!,
    exemplarIndex: settings.text("PROMGATE_EXEMPLAR_INDEX")!,
    haIndex: settings.text("PROMGATE_HA_INDEX")!,
    chunksIndex: settings.text("PROMGATE_CHUNKS_INDEX")!,
  };
}

/** With authentication off there is one user, who may do everything (the single-user development mode). */
function anonymousTenant(limits: Limits): Tenant {
  return { id: "anonymous", tokens: [], streams: [ALL_STREAMS], namespace: "default", admin: true, limits };
}

export function loadConfig(env: Env): Config {
  const settings = readSettings(env);
  const limits = parseLimits(settings);
  const auth = settings.text("PROMGATE_AUTH") as Config["auth"];
  const tenantsVar = vars(env).PROMGATE_TENANTS;
  if (auth === "none" && tenantsVar !== undefined && tenantsVar !== "") {
    throw new ConfigError("PROMGATE_AUTH=none and PROMGATE_TENANTS cannot both be set");
  }
  const { tenants, warnings } = auth === "none" ? { tenants: [anonymousTenant(limits)], warnings: [] } : parseTenants(tenantsVar, limits);
  const forward = {
    queueBytes: settings.int("PROMGATE_FORWARD_QUEUE_BYTES"),
    maxAttempts: settings.int("PROMGATE_FORWARD_MAX_ATTEMPTS"),
    minBackoffMs: durationMs(settings.text("PROMGATE_FORWARD_MIN_BACKOFF")!),
    maxBackoffMs: durationMs(settings.text("PROMGATE_FORWARD_MAX_BACKOFF")!),
    timeoutMs: durationMs(settings.text("PROMGATE_FORWARD_TIMEOUT")!),
  };
  if (forward.minBackoffMs > forward.maxBackoffMs) throw new ConfigError("PROMGATE_FORWARD_MIN_BACKOFF must not exceed PROMGATE_FORWARD_MAX_BACKOFF");
  return {
    ...esConfig(settings),
    auth,
    esGzip: settings.flag("ES_GZIP"),
    retryAfterSeconds: settings.int("PROMGATE_RETRY_AFTER_SECONDS"),
    metadataIndex: settings.text("PROMGATE_METADATA_INDEX")!,
    exemplarIndex: settings.text("PROMGATE_EXEMPLAR_INDEX")!,
    haIndex: settings.text("PROMGATE_HA_INDEX")!,
    queryTimeoutMs: durationMs(settings.text("PROMGATE_QUERY_TIMEOUT")!),
    frontend: {
      splitMs: durationMs(settings.text("PROMGATE_QUERY_SPLIT_INTERVAL")!),
      alignStep: settings.flag("PROMGATE_QUERY_ALIGN_STEP"),
      cache: settings.flag("PROMGATE_CACHE"),
      settleMs: durationMs(settings.text("PROMGATE_CACHE_SETTLE")!),
      cacheMaxBytes: settings.int("PROMGATE_CACHE_MAX_BYTES"),
    },
    promqlExperimental: (settings.text("PROMGATE_PROMQL_EXPERIMENTAL") ?? "").split(",").filter((v) => v !== ""),
    ...(settings.flag("PROMGATE_CHUNKS") ? { chunks: { index: settings.text("PROMGATE_CHUNKS_INDEX")!, settleMs: durationMs(settings.text("PROMGATE_CHUNKS_SETTLE")!) } } : {}),
    tenants,
    limits,
    ...observeConfig(settings),
    ...(isRateLimiter(vars(env).PROMGATE_RATE_LIMITER) ? { rateLimiter: vars(env).PROMGATE_RATE_LIMITER as RateLimiterBinding } : {}),
    forward,
    ...(isQueueProducer(vars(env).PROMGATE_FORWARD_QUEUE) ? { forwardQueue: vars(env).PROMGATE_FORWARD_QUEUE as QueueProducer } : {}),
    warnings,
  };
}

const DATASET = /^[a-z0-9_][a-z0-9_.]{0,99}$/;

function observeConfig(settings: Settings): Pick<Config, "metricsToken" | "selfMetrics"> {
  const token = settings.text("PROMGATE_METRICS_TOKEN");
  if (token !== undefined && token.length < 16) throw new ConfigError("PROMGATE_METRICS_TOKEN must be 16 or more characters");
  const self = settings.text("PROMGATE_SELF_METRICS")!;
  if (self !== "off" && !DATASET.test(self)) {
    throw new ConfigError(`PROMGATE_SELF_METRICS must be "off" or a dataset name matching ${DATASET.source}`);
  }
  return {
    ...(token !== undefined ? { metricsToken: token } : {}),
    ...(self !== "off" ? { selfMetrics: { dataset: self, intervalSeconds: settings.int("PROMGATE_SELF_METRICS_INTERVAL_SECONDS") } } : {}),
  };
}

/** How often the Node, Bun and Deno servers run the compactor (PROMGATE_CHUNKS_COMPACT_INTERVAL); undefined: never. */
export function loadCompactInterval(env: Env): number | undefined {
  const text = readSettings(env).text("PROMGATE_CHUNKS_COMPACT_INTERVAL");
  return text === undefined ? undefined : durationMs(text);
}

/** Where the Node, Bun and Deno entries listen (HOST, PORT), checked like every other setting. */
export function loadListen(env: Env): { hostname: string; port: number } {
  const settings = readSettings(env);
  const port = settings.int("PORT");
  if (port > 65535) throw new ConfigError("PORT must be at most 65535");
  return { hostname: settings.text("HOST")!, port };
}
