import { retryDelayMs } from "./backoff.js";
import type { SendOutcome } from "./deliver.js";
import type { ForwardEvents } from "./events.js";

/** A batch waiting for its target: the request body, whom it is for, and how often sending it failed. */
export interface QueuedBatch {
  tenant: string;
  rule: string;
  body: Uint8Array<ArrayBuffer>;
  samples: number;
  attempts: number;
}

export interface MemoryQueueOptions {
  maxBytes: number;
  maxAttempts: number;
  minBackoffMs: number;
  maxBackoffMs: number;
}

export type Send = (b: QueuedBatch) => Promise<SendOutcome>;
export type Sleep = (ms: number) => Promise<void>;

const sleepWithTimer: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The forwarding queue of a process (Node, Bun, Deno): bounded in the bytes of the batches it holds, one lane
 * per tenant and rule so a target that is down holds up only its own batches. A lane sends its oldest batch
 * first and keeps it at the head while retrying (order is kept, as remote write expects per series). A batch
 * arriving when the bound is reached is dropped and counted: the queue never grows past the bound, and
 * what is already queued (older, nearer its turn) keeps its place.
 */
export class MemoryQueue {
  private readonly lanes = new Map<string, QueuedBatch[]>();
  private readonly running = new Set<string>();
  private readonly idleWaiters: (() => void)[] = [];
  private bytesHeld = 0;
  private batchesHeld = 0;

  constructor(
    private readonly options: MemoryQueueOptions,
    private readonly send: Send,
    private readonly events: ForwardEvents,
    private readonly sleep: Sleep = sleepWithTimer,
  ) {}

  get bytes(): number {
    return this.bytesHeld;
  }

  get batches(): number {
    return this.batchesHeld;
  }

  /** Queues a batch; false (and counted as dropped) when it does not fit under the bound. */
  push(b: QueuedBatch): boolean {
    if (this.bytesHeld + b.body.length > this.options.maxBytes) {
      this.events.dropped(b.tenant, b.rule, "queue_full", b.samples);
      return false;
    }
    const key = `${b.tenant}\u0000${b.rule}`;
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = []));
    lane.push(b);
    this.bytesHeld += b.body.length;
    this.batchesHeld++;
    this.events.queued(this.bytesHeld, this.batchesHeld);
    if (!this.running.has(key)) {
      this.running.add(key);
      void this.drain(key, lane);
    }
    return true;
  }

  /** Resolves once every lane is empty (tests, and a process shutting down). */
  idle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async drain(key: string, lane: QueuedBatch[]): Promise<void> {
    try {
      while (lane.length > 0) {
        const b = lane[0]!;
        let outcome: SendOutcome;
        try {
          outcome = await this.send(b);
        } catch {
          outcome = { kind: "retry", reason: "network" };
        }
        if (outcome.kind === "retry") {
          b.attempts++;
          this.events.failed(b.tenant, b.rule, outcome.reason);
          if (b.attempts < this.options.maxAttempts) {
            await this.sleep(retryDelayMs(b.attempts, this.options.minBackoffMs, this.options.maxBackoffMs, outcome.retryAfterMs));
            continue;
          }
          this.events.dropped(b.tenant, b.rule, "retries_exhausted", b.samples);
        } else if (outcome.kind === "rejected") {
          this.events.failed(b.tenant, b.rule, "4xx");
          this.events.dropped(b.tenant, b.rule, "rejected", b.samples);
        } else {
          this.events.sent(b.tenant, b.rule, b.samples);
        }
        lane.shift();
        this.bytesHeld -= b.body.length;
        this.batchesHeld--;
        this.events.queued(this.bytesHeld, this.batchesHeld);
      }
    } finally {
      this.running.delete(key);
      if (lane.length === 0) this.lanes.delete(key);
      if (this.running.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}
