import type { ForwardRule } from "../config/forward.js";
import type { Fetch } from "../elastic/http.js";

/**
 * One send of a batch to a rule's target, and what it means for the batch:
 * - sent: 2xx;
 * - retry: 5xx, 429, no answer (network error, timeout) — the target may take it later;
 * - rejected: any other status — the target will refuse it again, so it is dropped (remote write's own
 *   contract: 4xx means do not retry).
 */
export type SendOutcome =
  | { kind: "sent" }
  /** `retryAfterMs`: the target's Retry-After (seconds), when it gave one. */
  | { kind: "retry"; reason: FailureReason; retryAfterMs?: number }
  | { kind: "rejected"; status: number };

/** How a send failed, as the `reason` label of promgate_forward_failures_total. */
export type FailureReason = "5xx" | "429" | "4xx" | "network" | "timeout";

export async function sendBatch(
  fetchFn: Fetch,
  rule: ForwardRule,
  body: Uint8Array<ArrayBuffer>,
  timeoutMs: number,
  userAgent: string,
): Promise<SendOutcome> {
  const headers: Record<string, string> = {
    ...rule.headers,
    "content-encoding": "snappy",
    "user-agent": userAgent,
    ...(rule.protocol === "2.0"
      ? { "content-type": "application/x-protobuf;proto=io.prometheus.write.v2.Request", "x-prometheus-remote-write-version": "2.0.0" }
      : { "content-type": "application/x-protobuf", "x-prometheus-remote-write-version": "0.1.0" }),
  };
  let res: Response;
  try {
    res = await fetchFn(rule.url, { method: "POST", headers, body, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
    return { kind: "retry", reason: timedOut ? "timeout" : "network" };
  }
  // The answer's body is of no use; cancelling it releases the connection for the next send.
  await res.body?.cancel().catch(() => undefined);
  if (res.ok) return { kind: "sent" };
  if (res.status === 429 || res.status >= 500) {
    const reason = res.status === 429 ? "429" : "5xx";
    const after = retryAfterMs(res.headers.get("retry-after"));
    return after === undefined ? { kind: "retry", reason } : { kind: "retry", reason, retryAfterMs: after };
  }
  return { kind: "rejected", status: res.status };
}

/** Retry-After in seconds (the HTTP-date form is not used by remote write receivers), as ms. */
function retryAfterMs(value: string | null): number | undefined {
  if (value === null || !/^\s*\d{1,9}\s*$/.test(value)) return undefined;
  return Number(value) * 1000;
}
