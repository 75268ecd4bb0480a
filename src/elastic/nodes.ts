/**
 * Which Elasticsearch node a request goes to, when ES_URL names several: round robin over the nodes not
 * known to be down, so load spreads without a load balancer in front. A node that refused a connection or
 * timed out is skipped for NODE_DOWN_MS, then tried again by the next request that comes along (a node back
 * from a restart takes requests again within seconds, and one still down costs one refused connection).
 * Any node coordinates any request: Elasticsearch routes documents and searches to the shards' nodes itself.
 *
 * State lives per Config (one per app: per isolate on Workers, per process elsewhere); nothing is shared
 * between instances, which each learn about a down node from their own first refused connection.
 */

export const NODE_DOWN_MS = 5_000;

export class NodePool {
  private cursor = 0;
  private readonly downUntil: number[];

  constructor(
    readonly urls: readonly string[],
    private readonly now: () => number = Date.now,
  ) {
    this.downUntil = urls.map(() => 0);
  }

  /**
   * The nodes to try for one request, in order: the next in turn first, then the other nodes that are up,
   * then those marked down (soonest back first), since a request with nowhere else to go should still try.
   */
  order(): number[] {
    const n = this.urls.length;
    const start = this.cursor;
    this.cursor = (this.cursor + 1) % n;
    const t = this.now();
    const all = Array.from({ length: n }, (_, k) => (start + k) % n);
    const up = all.filter((i) => this.downUntil[i]! <= t);
    const down = all.filter((i) => this.downUntil[i]! > t).sort((a, b) => this.downUntil[a]! - this.downUntil[b]!);
    return [...up, ...down];
  }

  markDown(i: number): void {
    this.downUntil[i] = this.now() + NODE_DOWN_MS;
  }

  markUp(i: number): void {
    this.downUntil[i] = 0;
  }

  isDown(i: number): boolean {
    return this.downUntil[i]! > this.now();
  }
}

const pools = new WeakMap<object, NodePool>();

/** The pool of `config`'s URLs, made on first use. */
export function nodePool(config: { esUrls: readonly string[] }): NodePool {
  let p = pools.get(config);
  if (!p) pools.set(config, (p = new NodePool(config.esUrls)));
  return p;
}

/**
 * True when the error says the connection was refused: nothing was sent, so any request may go to another
 * node. Runtimes word it differently (Node's undici: cause.code ECONNREFUSED; Bun: ConnectionRefused; Deno:
 * "Connection refused (os error 111)").
 */
export function connectionRefused(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; depth++) {
    const { code, message } = cur as { code?: unknown; message?: unknown };
    if (code === "ECONNREFUSED" || code === "ConnectionRefused") return true;
    if (typeof message === "string" && /ECONNREFUSED|connection refused|ConnectionRefused/i.test(message)) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}
