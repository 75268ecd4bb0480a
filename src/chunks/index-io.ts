import type { ChunksConfig, Config } from "../config.js";
import { assertComplete, NO_PARTIAL_RESULTS, type SearchCompleteness, withCompleteness } from "../elastic/complete.js";
import { esFailure, esFetch, type Fetch } from "../elastic/http.js";
import { chunkId, dirtyId, type ChunkDoc, type DirtyDoc, type ProgressDoc, progressId } from "./documents.js";

/**
 * Reads and writes of the chunk index that the compactor and the read side share: progress per stream, the
 * dirty-window queue, a window's chunk documents written and the leftovers of earlier runs removed.
 */

export type ChunkConfig = Config & { chunks: ChunksConfig };

/** Chunk documents per `_bulk` request (a few hundred bytes each). */
const BULK_DOCS = 2000;

export class ChunkIndex {
  constructor(
    private readonly config: ChunkConfig,
    private readonly fetchFn: Fetch,
  ) {}

  get name(): string {
    return this.config.chunks.index;
  }

  async request<T>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, body: unknown, what: string): Promise<T> {
    const res = await esFetch(this.config, this.fetchFn, { method, path, ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}) });
    if (!res.ok) throw await esFailure(res, what, this.config.retryAfterSeconds);
    return (await res.json()) as T;
  }

  /** Searches the chunk index; a missing index is an empty one (nothing compacted yet). */
  search<T>(body: unknown, what: string, filterPath?: string): Promise<T> {
    // A chunk search missing a shard would look like windows never compacted, or chunks missing from a read.
    const fp = filterPath ? `&filter_path=${withCompleteness(filterPath)}` : "";
    return this.request<T & SearchCompleteness>("POST", `/${this.name}/_search?ignore_unavailable=true&allow_no_indices=true&${NO_PARTIAL_RESULTS}${fp}`, body, what).then((answer) => {
      assertComplete(answer, what);
      return answer;
    });
  }

  private async refresh(): Promise<void> {
    await this.request("POST", `/${this.name}/_refresh?ignore_unavailable=true&allow_no_indices=true`, undefined, "refreshing the chunk index");
  }

  /** Every stream's progress: stream → end of its compacted windows. */
  async progress(streamFilter?: unknown): Promise<Map<string, number>> {
    type Hit = { _source: ProgressDoc };
    const r = await this.search<{ hits?: { hits: Hit[] } }>(
      { size: 10_000, query: { bool: { filter: [{ term: { kind: "progress" } }, ...(streamFilter ? [streamFilter] : [])] } }, _source: ["stream", "until"] },
      "the chunk progress lookup",
      "hits.hits._source",
    );
    return new Map((r.hits?.hits ?? []).map((h) => [h._source.stream, h._source.until]));
  }

  async setProgress(stream: string, until: number): Promise<void> {
    const doc: ProgressDoc = { kind: "progress", stream, until };
    await this.request("PUT", `/${this.name}/_doc/${encodeURIComponent(progressId(stream))}?refresh=true`, doc, "the chunk progress update");
  }

  /**
   * Queues windows a read found to differ from their raw documents (idempotent per window); `corrupt`: a
   * chunk document of theirs did not decode, so they are redone whatever the counts say.
   */
  async markDirty(starts: number[], corrupt = false): Promise<void> {
    if (starts.length === 0) return;
    const lines = starts.flatMap((start) => [JSON.stringify({ index: { _index: this.name, _id: dirtyId(start) } }), JSON.stringify({ kind: "dirty", start, ...(corrupt ? { corrupt } : {}) })]);
    await this.request("POST", "/_bulk?refresh=true&filter_path=errors", `${lines.join("\n")}\n`, "queueing windows for recompaction");
  }

  async dirty(limit: number): Promise<DirtyDoc[]> {
    type Hit = { _source: DirtyDoc };
    const r = await this.search<{ hits?: { hits: Hit[] } }>({ size: limit, query: { term: { kind: "dirty" } }, sort: [{ start: "asc" }], _source: ["kind", "start", "corrupt"] }, "the dirty window lookup", "hits.hits._source");
    return (r.hits?.hits ?? []).map((h) => h._source);
  }

  async clearDirty(start: number): Promise<void> {
    const res = await esFetch(this.config, this.fetchFn, { method: "DELETE", path: `/${this.name}/_doc/${encodeURIComponent(dirtyId(start))}?refresh=true` });
    if (!res.ok && res.status !== 404) throw await esFailure(res, "clearing a recompacted window", this.config.retryAfterSeconds);
    await res.body?.cancel();
  }

  /** Per stream, the raw documents the chunk documents of window `start` were built from. */
  async compactedCounts(start: number): Promise<Map<string, number>> {
    type Agg = { aggregations?: { s: { buckets: { key: string; d: { value: number } }[] } } };
    const r = await this.search<Agg>(
      { size: 0, query: { bool: { filter: [{ term: { kind: "chunk" } }, { term: { start } }] } }, aggs: { s: { terms: { field: "stream", size: 10_000 }, aggs: { d: { sum: { field: "docs" } } } } } },
      "the compacted count lookup",
    );
    return new Map((r.aggregations?.s.buckets ?? []).map((b) => [b.key, b.d.value]));
  }

  /**
   * Writes one stream-window's chunk documents (overwriting those of an earlier run by `_id`), then removes
   * the window's documents that this run did not write (series gone since, e.g. deleted raw documents).
   */
  async replaceWindow(stream: string, start: number, run: string, docs: ChunkDoc[]): Promise<void> {
    for (let i = 0; i < docs.length; i += BULK_DOCS) {
      const lines: string[] = [];
      for (const d of docs.slice(i, i + BULK_DOCS)) lines.push(JSON.stringify({ index: { _index: this.name, _id: chunkId(d.stream, d.start, d.key) } }), JSON.stringify(d));
      const r = await this.request<{ errors?: boolean; items?: { index?: { error?: { reason?: string } } }[] }>("POST", "/_bulk?filter_path=errors,items.*.error.reason", `${lines.join("\n")}\n`, "writing chunk documents");
      if (r.errors) {
        const reason = r.items?.find((it) => it.index?.error)?.index?.error?.reason ?? "unknown";
        throw new Error(`elasticsearch refused chunk documents of ${stream} at ${new Date(start).toISOString()}: ${reason}`);
      }
    }
    await this.refresh();
    // Searched and deleted by id (not _delete_by_query: some distributions lack the module that has it).
    const query = { bool: { filter: [{ term: { kind: "chunk" } }, { term: { stream } }, { term: { start } }], must_not: [{ term: { run } }] } };
    for (;;) {
      type Hits = { hits?: { hits: { _id: string }[] } };
      const hits = (await this.search<Hits>({ size: BULK_DOCS, _source: false, query }, "the outdated chunk lookup", "hits.hits._id")).hits?.hits ?? [];
      if (hits.length === 0) break;
      const lines = hits.map((h) => JSON.stringify({ delete: { _index: this.name, _id: h._id } }));
      await this.request("POST", "/_bulk?filter_path=errors", `${lines.join("\n")}\n`, "removing outdated chunk documents");
      await this.refresh();
    }
  }
}
