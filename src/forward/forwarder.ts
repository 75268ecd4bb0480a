import type { LogLevel } from "../app.js";
import { type Config, ConfigError, type Tenant } from "../config.js";
import type { Fetch } from "../elastic/http.js";
import type { VisitorWrap } from "../ingest/decode.js";
import type { WireProtocol } from "../ingest/headers.js";
import { sendBatch } from "./deliver.js";
import { encodeBatch, splitSeries } from "./encode.js";
import type { ForwardEvents } from "./events.js";
import { MemoryQueue } from "./memory-queue.js";
import { compileRule, type CompiledRule } from "./rules.js";
import { selectSeries } from "./select.js";
import { consumeForwardBatch, enqueue, type ForwardMessage, QUEUE_BATCH_BYTES, type QueueMessage } from "./workers-queue.js";

/**
 * Forwarding ("data delivery"): what a tenant writes is also sent, in real time, to the remote_write targets
 * of its rules — the series each rule's label filters take, with the rule's extra labels. Storing in
 * Elasticsearch stays the outcome the sender sees: forwarding starts once a request is decoded and
 * admitted, runs after the request's own work (never awaited by it), and its failures are counted, never
 * answered. Delivery is at least once, retried with exponential backoff: through a Cloudflare Queue on
 * Workers (config.forwardQueue), through a bounded in-process queue elsewhere.
 */

export interface ForwardDeps {
  fetch: Fetch;
  log: (line: string, level: LogLevel) => void;
  now: () => number;
}

/** Requests to targets stay below this (uncompressed), about what Prometheus sends at most per request. */
const MEMORY_BATCH_BYTES = 512 * 1024;

const macrotask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export class Forwarder {
  private readonly rules = new Map<string, CompiledRule[]>();
  /** The in-process queue; absent when batches go to the Workers Queue. */
  readonly memory: MemoryQueue | undefined;

  constructor(
    private readonly config: Config,
    private readonly deps: ForwardDeps,
    private readonly events: ForwardEvents,
    private readonly userAgent: string,
  ) {
    for (const t of config.tenants) if (t.forward?.length) this.rules.set(t.id, t.forward.map(compileRule));
    const f = config.forward;
    this.memory = config.forwardQueue
      ? undefined
      : new MemoryQueue(
          { maxBytes: f.queueBytes, maxAttempts: f.maxAttempts, minBackoffMs: f.minBackoffMs, maxBackoffMs: f.maxBackoffMs },
          (b) => sendBatch(deps.fetch, this.ruleOf(b.tenant, b.rule)!, b.body, f.timeoutMs, userAgent),
          events,
        );
  }

  /** Whether any tenant has rules (no forwarder is needed otherwise). */
  get active(): boolean {
    return this.rules.size > 0;
  }

  /**
   * Hands a decoded write request of `tenant` to forwarding; undefined when the tenant has no rules. `wrap`
   * puts the write path's HA deduplication in front of the selection, so what is forwarded is what is stored. The
   * work (a second walk of the request, encoding, enqueueing) starts after the current task, so it comes
   * after the request's own; the promise never rejects. On Workers it belongs in `waitUntil`.
   */
  offer(tenant: Tenant, decoded: Uint8Array, protocol: WireProtocol, wrap?: VisitorWrap): Promise<void> | undefined {
    const rules = this.rules.get(tenant.id);
    if (!rules) return undefined;
    return macrotask()
      .then(() => this.forward(tenant, rules, decoded, protocol, wrap))
      .catch((e: unknown) => this.fail(tenant.id, e));
  }

  /** The Workers `queue()` handler: sends a batch of queue messages, acking or retrying each. */
  consume(messages: readonly QueueMessage[]): Promise<void> {
    return consumeForwardBatch(messages, this.config, this.deps.fetch, this.events, this.userAgent);
  }

  private ruleOf(tenant: string, rule: string) {
    return this.rules.get(tenant)?.find((r) => r.rule.name === rule)?.rule;
  }

  private async forward(tenant: Tenant, rules: CompiledRule[], decoded: Uint8Array, protocol: WireProtocol, wrap: VisitorWrap | undefined): Promise<void> {
    const picked = selectSeries(decoded, protocol, tenant.limits, rules, wrap);
    const maxBytes = this.memory ? MEMORY_BATCH_BYTES : QUEUE_BATCH_BYTES;
    const messages: ForwardMessage[] = [];
    rules.forEach(({ rule, extraLabels }, i) => {
      for (const group of splitSeries(picked[i]!, maxBytes)) {
        const { body, samples } = encodeBatch(group, extraLabels, rule.protocol);
        messages.push({ tenant: tenant.id, rule: rule.name, body, samples });
      }
    });
    if (this.memory) {
      for (const m of messages) this.memory.push({ ...m, attempts: 0 });
      return;
    }
    for (const m of messages) {
      try {
        await enqueue(this.config.forwardQueue!, [m]);
      } catch (e) {
        this.events.dropped(m.tenant, m.rule, "enqueue_failed", m.samples);
        this.fail(tenant.id, e);
      }
    }
  }

  private fail(tenant: string, e: unknown): void {
    const error = e instanceof Error ? e.message : String(e);
    this.deps.log(JSON.stringify({ ts: new Date(this.deps.now()).toISOString(), level: "warn", msg: "forwarding failed", tenant, error }), "warn");
  }
}

/**
 * On Workers, forwarding needs the queue: without it batches would live only in `waitUntil`, lost with the
 * isolate and unable to wait out a target's outage. Refused at startup rather than silently weakened.
 */
export function checkWorkersForwarding(config: Config): void {
  if (config.forwardQueue) return;
  const t = config.tenants.find((x) => x.forward?.length);
  if (t) {
    throw new ConfigError(
      `PROMGATE_TENANTS.${t.id}.forward needs the PROMGATE_FORWARD_QUEUE queue binding on Workers ([[queues.producers]] and [[queues.consumers]] in wrangler.toml; docs/forwarding.md)`,
    );
  }
}
