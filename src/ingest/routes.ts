import { type Context, Hono } from "hono";
import type { Config, Tenant } from "../config.js";
import type { Fetch } from "../elastic/http.js";
import { mayUseStream, tenantOf } from "../http/auth.js";
import { readBody } from "../http/body.js";
import { PromgateError } from "../errors.js";
import { type StreamRoute, type StreamSelection, WRITE_ROUTES } from "../http/prefixes.js";
import { factsOf, ingestFactsOf, reportTenant } from "../observe/facts.js";
import type { IngestFacts } from "../observe/facts.js";
import { checkWriteHeaders, type WireProtocol } from "./headers.js";
import { IngestLimiter, RateLimitError } from "./rate-limits.js";
import { writeStream } from "./streams.js";
import type { HaTracker } from "./ha/tracker.js";
import { type Forward, ingestWriteRequest } from "./write.js";
import type { Forwarder } from "../forward/forwarder.js";

export interface IngestDeps {
  fetch: Fetch;
  now: () => number;
  /** The HA elections, when a tenant deduplicates HA pairs. */
  ha?: HaTracker;
  /** Forwarding of what tenants write (src/forward/); absent when no tenant has rules. */
  forwarder?: Forwarder;
}

/** 202 when samples were dropped as an HA replica's that is not elected, as Mimir answers; else 204. */
const writeStatus = (f: IngestFacts): number => (f.deduped > 0 ? 202 : 204);

/** Remote write 2.0's response headers: what of the request Elasticsearch now holds. */
function writtenHeaders(f: IngestFacts): Record<string, string> {
  return {
    "x-prometheus-remote-write-samples-written": String(f.floatsStored),
    "x-prometheus-remote-write-histograms-written": String(f.histogramsStored),
    "x-prometheus-remote-write-exemplars-written": String(f.exemplarsStored),
  };
}

/**
 * The remote_write routes, mirroring Elasticsearch's own Prometheus endpoint:
 *   /api/v1/write                                → metrics-generic.prometheus-{tenant namespace}
 *   /metrics/{dataset}/api/v1/write              → metrics-{dataset}.prometheus-{tenant namespace}
 *   /metrics/{dataset}/{namespace}/api/v1/write  → metrics-{dataset}.prometheus-{namespace}
 * and the aliases of http/prefixes.ts (the same under `/_prometheus`, TimeStream's `/_time_stream/prom_write/{index}`).
 * Checks run in the order of docs/design.md, each before the work it protects: names, headers (415),
 * credentials (401/403), request rate (429), body size (413), decoded size (413), decode (400/413),
 * ingestion rate (429, or 413 beyond the burst). `Content-Type`'s `proto=` picks remote write 1.0
 * (`prometheus.WriteRequest`, the default) or 2.0 (`io.prometheus.write.v2.Request`).
 */
export function ingestRoutes(config: Config, deps: IngestDeps): Hono {
  const app = new Hono();
  const limiter = new IngestLimiter(
    deps.now,
    config.rateLimiter ? { limiter: config.rateLimiter, retryAfterSeconds: config.retryAfterSeconds } : undefined,
  );

  const handle = async (c: Context, select: StreamRoute["select"]): Promise<Response> => {
    const req = c.req.raw;
    if (req.method !== "POST") throw new PromgateError("method_not_allowed", "remote_write takes POST", { allow: "POST" });
    const selection = select((name) => c.req.param(name));
    const protocol = checkWriteHeaders(req.headers.get("content-type") ?? undefined, req.headers.get("content-encoding") ?? undefined);
    if (protocol === "prw2") {
      // Remote write 2.0: every answer says what was written, errors included (the sender's accounting).
      try {
        await write(c, selection, protocol);
      } catch (e) {
        if (e instanceof PromgateError) Object.assign(e.headers, writtenHeaders(ingestFactsOf(c)));
        throw e;
      }
      return new Response(null, { status: writeStatus(ingestFactsOf(c)), headers: writtenHeaders(ingestFactsOf(c)) });
    }
    await write(c, selection, protocol);
    return new Response(null, { status: writeStatus(ingestFactsOf(c)) });
  };

  const write = async (c: Context, selection: StreamSelection, protocol: WireProtocol): Promise<void> => {
    const req = c.req.raw;
    const tenant = await tenantOf(config, req.headers.get("authorization") ?? undefined);
    reportTenant(c, tenant.id);
    const dataStream = writeStream(tenant, selection);
    if (!mayUseStream(tenant, dataStream)) {
      throw new PromgateError("forbidden", `tenant "${tenant.id}" may not write to ${dataStream}`);
    }
    try {
      await limiter.admitRequest(tenant);
      const body = await readBody(req, tenant.limits.maxCompressedBytes, "maxCompressedBytes");
      const admit = (cost: number) => limiter.admitSamples(tenant, cost);
      await ingestWriteRequest(config, deps.fetch, tenant, dataStream, body, deps.now(), ingestFactsOf(c), protocol, admit, deps.ha, forwardHook(c, tenant));
    } catch (e) {
      if (e instanceof RateLimitError) factsOf(c).rateLimited = e.limit;
      throw e;
    }
  };

  /** The tenant's forwarding, its work kept alive past the response on Workers (waitUntil). */
  const forwardHook = (c: Context, tenant: Tenant): Forward | undefined => {
    const forwarder = deps.forwarder;
    if (!forwarder || !tenant.forward?.length) return undefined;
    return (decoded, protocol, wrap) => {
      const pending = forwarder.offer(tenant, decoded, protocol, wrap);
      if (pending) waitUntil(c, pending);
    };
  };

  for (const { path, select } of WRITE_ROUTES) app.all(path, (c) => handle(c, select));
  return app;
}

/** Keeps `p` running after the response where the runtime would stop it (Workers); elsewhere it runs on anyway. */
function waitUntil(c: Context, p: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(p);
  } catch {
    // Hono throws when the runtime gave no ExecutionContext (Node, Bun, Deno)
  }
}
