import type { Config, QueueProducer } from "../config.js";
import type { ForwardRule } from "../config/forward.js";
import type { Fetch } from "../elastic/http.js";
import { backoffMs } from "./backoff.js";
import { sendBatch } from "./deliver.js";
import type { ForwardEvents } from "./events.js";

/**
 * Forwarding on Workers: batches go through a Cloudflare Queue (PROMGATE_FORWARD_QUEUE), and the same
 * Worker's `queue()` handler sends them. The queue keeps them across isolates, restarts and a target's
 * outage; a message retried `max_retries` times goes to the dead-letter queue (wrangler.toml).
 *
 * A message names its tenant and rule, never the target or its credentials: the consumer takes those from
 * its configuration, so no secret is ever stored in the queue.
 */
export interface ForwardMessage {
  tenant: string;
  rule: string;
  /** The remote_write body as the target gets it (snappy-compressed protobuf). */
  body: Uint8Array<ArrayBuffer>;
  samples: number;
}

/** A queue message accepts at most 128 KB; batches for the queue are cut below that, encoding overhead included. */
export const QUEUE_BATCH_BYTES = 96 * 1024;

export async function enqueue(queue: QueueProducer, messages: ForwardMessage[]): Promise<void> {
  // sendBatch takes up to 100 messages and 256 KB in all: one message per call stays within both.
  for (const m of messages) await queue.sendBatch([{ body: m }]);
}

/** What the consumer uses of a Workers queue message (workers-types' `Message`). */
export interface QueueMessage {
  readonly body: unknown;
  /** Deliveries of this message so far, this one included (1 on the first). */
  readonly attempts: number;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

const isForwardMessage = (b: unknown): b is ForwardMessage => {
  const m = b as Partial<ForwardMessage> | null;
  return typeof m === "object" && m !== null && typeof m.tenant === "string" && typeof m.rule === "string" && m.body instanceof Uint8Array && typeof m.samples === "number";
};

function ruleOf(config: Config, tenant: string, rule: string): ForwardRule | undefined {
  return config.tenants.find((t) => t.id === tenant)?.forward?.find((r) => r.name === rule);
}

/**
 * The `queue()` handler's work for one batch of messages: each is sent on its own (concurrently), then acked
 * (sent, or refused by the target with a 4xx: retrying cannot help) or handed back for a retry after the
 * backoff of its attempt (5xx, 429, network, timeout).
 */
export async function consumeForwardBatch(messages: readonly QueueMessage[], config: Config, fetchFn: Fetch, events: ForwardEvents, userAgent: string): Promise<void> {
  await Promise.all(messages.map((m) => consumeOne(m, config, fetchFn, events, userAgent)));
}

async function consumeOne(m: QueueMessage, config: Config, fetchFn: Fetch, events: ForwardEvents, userAgent: string): Promise<void> {
  if (!isForwardMessage(m.body)) {
    // Not ours (or from an incompatible version): nothing could ever send it.
    m.ack();
    return;
  }
  const { tenant, rule: name, body, samples } = m.body;
  const rule = ruleOf(config, tenant, name);
  if (!rule) {
    events.dropped(tenant, name, "rule_removed", samples);
    m.ack();
    return;
  }
  const outcome = await sendBatch(fetchFn, rule, body, config.forward.timeoutMs, userAgent);
  if (outcome.kind === "sent") {
    events.sent(tenant, name, samples);
    m.ack();
  } else if (outcome.kind === "rejected") {
    events.failed(tenant, name, "4xx");
    events.dropped(tenant, name, "rejected", samples);
    m.ack();
  } else {
    events.failed(tenant, name, outcome.reason);
    const delayMs = backoffMs(m.attempts, config.forward.minBackoffMs, config.forward.maxBackoffMs);
    m.retry({ delaySeconds: Math.max(1, Math.ceil(delayMs / 1000)) });
  }
}
