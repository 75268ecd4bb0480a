import type { Config, QueueProducer } from "../config.js";
import type { ForwardRule } from "../config/forward.js";
import type { Fetch } from "../elastic/http.js";
import { retryDelayMs } from "./backoff.js";
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
  // sendBatch takes up to 100 messages and 256 KB in all: one message per call stays within both. "v8":
  // the default ("json") would turn the bytes into an object of numbered keys.
  for (const m of messages) await queue.sendBatch([{ body: m, contentType: "v8" }]);
}

/** What the consumer uses of a Workers queue message (workers-types' `Message`). */
export interface QueueMessage {
  readonly body: unknown;
  /** Deliveries of this message so far, this one included (1 on the first). */
  readonly attempts: number;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

/**
 * A message body as the queue hands it back. The bytes come back as a typed array of the consumer's own
 * realm or as a plain ArrayBuffer depending on the runtime's serialisation, so neither `instanceof` is relied on.
 */
function readMessage(b: unknown): ForwardMessage | undefined {
  if (typeof b !== "object" || b === null) return undefined;
  const m = b as Record<string, unknown>;
  if (typeof m.tenant !== "string" || typeof m.rule !== "string" || typeof m.samples !== "number") return undefined;
  const raw = m.body;
  let body: Uint8Array<ArrayBuffer> | undefined;
  if (ArrayBuffer.isView(raw)) body = new Uint8Array(raw.buffer as ArrayBuffer, raw.byteOffset, raw.byteLength);
  else if (Object.prototype.toString.call(raw) === "[object ArrayBuffer]") body = new Uint8Array(raw as ArrayBuffer);
  return body ? { tenant: m.tenant, rule: m.rule, samples: m.samples, body } : undefined;
}

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
  const msg = readMessage(m.body);
  if (!msg) {
    // Not a batch of ours (or from an incompatible version): nothing could ever send it.
    events.dropped("", "", "unreadable", 0);
    m.ack();
    return;
  }
  const { tenant, rule: name, body, samples } = msg;
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
    const delayMs = retryDelayMs(m.attempts, config.forward.minBackoffMs, config.forward.maxBackoffMs, outcome.retryAfterMs);
    m.retry({ delaySeconds: Math.max(1, Math.ceil(delayMs / 1000)) });
  }
}
