/**
 * Every setting promgate reads, in one table: the loader (src/config.ts) validates against it,
 * `npm run docs:config` renders the configuration table of docs/configuration.md from it, and a unit test
 * holds wrangler.toml's `[vars]` to it. Adding a setting means adding a row here; the unit tests then fail
 * until the docs are regenerated and `[vars]` lists it.
 * The fields of one tenant in PROMGATE_TENANTS have a table of their own (TENANT_FIELDS), used the same way.
 */

import type { Limits } from "../config.js";

export type SettingKind =
  | "urls" // http(s) URLs without credentials, comma-separated
  | "string" // non-empty text
  | "secret" // non-empty text, never echoed
  | "positive-int"
  | "bool" // true/false (also 1/0, yes/no, on/off)
  | "duration" // Elasticsearch time unit: 90d, 2h, 30m, 15s
  | "enum"
  | "list" // comma-separated, each one of `values`; empty = none
  | "tenants" // JSON: tenant id → settings (parsed in src/config.ts)
  | "binding"; // a Cloudflare Workers binding (wrangler.toml), not a variable

/**
 * gateway: read by the gateway on every runtime (Workers vars/secrets, or the process environment);
 * setup:   read by `promgate setup` only;
 * server:  read by the Node, Bun and Deno entries only (the listener).
 */
export type SettingScope = "gateway" | "setup" | "server";

export interface Setting {
  readonly name: string;
  readonly kind: SettingKind;
  readonly scope: SettingScope;
  /** Credentials: never in errors, logs, /metrics or the status page; set with `wrangler secret put` on Workers. */
  readonly secret: boolean;
  /** As it would be written in the environment; absent = unset unless given. */
  readonly default?: string;
  /** What the docs say when there is no default value ("required", "where supported"). */
  readonly defaultText?: string;
  readonly values?: readonly string[];
  /** The `Limits` field a limit setting sets (the tenant JSON uses the same camelCase names). */
  readonly limit?: keyof Limits;
  /** One line, for the table in docs/configuration.md and the comment in wrangler.toml. */
  readonly description: string;
}

const limit = (name: string, field: keyof Limits, dflt: number, description: string): Setting => ({
  name,
  kind: "positive-int",
  scope: "gateway",
  secret: false,
  default: String(dflt),
  limit: field,
  description,
});

/** A rate limit: off unless set (src/ingest/rate-limits.ts applies them). */
const rateLimit = (name: string, field: keyof Limits, defaultText: string, description: string): Setting => ({
  name,
  kind: "positive-int",
  scope: "gateway",
  secret: false,
  defaultText,
  limit: field,
  description,
});

