/**
 * Wait before send number `attempt + 1` of a batch whose `attempt` sends failed: `minMs` after the first
 * failure, doubled after each further one, at most `maxMs` (as Prometheus' own remote write queue does).
 */
export function backoffMs(attempt: number, minMs: number, maxMs: number): number {
  if (attempt < 1) return 0;
  // 2 ** 52 would overflow nothing, but the cap is reached long before; keep the exponent bounded anyway.
  return Math.min(maxMs, minMs * 2 ** Math.min(attempt - 1, 40));
}

/**
 * The wait after a failed send: the backoff, or longer when the target asked for it (Retry-After), but never
 * beyond `maxMs`, so a target cannot park a batch for longer than the operator allows.
 */
export function retryDelayMs(attempt: number, minMs: number, maxMs: number, retryAfterMs: number | undefined): number {
  const b = backoffMs(attempt, minMs, maxMs);
  return retryAfterMs === undefined ? b : Math.min(maxMs, Math.max(b, retryAfterMs));
}
