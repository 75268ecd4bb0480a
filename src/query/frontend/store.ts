/**
 * Where settled pieces are kept: a string value under a string key. The in-memory LRU serves Node, Bun and
 * Deno; on workerd the Workers Cache API does (workers-store.ts), handed in by the Workers entry so this
 * code never touches a runtime global.
 */
export interface PieceStore {
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
  /** Bytes held, where the store knows (the in-memory one); undefined elsewhere. */
  bytes(): number | undefined;
}

/** How long a stored piece is kept at most: data stream retention may delete what it was computed from. */
export const PIECE_TTL_MS = 24 * 3_600_000;

/** UTF-16 code units take two bytes each in the engines promgate runs on. */
const sizeOf = (key: string, value: string): number => 2 * (key.length + value.length);

/**
 * A byte-bounded least-recently-used map: a Map keeps insertion order, so re-inserting on use makes the
 * first entry the least recently used one. An entry older than PIECE_TTL_MS counts as absent.
 */
export class LruStore implements PieceStore {
  private readonly entries = new Map<string, { value: string; size: number; storedAt: number }>();
  private held = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly now: () => number,
  ) {}

  async get(key: string): Promise<string | undefined> {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (this.now() - e.storedAt > PIECE_TTL_MS) {
      this.held -= e.size;
      return undefined;
    }
    this.entries.set(key, e);
    return e.value;
  }

  async put(key: string, value: string): Promise<void> {
    const size = sizeOf(key, value);
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.held -= old.size;
    }
    // An entry larger than the whole cache would only evict everything else and then itself.
    if (size > this.maxBytes) return;
    this.entries.set(key, { value, size, storedAt: this.now() });
    this.held += size;
    for (const [k, e] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.entries.delete(k);
      this.held -= e.size;
    }
  }

  bytes(): number {
    return this.held;
  }
}