export const SETTINGS: readonly Setting[] = [
  {
    name: "ES_URL",
    kind: "urls",
    scope: "gateway",
    secret: false,
    default: "http://127.0.0.1:9200",
    description: "Elasticsearch endpoint, or several nodes' comma-separated: requests go round robin, a node that refuses connections or times out is skipped for 5 s (no credentials in the URLs)",
  },
  { name: "ES_API_KEY", kind: "secret", scope: "gateway", secret: true, description: "Elasticsearch API key (encoded form); or ES_USERNAME + ES_PASSWORD" },
  { name: "ES_USERNAME", kind: "string", scope: "gateway", secret: false, description: "Elasticsearch basic-auth user (with ES_PASSWORD)" },
  { name: "ES_PASSWORD", kind: "secret", scope: "gateway", secret: true, description: "Elasticsearch basic-auth password (with ES_USERNAME)" },
  {
    name: "ES_TIMEOUT_MS",
    kind: "positive-int",
    scope: "gateway",
    secret: false,
    default: "20000",
    description: "per Elasticsearch request; below Prometheus' 30 s remote_timeout so the sender sees our 503",
  },
  { name: "ES_GZIP", kind: "bool", scope: "gateway", secret: false, default: "false", description: "gzip the _bulk body, and take read answers gzipped (less traffic, more CPU; off: reads ask for uncompressed answers)" },
  {
    name: "PROMGATE_AUTH",
    kind: "enum",
    scope: "gateway",
    secret: false,
    default: "tenants",
    values: ["tenants", "none"],
    description: "none turns authentication off (one anonymous tenant, every stream); must be set explicitly and excludes PROMGATE_TENANTS",
  },
  {
    name: "PROMGATE_TENANTS",
    kind: "tenants",
    scope: "gateway",
    secret: true,
    defaultText: "required",
    description: "JSON: tenant id → credentials, namespace, streams, admin, limits (see below); each tenant sees only its own namespace unless given more",
  },
  { name: "PROMGATE_RETRY_AFTER_SECONDS", kind: "positive-int", scope: "gateway", secret: false, default: "5", description: "Retry-After on the 503 when Elasticsearch throttles and on the 429 when the PROMGATE_RATE_LIMITER binding refuses (own rate limits compute theirs)" },
  { name: "PROMGATE_METADATA_INDEX", kind: "string", scope: "gateway", secret: false, default: "promgate-metadata", description: "index holding metric metadata" },
  { name: "PROMGATE_EXEMPLAR_INDEX", kind: "string", scope: "gateway", secret: false, default: "promgate-exemplars", description: "index holding exemplars (trace ids and the like sent with samples)" },
  {
    name: "PROMGATE_HA_INDEX",
    kind: "string",
    scope: "gateway",
    secret: false,
    default: "promgate-ha-replicas",
    description: "index holding the elected replica of each HA cluster, shared by every promgate instance (tenants with `ha`; created by `promgate setup`)",
  },
  {
    name: "PROMGATE_PROMQL_EXPERIMENTAL",
    kind: "list",
    scope: "gateway",
    secret: false,
    defaultText: "none",
    values: ["promql-experimental-functions", "promql-duration-expr", "promql-extended-range-selectors", "promql-binop-fill-modifiers", "type-and-unit-labels", "duration-expressions", "query-functions"],
    description:
      "Prometheus 3.16 PromQL not yet stable in promgate, by Prometheus' feature flag names: promql-experimental-functions (`histogram_quantiles`, `integral`, and the query functions `start() end() range() step() min_of max_of`), promql-duration-expr (`[5m+step()]`, `offset min_of(1h, range())`), promql-extended-range-selectors (`rate(x[5m] anchored)`, `increase(x[5m] smoothed)`, `x smoothed`), promql-binop-fill-modifiers (`a + fill(0) b`, `fill_left`, `fill_right`), type-and-unit-labels (series read by PromQL carry `__type__` and `__unit__` from their metric family's metadata); duration-expressions and query-functions are the earlier names of the duration and query functions",
  },
  { name: "PROMGATE_QUERY_TIMEOUT", kind: "duration", scope: "gateway", secret: false, default: "2m", description: "longest a PromQL query may run (errorType timeout, 503); a request's `timeout` may only shorten it" },
  {
    name: "PROMGATE_QUERY_SPLIT_INTERVAL",
    kind: "duration",
    scope: "gateway",
    secret: false,
    default: "1d",
    description: "range queries are cut at multiples of this interval (UTC days for 1d) and the pieces evaluated concurrently; the answer is the same",
  },
  {
    name: "PROMGATE_QUERY_ALIGN_STEP",
    kind: "bool",
    scope: "gateway",
    secret: false,
    default: "false",
    description: "move range query start and end down to multiples of the step (as Grafana sends them); changes the answer of other ranges, as Prometheus does not align",
  },
  {
    name: "PROMGATE_CACHE",
    kind: "bool",
    scope: "gateway",
    secret: false,
    default: "false",
    description: "results cache of settled range query pieces (in memory on Node/Bun/Deno, the Workers Cache API on Workers); off by default because samples written later than PROMGATE_CACHE_SETTLE after their time (backfill) are not seen in cached pieces",
  },
  {
    name: "PROMGATE_CACHE_SETTLE",
    kind: "duration",
    scope: "gateway",
    secret: false,
    default: "10m",
    description: "only pieces whose every sample lies further back than this are cached: late and out-of-order writes are still expected within it",
  },
  {
    name: "PROMGATE_CACHE_MAX_BYTES",
    kind: "positive-int",
    scope: "gateway",
    secret: false,
    default: String(64 * 1024 * 1024),
    description: "size bound of the in-memory results cache per process (least recently used pieces go first)",
  },
  {
    name: "PROMGATE_CHUNKS",
    kind: "bool",
    scope: "gateway",
    secret: false,
    default: "false",
    description: "chunk index: settled two-hour windows compacted into per-series Prometheus XOR chunks that PromQL reads instead of raw documents (same answers); ingest then refuses samples older than PROMGATE_CHUNKS_SETTLE (400, out of bounds)",
  },
  { name: "PROMGATE_CHUNKS_INDEX", kind: "string", scope: "gateway", secret: false, default: "promgate-chunks", description: "index holding the chunk documents and the compactor's progress (`promgate setup` installs its template)" },
  {
    name: "PROMGATE_CHUNKS_SETTLE",
    kind: "duration",
    scope: "gateway",
    secret: false,
    default: "1h",
    description: "with chunks on: samples older than this are refused at ingest, and a window is compacted once its end is this far back (plus a minute)",
  },
  {
    name: "PROMGATE_CHUNKS_COMPACT_INTERVAL",
    kind: "duration",
    scope: "server",
    secret: false,
    defaultText: "off",
    description: "with chunks on: run the compactor in the server process this often (else `promgate compact`, or the Cron Trigger on Workers)",
  },
  {
    name: "PROMGATE_METRICS_TOKEN",
    kind: "secret",
    scope: "gateway",
    secret: true,
    defaultText: "admin tenants only",
    description: "Bearer token (16+ characters) that may scrape /metrics, besides the credentials of tenants with admin: true",
  },
  {
    name: "PROMGATE_SELF_METRICS",
    kind: "string",
    scope: "gateway",
    secret: false,
    default: "off",
    description: "off, or a dataset: promgate writes its own /metrics into metrics-{dataset}.prometheus-default (the fleet view on Workers)",
  },
  {
    name: "PROMGATE_SELF_METRICS_INTERVAL_SECONDS",
    kind: "positive-int",
    scope: "gateway",
    secret: false,
    default: "60",
    description: "at most one self-metrics write per this many seconds per isolate/process",
  },
  limit("PROMGATE_MAX_COMPRESSED_BYTES", "maxCompressedBytes", 10 * 1024 * 1024, "request body size as sent (snappy)"),
  limit("PROMGATE_MAX_DECOMPRESSED_BYTES", "maxDecompressedBytes", 32 * 1024 * 1024, "declared decoded size"),
  limit("PROMGATE_MAX_SERIES", "maxSeries", 10_000, "series per request"),
  limit("PROMGATE_MAX_SAMPLES", "maxSamples", 100_000, "samples per request"),
  limit("PROMGATE_MAX_LABELS_PER_SERIES", "maxLabelsPerSeries", 64, "labels per series"),
  limit("PROMGATE_MAX_LABEL_NAME_BYTES", "maxLabelNameBytes", 256, "bytes per label name"),
  limit("PROMGATE_MAX_LABEL_VALUE_BYTES", "maxLabelValueBytes", 4096, "bytes per label value"),
  limit("PROMGATE_MAX_QUERY_SAMPLES", "maxQuerySamples", 5_000_000, "samples one read may load"),
  rateLimit(
    "PROMGATE_INGESTION_RATE",
    "ingestionRate",
    "unlimited",
    "remote_write samples per second per tenant and instance (floats + histograms + exemplars; token bucket, 429 + Retry-After beyond)",
  ),
  rateLimit(
    "PROMGATE_INGESTION_BURST",
    "ingestionBurst",
    "larger of the rate and maxSamples",
    "samples a tenant may send at once above its rate; a request costing more is refused with 413 (needs an ingestion rate)",
  ),
  rateLimit("PROMGATE_REQUEST_RATE", "requestRate", "unlimited", "remote_write requests per second per tenant and instance (429 + Retry-After beyond)"),
  rateLimit("PROMGATE_REQUEST_BURST", "requestBurst", "the request rate", "requests a tenant may send at once above its request rate (needs a request rate)"),
  {
    name: "PROMGATE_RATE_LIMITER",
    kind: "binding",
    scope: "gateway",
    secret: false,
    defaultText: "none",
    description:
      "Workers only: a rate-limiting binding ([[ratelimits]] in wrangler.toml); every remote_write request also counts against it, keyed by tenant, shared by the isolates of a Cloudflare location",
  },
  {
    name: "PROMGATE_FORWARD_QUEUE",
    kind: "binding",
    scope: "gateway",
    secret: false,
    defaultText: "none",
    description:
      "Workers only: the Cloudflare Queue (producer and consumer in wrangler.toml) that carries forwarded batches; required on Workers once a tenant has `forward` rules (docs/forwarding.md)",
  },
  {
    name: "PROMGATE_FORWARD_QUEUE_BYTES",
    kind: "positive-int",
    scope: "gateway",
    secret: false,
    default: String(64 * 1024 * 1024),
    description: "Node/Bun/Deno: bound of the in-process forwarding queue (compressed batches waiting or being retried); a batch beyond it is dropped and counted",
  },
  {
    name: "PROMGATE_FORWARD_MAX_ATTEMPTS",
    kind: "positive-int",
    scope: "gateway",
    secret: false,
    default: "20",
    description: "Node/Bun/Deno: sends of one forwarded batch (5xx, 429, network errors) before it is dropped and counted; on Workers the queue's max_retries decides",
  },
  {
    name: "PROMGATE_FORWARD_MIN_BACKOFF",
    kind: "duration",
    scope: "gateway",
    secret: false,
    default: "1s",
    description: "wait before the first retry of a forwarded batch; doubled on each further failure",
  },
  {
    name: "PROMGATE_FORWARD_MAX_BACKOFF",
    kind: "duration",
    scope: "gateway",
    secret: false,
    default: "1m",
    description: "longest wait between two sends of a forwarded batch",
  },
  {
    name: "PROMGATE_FORWARD_TIMEOUT",
    kind: "duration",
    scope: "gateway",
    secret: false,
    default: "30s",
    description: "per forwarding request; a send that takes longer is retried (counted with reason timeout)",
  },
  {
    name: "PROMGATE_LOOK_BACK_TIME",
    kind: "duration",
    scope: "setup",
    secret: false,
    default: "2h",
    description: "how old a sample a new data stream accepts",
  },
  { name: "PROMGATE_RETENTION", kind: "duration", scope: "setup", secret: false, defaultText: "keep forever", description: "data stream lifecycle retention, e.g. 90d" },
  { name: "PROMGATE_FAILURE_STORE", kind: "bool", scope: "setup", secret: false, defaultText: "where supported", description: "failure store on/off" },
  { name: "HOST", kind: "string", scope: "server", secret: false, default: "127.0.0.1", description: "listen address (0.0.0.0 to listen beyond loopback)" },
  { name: "PORT", kind: "positive-int", scope: "server", secret: false, default: "8787", description: "listen port" },
];

