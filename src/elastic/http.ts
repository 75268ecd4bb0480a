import type { Config } from "../config.js";
import { PromgateError } from "../errors.js";
import { base64FromText } from "../util/base64.js";
import { connectionRefused, nodePool } from "./nodes.js";

/**
 * The request path's only way to Elasticsearch: plain `fetch`, so it runs unchanged on workerd, Bun, Deno
 * and Node (the official client does not load in workerd). Network failures and timeouts become 503, which
 * remote_write senders retry; messages never include credentials.
 */

export type Fetch = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

export interface EsRequest {
  method: "GET" | "POST" | "PUT" | "DELETE" | "HEAD";
  path: string;
  body?: Uint8Array<ArrayBuffer> | string;
  contentType?: string;
  /** Compress the body with gzip (when Config.esGzip is on). */
  gzip?: boolean;
  /** Sending it twice is harmless (see retrySafe); unset: reads are, other writes are not. */
  idempotent?: boolean;
}

export function authHeader(config: Config): string | undefined {
  const a = config.esAuth;
  if (a.kind === "apiKey") return `ApiKey ${a.apiKey}`;
  if (a.kind === "basic") return `Basic ${base64FromText(`${a.username}:${a.password}`)}`;
  return undefined;
}

async function gzip(body: Uint8Array<ArrayBuffer> | string): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([body]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Whether sending `req` twice is harmless, so a timeout or a connection lost mid-request may be retried on
 * another node. Reads are; `_bulk` of samples says so itself (TSDS ids make a resent document a 409 that
 * counts as stored).
 */
function retrySafe(req: EsRequest): boolean {
  if (req.idempotent !== undefined) return req.idempotent;
  if (req.method === "GET" || req.method === "HEAD") return true;
  return /\/_(search|field_caps|pit|count)(\?|$)/.test(req.path);
}

/**
 * One request to Elasticsearch, on one of the configured nodes (elastic/nodes.ts). A node that refuses the
 * connection is marked down and the request goes to the next one (nothing was sent); after a timeout or a
 * connection lost mid-request it does so only for a retry-safe request, and only once more after a
 * timeout, so a slow cluster costs at most two timeouts, not one per node. Answers with a status, errors
 * included, are the cluster's answer: any node would give the same.
 */
export async function esFetch(config: Config, fetchFn: Fetch, req: EsRequest): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json" };
  const auth = authHeader(config);
  if (auth) headers.authorization = auth;
  let body: Uint8Array<ArrayBuffer> | string | undefined = req.body;
  if (body !== undefined) {
    headers["content-type"] = req.contentType ?? "application/json";
    if (req.gzip) {
      body = await gzip(body);
      headers["content-encoding"] = "gzip";
    }
  }
  const pool = nodePool(config);
  const several = config.esUrls.length > 1;
  let timeouts = 0;
  let failure: PromgateError | undefined;
  for (const i of pool.order()) {
    const url = config.esUrls[i]!;
    try {
      const res = await fetchFn(`${url}${req.path}`, {
        method: req.method,
        headers,
        ...(body !== undefined ? { body: body as BodyInit } : {}),
        signal: AbortSignal.timeout(config.esTimeoutMs),
      });
      pool.markUp(i);
      return res;
    } catch (e) {
      const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
      const where = several ? ` (${url})` : "";
      failure = new PromgateError(
        "unavailable",
        timedOut
          ? `elasticsearch did not answer within ${config.esTimeoutMs} ms${where}`
          : `elasticsearch unreachable${where}: ${e instanceof Error ? e.message : String(e)}`,
      );
      pool.markDown(i);
      if (timedOut) timeouts++;
      if (!connectionRefused(e) && (!retrySafe(req) || timeouts > 1)) break;
    }
  }
  throw failure ?? new PromgateError("unavailable", "elasticsearch unreachable: no node configured");
}

/** Maps a non-2xx answer from Elasticsearch to the status promgate's client should see. */
export async function esFailure(res: Response, what: string, retryAfterSeconds: number): Promise<PromgateError> {
  const detail = await errorReason(res);
  if (res.status === 429) {
    // 503, not 429: storage is overloaded, not the sender over a limit of its own. Prometheus retries 5xx by
    // default (honouring Retry-After) but drops a batch answered 429 unless `retry_on_http_429` is set.
    return new PromgateError("unavailable", `elasticsearch is throttling ${what}: ${detail}`, { "retry-after": String(retryAfterSeconds) });
  }
  if (res.status === 401 || res.status === 403) {
    // promgate's own ES credentials are wrong: a server-side fault the sender should retry after it is fixed.
    return new PromgateError("storage_failed", `elasticsearch refused promgate's credentials for ${what} (${res.status})`);
  }
  if (res.status >= 500) return new PromgateError(res.status === 503 ? "unavailable" : "storage_failed", `elasticsearch failed ${what}: ${detail}`);
  return new PromgateError("storage_failed", `elasticsearch rejected ${what} (${res.status}): ${detail}`);
}

async function errorReason(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const j = JSON.parse(text) as { error?: { type?: string; reason?: string } | string };
    if (typeof j.error === "string") return oneLine(j.error);
    if (j.error) return oneLine(`${j.error.type ?? "error"}: ${j.error.reason ?? ""}`);
  } catch {
    // not JSON: fall through
  }
  return oneLine(text || res.statusText || "no reason given");
}

export function oneLine(s: string, max = 300): string {
  const flat = s.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}
