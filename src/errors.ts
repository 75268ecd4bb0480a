/**
 * promgate's one error type: what went wrong, as the domain sees it, and a one-line reason for the client.
 * Decoders, storage and the PromQL engine throw it; which HTTP status (and which Prometheus API error type)
 * each kind becomes is decided in one place, src/http/errors.ts. The message must never contain credentials
 * or request bodies.
 */
export type ErrorKind =
  /** The input can never succeed as sent (malformed body, invalid series, bad PromQL). */
  | "invalid"
  | "unauthenticated"
  /** Authenticated, but this tenant may not do it (another tenant's stream, an admin-only page). */
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  /** Over a size limit: the same request will never fit. */
  | "too_large"
  | "unsupported_media_type"
  /** A valid query that cannot be evaluated (many-to-many matching, over the sample budget, …). */
  | "unprocessable"
  /** The tenant is over its own rate limit: later, the same request will be taken. */
  | "rate_limited"
  /** Elasticsearch answered, but not usefully (refused promgate's credentials, an unreadable answer). */
  | "storage_failed"
  /** Elasticsearch unreachable, slow, throttling or missing shards: a retry is expected to succeed. */
  | "unavailable"
  | "internal";

export class PromgateError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** Response headers that belong to the failure (Retry-After, WWW-Authenticate, Allow). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "PromgateError";
  }
}

export const invalid = (reason: string) => new PromgateError("invalid", reason);
export const tooLarge = (reason: string) => new PromgateError("too_large", reason);

/** Whether a sender resends what failed this way (remote write: 429 and 5xx are retried, other 4xx dropped). */
export function resentAfter(kind: ErrorKind): boolean {
  return kind === "rate_limited" || kind === "storage_failed" || kind === "unavailable" || kind === "internal";
}