/** One field of a tenant's object in PROMGATE_TENANTS (src/config/tenants.ts parses them). */
export interface TenantField {
  readonly name: string;
  /** As docs/configuration.md shows it. */
  readonly type: string;
  readonly secret: boolean;
  /** What applies when the field is absent, as docs/configuration.md shows it. */
  readonly defaultText: string;
  /** One line, for the table in docs/configuration.md. */
  readonly description: string;
}

export const TENANT_FIELDS: readonly TenantField[] = [
  { name: "password", type: "text", secret: true, defaultText: "—", description: "HTTP Basic password; the user name is the tenant id" },
  { name: "tokens", type: "list of text", secret: true, defaultText: "none", description: "Bearer tokens, 8+ characters each, unique across tenants (a password or a token is required)" },
  {
    name: "namespace",
    type: "data stream namespace",
    secret: false,
    defaultText: "the tenant id",
    description: "where writes go when the URL names no namespace (/api/v1/write, /metrics/{dataset}/api/v1/write); required when the id is not a valid namespace (upper case, -, @) or is default",
  },
  {
    name: "streams",
    type: "list of globs",
    secret: false,
    defaultText: "`metrics-*.prometheus-{namespace}`",
    description: "data streams the tenant may write and read (* = any characters); list more to share data",
  },
  {
    name: "admin",
    type: "true/false",
    secret: false,
    defaultText: "`false`",
    description: "may scrape /metrics and sees cluster-wide facts on the status page; gives no access to other tenants' data",
  },
  {
    name: "limits",
    type: "object",
    secret: false,
    defaultText: "the PROMGATE_MAX_* and rate settings",
    description: `per-tenant limits by camelCase name: ${SETTINGS.flatMap((s) => (s.limit !== undefined ? [s.limit] : [])).join(", ")}`,
  },
  {
    name: "ha",
    type: "object",
    secret: false,
    defaultText: "off",
    description:
      'deduplication of HA Prometheus pairs as Mimir does it (docs/ha-deduplication.md): `{"enabled": true}` plus optional `clusterLabel` (default `cluster`), `replicaLabel` (default `__replica__`, removed before storing), `failoverTimeout` (default `30s`), `cacheTtl` (default a sixth of the failover timeout, at most 2.5 s), `maxClusters` (default 100)',
  },
  {
    name: "forward",
    type: "list of rules",
    secret: true,
    defaultText: "none",
    description:
      "forwarding of what the tenant writes to other remote_write targets (docs/forwarding.md): each rule `{name, url, protocol: \"1.0\"|\"2.0\", basicAuth: {username, password} or bearerToken, headers, match: {label: RE2 regex, …} (all must match), extraLabels: {label: value}}`",
  },
];

