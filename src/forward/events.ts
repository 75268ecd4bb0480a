import type { FailureReason } from "./deliver.js";
import type { PromgateMetrics } from "../observe/metrics.js";

/**
 * Why forwarded samples were given up, as the `reason` label of promgate_forward_dropped_total:
 * - queue_full: the in-process queue was at its bound when the batch came;
 * - rejected: the target answered 4xx (not 429): it would refuse the batch again;
 * - retries_exhausted: every allowed send failed (in-process queue; on Workers the dead-letter queue gets it);
 * - rule_removed: a queued batch whose rule the configuration no longer has;
 * - enqueue_failed: the Workers Queue refused the batch, or it could not be prepared;
 * - unreadable: a queue message that is not a forwarded batch (counted with empty tenant and rule).
 */
export type DropReason = "queue_full" | "rejected" | "retries_exhausted" | "rule_removed" | "enqueue_failed" | "unreadable";

/** What forwarding reports, for /metrics (src/observe/metrics.ts) and tests. */
export interface ForwardEvents {
  sent(tenant: string, rule: string, samples: number): void;
  failed(tenant: string, rule: string, reason: FailureReason): void;
  dropped(tenant: string, rule: string, reason: DropReason, samples: number): void;
  /** The in-process queue's content after a change. */
  queued(bytes: number, batches: number): void;
}

/** The events as promgate's own metrics. */
export function metricsEvents(m: PromgateMetrics): ForwardEvents {
  return {
    sent: (tenant, rule, samples) => m.forwardSentSamples.inc({ tenant, rule }, samples),
    failed: (tenant, rule, reason) => m.forwardFailures.inc({ tenant, rule, reason }),
    dropped: (tenant, rule, reason, samples) => m.forwardDropped.inc({ tenant, rule, reason }, samples),
    queued: (bytes, batches) => {
      m.forwardQueueBytes.set({}, bytes);
      m.forwardQueueBatches.set({}, batches);
    },
  };
}
