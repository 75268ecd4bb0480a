import { PIECE_TTL_MS, type PieceStore } from "./store.js";

/**
 * Pieces in the Workers Cache API (`caches.default`, shared by the isolates of one data centre). The Cache
 * API keys on a GET request URL, so a piece's key becomes a synthetic URL on a reserved host that is never
 * fetched; the key already starts with the hash of the tenant scope and holds no credentials.
 */

/** The part of the Workers `Cache` interface used here (the entry passes `caches.default`). */
export interface RequestCache {
  match(request: Request): Promise<Response | undefined>;
  put(request: Request, response: Response): Promise<void>;
}

const ORIGIN = "https://query-cache.promgate.invalid/";

export class WorkersCacheStore implements PieceStore {
  constructor(private readonly cache: RequestCache) {}

  private request(key: string): Request {
    return new Request(ORIGIN + key.split("/").map(encodeURIComponent).join("/"));
  }

  async get(key: string): Promise<string | undefined> {
    const res = await this.cache.match(this.request(key));
    return res ? await res.text() : undefined;
  }

  async put(key: string, value: string): Promise<void> {
    const headers = { "content-type": "application/json", "cache-control": `max-age=${PIECE_TTL_MS / 1000}` };
    await this.cache.put(this.request(key), new Response(value, { headers }));
  }

  bytes(): undefined {
    return undefined;
  }
}
