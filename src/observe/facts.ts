import type { Context } from "hono";

/**
 * What a route handler learns about its request (tenant, samples, why it failed) and hands to the request
 * middleware through the Hono context, which turns it into the log line and the metrics once the response
 * is known. Kept per request, never global: one isolate serves many requests at once.
 */

export interface IngestFacts {
  bytesCompressed: number;
  bytesDecompressed: number;
  /** Float samples plus native histogram samples decoded from the request. */
  samplesReceived: number;
  /** Samples (floats and histograms) Elasticsearch holds after the request, duplicates included. */
  samplesStored: number;
  /** The same split by kind: what remote write 2.0's X-Prometheus-Remote-Write-*-Written headers report. */
  floatsStored: number;
  histogramsStored: number;
  exemplarsStored: number;
  exemplarsReceived: number;
  duplicates: number;
  /** Samples of a replica other than its HA cluster's elected one, not stored (src/ingest/ha/). */
  deduped: number;
  dedupedByCluster: ReadonlyMap<string, number>;
  /** Samples not stored for a reason known before or without Elasticsearch (validation, unsupported). */
  rejected: Map<string, number>;
  /** Documents Elasticsearch refused inside a `_bulk`, by item status. */
  bulkItemFailures: Map<number, number>;
}

export interface RequestFacts {
  requestId: string;
  tenant?: string;
  /** The one-line reason sent with a 4xx/5xx (never credentials or bodies). */
  error?: string;
  /** The rate limit that refused the request (ingest/rate-limits.ts), if one did. */
  rateLimited?: string;
  ingest?: IngestFacts;
}

const KEY = "promgate.facts";

export function newIngestFacts(): IngestFacts {
  return {
    bytesCompressed: 0,
    bytesDecompressed: 0,
    samplesReceived: 0,
    samplesStored: 0,
    floatsStored: 0,
    histogramsStored: 0,
    exemplarsStored: 0,
    exemplarsReceived: 0,
    duplicates: 0,
    deduped: 0,
    dedupedByCluster: new Map(),
    rejected: new Map(),
    bulkItemFailures: new Map(),
  };
}

export function attachFacts(c: Context, facts: RequestFacts): void {
  c.set(KEY, facts);
}

/** This request's facts; a throwaway object when the app runs without the observing middleware (some tests). */
export function factsOf(c: Context): RequestFacts {
  const f = c.get(KEY) as RequestFacts | undefined;
  if (f) return f;
  const fresh: RequestFacts = { requestId: "" };
  attachFacts(c, fresh);
  return fresh;
}

/** Ingest facts of this request, created on first use. */
export function ingestFactsOf(c: Context): IngestFacts {
  const f = factsOf(c);
  f.ingest ??= newIngestFacts();
  return f.ingest;
}

export function reportTenant(c: Context, tenantId: string): void {
  factsOf(c).tenant = tenantId;
}

export function reportError(c: Context, message: string): void {
  factsOf(c).error = message;
}