/** The prefixes whose every variable must be a known setting (process environments hold many others). */
export const CHECKED_PREFIXES = ["ES_", "PROMGATE_"] as const;

/**
 * ES_* variables that belong to Elasticsearch's own launch scripts or to ours (scripts/elasticsearch.sh), so
 * may well be set in a shell that starts promgate; they are not promgate settings and are ignored.
 */
export const FOREIGN_NAMES: ReadonlySet<string> = new Set([
  "ES_JAVA_OPTS",
  "ES_EXTRA_JAVA_OPTS",
  "ES_JAVA_HOME",
  "ES_HOME",
  "ES_PATH_CONF",
  "ES_TMPDIR",
  "ES_PORT",
  "ES_HEAP",
  "ES_VERSION",
  "ES_START_TIMEOUT",
  "ES_STOP_TIMEOUT",
  "ES_KEEP_DATA",
  "ES_RUN_USER",
  "ES_EXTRA_USERS",
  "ES_TRANSPORT_PORT",
  "ES_GATEWAY_USER",
  "ES_GATEWAY_PASSWORD",
  "ES_NODES",
  "ES_NODE",
  "ES_STOP_SIGNAL",
]);

export const SETTING_BY_NAME: ReadonlyMap<string, Setting> = new Map(SETTINGS.map((s) => [s.name, s]));
