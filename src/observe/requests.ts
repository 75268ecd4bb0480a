import type { LogLevel } from "../app.js";
import type { Context, MiddlewareHandler } from "hono";
import { attachFacts, type IngestFacts, type RequestFacts } from "./facts.js";
import type { PromgateMetrics } from "./metrics.js";

/**
 * The request middleware: gives each request an id, and once the response is known writes one JSON log line
 * and moves the metrics from what the handler reported (see facts.ts). Nothing here reads headers other than
 * the two id headers, nor bodies, so credentials cannot reach a log line.
 */

// An incoming id is reused only if it is short and plain, so a client cannot inject into log lines or headers.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(headers: Headers): string {
  for (const name of ["x-request-id", "cf-ray"]) {
    const v = headers.get(name);
    if (v !== null && REQUEST_ID.test(v)) return v;
  }
  return crypto.randomUUID();
}

export interface RequestObserverOptions {
  metrics: PromgateMetrics;
  log: (line: string, level: LogLevel) => void;
  /** Called after each request is counted (the self-remote-write's chance to run). */
  afterRequest?: (c: Context) => void;
}

export function observeRequests(o: RequestObserverOptions): MiddlewareHandler {
  return async function observeRequests(c, next) {
    const facts: RequestFacts = { requestId: requestIdOf(c.req.raw.headers) };
    attachFacts(c, facts);
    // performance.now, not Date.now: monotonic, and the same on every runtime (on Workers it advances with I/O).
    const start = performance.now();
    await next();
    const seconds = (performance.now() - start) / 1000;
    try {
      c.res.headers.set("x-request-id", facts.requestId);
    } catch {
      // A response with immutable headers (one passed through from fetch): copy it to add ours.
      c.res = new Response(c.res.body, c.res);
      c.res.headers.set("x-request-id", facts.requestId);
    }

    const status = c.res.status;
    const route = routeOf(c);
    o.metrics.httpRequests.inc({ route, method: c.req.method, status: String(status) });
    const endpoint = readEndpoint(route);
    if (endpoint !== undefined) o.metrics.queryDuration.observe({ endpoint }, seconds);
    if (facts.ingest) recordIngest(o.metrics, facts.tenant ?? "", facts.ingest, status, c.res.headers.has("retry-after"));
    if (facts.rateLimited !== undefined) o.metrics.rateLimited.inc({ tenant: facts.tenant ?? "", limit: facts.rateLimited });

    o.log(logLine(c, facts, route, status, seconds), levelOf(status));
    o.afterRequest?.(c);
  };
}

/** The matched route pattern (`/metrics/:dataset/api/v1/write`), never the raw path: bounded label values. */
function routeOf(c: Context): string {
  const path = c.req.routePath;
  // Only the middleware itself matched (its pattern is the wildcard): no route, a 404.
  return path === "*" || path === "/*" ? "unmatched" : path;
}

/** `query`, `query_range`, `label/:name/values`, `read`… for the read API's routes; undefined for the rest. */
function readEndpoint(route: string): string | undefined {
  const i = route.indexOf("/api/v1/");
  if (i < 0) return undefined;
  const endpoint = route.slice(i + "/api/v1/".length);
  return endpoint === "write" ? undefined : endpoint;
}

function recordIngest(m: PromgateMetrics, tenant: string, f: IngestFacts, status: number, retryAfter: boolean): void {
  m.bytesReceived.inc({ stage: "compressed" }, f.bytesCompressed);
  m.bytesReceived.inc({ stage: "decompressed" }, f.bytesDecompressed);
  m.samplesReceived.inc({ tenant }, f.samplesReceived);
  m.samplesStored.inc({ tenant }, f.samplesStored);
  m.samplesDuplicate.inc({ tenant }, f.duplicates);
  let accounted = f.samplesStored + f.deduped;
  for (const [cluster, n] of f.dedupedByCluster) m.haDeduped.inc({ tenant, cluster }, n);
  for (const [reason, n] of f.rejected) {
    m.samplesRejected.inc({ tenant, reason }, n);
    accounted += n;
  }
  // What is neither stored nor rejected by promgate itself was refused or lost by Elasticsearch; the
  // response says which: a 5xx with Retry-After is Elasticsearch throttling, another 5xx Elasticsearch
  // unavailable (the sender retries both), a 4xx refused for good.
  const byStorage = f.samplesReceived - accounted;
  if (byStorage > 0) {
    const reason = status >= 500 && retryAfter ? "elasticsearch_throttled" : status >= 500 ? "elasticsearch_unavailable" : "elasticsearch_rejected";
    m.samplesRejected.inc({ tenant, reason }, byStorage);
  }
  for (const [itemStatus, n] of f.bulkItemFailures) m.bulkItemFailures.inc({ status: String(itemStatus) }, n);
}

const levelOf = (status: number): LogLevel => (status >= 500 ? "error" : status >= 400 ? "warn" : "info");

function logLine(c: Context, facts: RequestFacts, route: string, status: number, seconds: number): string {
  const line: Record<string, string | number> = {
    ts: new Date().toISOString(),
    level: levelOf(status),
    msg: "request",
    request_id: facts.requestId,
    tenant: facts.tenant ?? "",
    method: c.req.method,
    route,
    status,
    duration_ms: Math.round(seconds * 1e6) / 1e3,
    samples: facts.ingest?.samplesReceived ?? 0,
  };
  if (facts.ingest) {
    line.stored = facts.ingest.samplesStored;
    line.bytes = facts.ingest.bytesCompressed;
    if (facts.ingest.deduped > 0) line.deduped = facts.ingest.deduped;
  }
  if (status >= 400 && facts.error !== undefined) line.error = facts.error;
  return JSON.stringify(line);
}
