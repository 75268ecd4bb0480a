import type { Limits, RateLimiterBinding, Tenant } from "../config.js";
import { PromgateError } from "../errors.js";
import { TokenBucket } from "../util/token-bucket.js";

/**
 * Per-tenant rate limits on remote_write, kept in this instance (one per process, one per isolate on
 * Workers), as Mimir's "local" strategy: N instances let a tenant through at up to N times its rate.
 *
 * - requestRate / requestBurst: one token per request, taken after authentication and before the body is
 *   read, so a refused request costs no body read and no decode.
 * - ingestionRate / ingestionBurst: one token per float sample, histogram sample and exemplar, taken after
 *   decode and before anything is sent to Elasticsearch. The cost is only known once the body is decoded;
 *   charging an estimate earlier (from the body size) would refuse or admit the wrong requests. Admission
 *   is all or nothing and comes before any write, so a refused request has stored nothing: its 429 is
 *   safe to retry and never stands for data that was acknowledged or half stored. Tokens of a request
 *   that Elasticsearch then fails with a retryable status are given back, since the sender pays again on
 *   its retry.
 * - PROMGATE_RATE_LIMITER, a Workers rate-limiting binding when the Worker has one: counts each request
 *   against the tenant's key across the isolates of a Cloudflare location. It counts requests only (one
 *   call, one request; it takes no cost), and holds one limit for every tenant, so samples stay local.
 *
 * Over a limit: 429 with Retry-After (the time the bucket needs to cover the request), which Prometheus
 * retries, after Retry-After, when its queue_config has `retry_on_http_429: true` (not its default: it
 * drops a batch answered 429 otherwise). A request costing more than the bucket can ever hold would be
 * refused forever, so it gets 413 instead, which Prometheus does not retry.
 */

/** Which limit refused a request: the `limit` label of promgate_rate_limited_total. */
export type LimitName = "request_rate" | "ingestion_rate" | "ingestion_burst" | "rate_limiter_binding";

export class RateLimitError extends PromgateError {
  constructor(
    readonly limit: LimitName,
    kind: "too_large" | "rate_limited",
    message: string,
    headers: Record<string, string> = {},
  ) {
    super(kind, message, headers);
    this.name = "RateLimitError";
  }
}

/** Gives back the tokens of an admitted request that was not stored after all. */
export type Refund = () => void;
const NOTHING_TO_REFUND: Refund = () => undefined;

interface Buckets {
  requests?: TokenBucket;
  samples?: TokenBucket;
}

/** The bucket sizes a tenant's limits give; undefined where a rate is not set. */
export function bucketSizes(limits: Limits): { requests?: [rate: number, burst: number]; samples?: [rate: number, burst: number] } {
  const { requestRate, ingestionRate } = limits;
  return {
    ...(requestRate !== undefined ? { requests: [requestRate, limits.requestBurst ?? requestRate] } : {}),
    // By default every request the size limits let through can pass the bucket (maxSamples counts floats,
    // histograms and exemplars together, as the cost does), so the default burst never causes a 413.
    ...(ingestionRate !== undefined ? { samples: [ingestionRate, limits.ingestionBurst ?? Math.max(ingestionRate, limits.maxSamples)] } : {}),
  };
}

const retryAfter = (waitMs: number): number => Math.max(1, Math.ceil(waitMs / 1000));

export class IngestLimiter {
  /** By tenant id: configured tenants only, so the map never outgrows the configuration. */
  private readonly buckets = new Map<string, Buckets>();

  constructor(
    private readonly now: () => number,
    private readonly binding?: { limiter: RateLimiterBinding; retryAfterSeconds: number },
  ) {}

  private bucketsOf(tenant: Tenant): Buckets {
    let b = this.buckets.get(tenant.id);
    if (!b) {
      const sizes = bucketSizes(tenant.limits);
      const now = this.now();
      b = {
        ...(sizes.requests ? { requests: new TokenBucket(...sizes.requests, now) } : {}),
        ...(sizes.samples ? { samples: new TokenBucket(...sizes.samples, now) } : {}),
      };
      this.buckets.set(tenant.id, b);
    }
    return b;
  }

  /** Before the body is read: one request against the request rate, then against the binding. */
  async admitRequest(tenant: Tenant): Promise<void> {
    const bucket = this.bucketsOf(tenant).requests;
    if (bucket) {
      const r = bucket.take(1, this.now());
      if (!r.ok) {
        const s = retryAfter(r.waitMs);
        throw new RateLimitError(
          "request_rate",
          "rate_limited",
          `tenant "${tenant.id}" is over its requestRate of ${bucket.rate} requests/s (burst ${bucket.burst}); retry after ${s} s`,
          { "retry-after": String(s) },
        );
      }
    }
    if (!this.binding) return;
    const { success } = await this.binding.limiter.limit({ key: tenant.id });
    if (success) return;
    bucket?.refund(1, this.now()); // not served: its retry takes the token again
    const s = this.binding.retryAfterSeconds;
    throw new RateLimitError(
      "rate_limiter_binding",
      "rate_limited",
      `tenant "${tenant.id}" is over the request limit of the PROMGATE_RATE_LIMITER binding (its limit and period are in wrangler.toml); retry after ${s} s`,
      { "retry-after": String(s) },
    );
  }

  /**
   * After decode, before anything is stored: `cost` samples (floats + histograms + exemplars) against the
   * ingestion rate. Returns the refund for a request that then fails retryably.
   */
  admitSamples(tenant: Tenant, cost: number): Refund {
    const bucket = this.bucketsOf(tenant).samples;
    if (!bucket || cost === 0) return NOTHING_TO_REFUND;
    const r = bucket.take(cost, this.now());
    if (r.ok) return () => bucket.refund(cost, this.now());
    if (r.waitMs === Number.POSITIVE_INFINITY) {
      throw new RateLimitError(
        "ingestion_burst",
        "too_large",
        `request of ${cost} samples exceeds the ingestionBurst of ${bucket.burst} of tenant "${tenant.id}": send fewer per request (queue_config.max_samples_per_send)`,
      );
    }
    const s = retryAfter(r.waitMs);
    throw new RateLimitError(
      "ingestion_rate",
      "rate_limited",
      `tenant "${tenant.id}" is over its ingestionRate of ${bucket.rate} samples/s (burst ${bucket.burst}); this request of ${cost} samples can be retried after ${s} s`,
      { "retry-after": String(s) },
    );
  }
}
