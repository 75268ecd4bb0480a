import { validateStreamPart } from "../ingest/streams.js";
import { PromgateError } from "../errors.js";

/**
 * The URL paths that name data streams, in one table for writes and one for reads: promgate's own, and
 * the same requests at the paths of the stores users migrate from, as aliases onto the same handlers:
 *
 * - Elasticsearch's Prometheus endpoints: `/_prometheus/api/v1/write`,
 *   `/_prometheus/metrics/{dataset}[/{namespace}]/api/v1/write`, and the HTTP API at `/_prometheus/api/v1/…`
 *   and `/_prometheus/{index}/api/v1/…`, where {index} is an index expression (Elasticsearch's PromQL HTTP
 *   API documentation, "Index scoping"); promgate also answers `/_prometheus/metrics/{dataset}[/{namespace}]/api/v1/…`
 *   like its own `/metrics/…` prefix.
 * - Alibaba Cloud Elasticsearch TimeStream: remote_write at `/_time_stream/prom_write/{index}`, the HTTP API at
 *   `/_time_stream/prom/{index}/api/v1/…`, where {index} names one time series index: here one data stream
 *   (see timeStreamIndex).
 *
 * A path only says which streams; whether the tenant may use them is decided with the tenant (write target
 * in ingest/streams.ts, read scope in query/scope.ts). Names are checked here: 400 with the rule broken.
 */

export type StreamSelection =
  /** No streams named: writes go to `metrics-generic.prometheus-{tenant namespace}`, reads see the tenant's. */
  | { kind: "tenant" }
  /**
   * `/metrics/{dataset}[/{namespace}]`: writes go to that stream (no namespace: the tenant's); reads see that
   * dataset in that namespace, or in every namespace the tenant may read.
   */
  | { kind: "parts"; dataset: string; namespace?: string }
  /** An index expression: data stream names and patterns, comma-separated (reads only). */
  | { kind: "expression"; patterns: string[] }
  /** Exactly one data stream, for writes and reads alike (no namespace: the tenant's). */
  | { kind: "stream"; dataset: string; namespace?: string };

/** A route's path parameters. */
export type Params = (name: string) => string | undefined;

export interface StreamRoute {
  path: string;
  select: (param: Params) => StreamSelection;
}

const tenantStreams = (): StreamSelection => ({ kind: "tenant" });

function streamParts(param: Params): StreamSelection {
  const dataset = param("dataset") ?? "";
  const namespace = param("namespace");
  validateStreamPart("dataset", dataset);
  if (namespace !== undefined) validateStreamPart("namespace", namespace);
  return namespace === undefined ? { kind: "parts", dataset } : { kind: "parts", dataset, namespace };
}

/**
 * One element of an index expression, as promgate accepts it: a data stream name or a pattern with `*`, in
 * Elasticsearch's index name characters. Left out on purpose: exclusions (`-name`), `_all`, hidden names
 * (`.name`), date math (`<…>`) and remote clusters (`cluster:name`), none of which name a tenant's streams.
 */
const EXPRESSION_PART = /^[a-z0-9*][a-z0-9_.*-]{0,254}$/;
const MAX_EXPRESSION_PARTS = 32;

export function indexExpression(text: string): StreamSelection {
  const patterns = text.split(",");
  if (patterns.length > MAX_EXPRESSION_PARTS) throw new PromgateError("invalid", `index expression has more than ${MAX_EXPRESSION_PARTS} parts`);
  for (const p of patterns) {
    if (!EXPRESSION_PART.test(p)) {
      throw new PromgateError("invalid",
        `invalid index "${p.slice(0, 100)}": use data stream names or patterns of a-z, 0-9, "_", ".", "-" and "*", separated by "," (not starting with "-", "_" or ".")`,
      );
    }
  }
  return { kind: "expression", patterns };
}

/** A full data stream name: neither part may hold a `-`, so the split is unique. */
const DATA_STREAM = /^metrics-([^-]+)\.prometheus-([^-]+)$/;

/**
 * TimeStream's {index} → one data stream: a full name `metrics-{dataset}.prometheus-{namespace}` is that
 * stream; any other name is a dataset in the tenant's namespace (`prom_index` → metrics-prom_index.prometheus-{ns}),
 * so moving a remote_write URL and a Grafana URL from TimeStream to promgate keeps them pointing at the same data.
 * Names Elasticsearch allows but data stream parts do not (upper case, `-`) are refused, not rewritten:
 * a rewrite could send two indices into one stream.
 */
export function timeStreamIndex(index: string): StreamSelection {
  const full = DATA_STREAM.exec(index);
  if (full) {
    validateStreamPart("dataset", full[1]!);
    validateStreamPart("namespace", full[2]!);
    return { kind: "stream", dataset: full[1]!, namespace: full[2]! };
  }
  try {
    validateStreamPart("dataset", index);
  } catch {
    throw new PromgateError("invalid",
      `invalid index "${index.slice(0, 100)}": use a dataset name (1-100 characters of a-z, 0-9, "_" and ".", not starting with ".") or a data stream name metrics-{dataset}.prometheus-{namespace}`,
    );
  }
  return { kind: "stream", dataset: index };
}

const index = (param: Params): string => param("index") ?? "";

/** remote_write routes (POST). */
export const WRITE_ROUTES: readonly StreamRoute[] = [
  { path: "/api/v1/write", select: tenantStreams },
  { path: "/metrics/:dataset/api/v1/write", select: streamParts },
  { path: "/metrics/:dataset/:namespace/api/v1/write", select: streamParts },
  { path: "/_prometheus/api/v1/write", select: tenantStreams },
  { path: "/_prometheus/metrics/:dataset/api/v1/write", select: streamParts },
  { path: "/_prometheus/metrics/:dataset/:namespace/api/v1/write", select: streamParts },
  { path: "/_time_stream/prom_write/:index", select: (p) => timeStreamIndex(index(p)) },
];

/** Prefixes of the HTTP API and remote_read: each is followed by `/api/v1/{endpoint}`. */
export const READ_PREFIXES: readonly StreamRoute[] = [
  { path: "", select: tenantStreams },
  { path: "/metrics/:dataset", select: streamParts },
  { path: "/metrics/:dataset/:namespace", select: streamParts },
  { path: "/_prometheus", select: tenantStreams },
  { path: "/_prometheus/metrics/:dataset", select: streamParts },
  { path: "/_prometheus/metrics/:dataset/:namespace", select: streamParts },
  { path: "/_prometheus/:index", select: (p) => indexExpression(index(p)) },
  { path: "/_time_stream/prom/:index", select: (p) => timeStreamIndex(index(p)) },
];
