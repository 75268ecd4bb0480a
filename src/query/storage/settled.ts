import { PromgateError } from "../../errors.js";
import { readChunks } from "../../chunks/documents.js";
import { ChunkError } from "../../chunks/xor-read.js";
import { WINDOW_MS, windowStart } from "../../chunks/window.js";
import { type CompiledMatcher, matchesAll } from "../matchers.js";
import type { ReadScope } from "../scope.js";
import { type ChunkHit, chunkHits, rawWindowCounts, settledUntil } from "./chunk-reads.js";
import type { Storage } from "./storage.js";
import { type Series, type SeriesSamples, seriesKey, type TimeRange } from "./types.js";

/**
 * Samples of a selector over a range, the settled part from the chunk index and the rest from raw documents,
 * with the same answer as raw documents alone.
 *
 * The range splits at the end of the compacted windows: windows before it come from chunk documents, the
 * rest from raw documents as without chunks; windows start at multiples of two hours, so the join is exact
 * (a sample belongs to exactly one window). Compacted windows are trusted only when they still hold what
 * they were built from: one aggregation counts the raw documents per window of the selected series (run
 * alongside the chunk read) and each window whose count differs from its chunk documents' — a write that
 * bypassed promgate's out-of-bounds check, deleted documents, a deleted backing index, a window compacted
 * while being written — is read from raw documents and queued for recompaction. Series holding native
 * histograms in a window are kept raw by the compactor; they are read raw for that window.
 */

export interface ChunkReadEvents {
  /** Windows answered from chunk documents, and windows whose counts differed (read raw instead). */
  windows(served: number, differed: number): void;
}

export interface SettledReads {
  index: string;
  /** Queues windows for recompaction; failures are the compactor's business, never the query's. */
  markDirty(starts: number[], corrupt?: boolean): Promise<void>;
  events?: ChunkReadEvents;
}

/** Raw samples of the matchers' series over `range`, as the storage reads them without chunks. */
function rawSamples(storage: Storage, scope: ReadScope, matchers: CompiledMatcher[], range: TimeRange, maxSamples: number): Promise<SeriesSamples[]> {
  if (range.endMs < range.startMs) return Promise.resolve([]);
  return storage.snapshot(scope, async (at) => storage.samples(at, matchers, range, await storage.series(at, matchers, range), maxSamples));
}

/** How long a process reuses a scope's compacted end (one request less per query). */
const UNTIL_TTL_MS = 10_000;
const untilCache = new Map<string, { at: number; until: Promise<number> }>();

/**
 * End of the compacted windows of the scope's streams (settledUntil); −∞ when none are. Reused for a few
 * seconds: a value that is out of date only costs speed, never correctness — windows compacted since are
 * read raw a little longer, and windows whose chunk documents went away differ in their counts.
 */
export function compactedUntil(storage: Storage, chunks: SettledReads, scope: ReadScope, now = Date.now()): Promise<number> {
  const key = JSON.stringify([chunks.index, scope.indices, scope.filter]);
  const hit = untilCache.get(key);
  if (hit && now - hit.at < UNTIL_TTL_MS) return hit.until;
  const until = settledUntil(storage.reader, chunks.index, scope);
  until.catch(() => untilCache.delete(key));
  if (untilCache.size > 1000) untilCache.clear();
  untilCache.set(key, { at: now, until });
  return until;
}

/**
 * Samples of the matchers' series in [start, end] (both included), at most `maxSamples` of them; windows
 * before `settled` (compactedUntil) may come from chunk documents.
 */
export async function settledSamples(storage: Storage, chunks: SettledReads, scope: ReadScope, matchers: CompiledMatcher[], range: TimeRange, maxSamples: number, settled: number): Promise<SeriesSamples[]> {
  const r = storage.reader;
  const from = windowStart(range.startMs);
  const to = Math.min(settled, windowStart(range.endMs) + WINDOW_MS);
  if (to <= from) return rawSamples(storage, scope, matchers, range, maxSamples);
  const tail = rawSamples(storage, scope, matchers, { startMs: Math.max(range.startMs, to), endMs: range.endMs }, maxSamples);
  tail.catch(() => undefined);
  const [hits, counts] = await r.refused.retry(matchers, (push) =>
    Promise.all([hitsInSlices(r, chunks.index, scope, matchers, from, to, push), rawWindowCounts(r, scope, matchers, from, to, WINDOW_MS, push)]),
  );

  const compacted = new Map<number, number>();
  for (const h of hits) compacted.set(h.start, (compacted.get(h.start) ?? 0) + h.docs);
  const differ: number[] = [];
  for (let w = from; w < to; w += WINDOW_MS) if ((counts.get(w) ?? 0) !== (compacted.get(w) ?? 0)) differ.push(w);
  const bad = new Set(differ);
  // A chunk document that does not decode (damaged outside promgate) makes its window one to read raw and redo.
  let decoded: Decoded | undefined;
  const corrupt: number[] = [];
  while (!decoded) {
    try {
      decoded = decodeGood(hits, bad, matchers, range, from, to, maxSamples);
    } catch (e) {
      if (!(e instanceof CorruptWindow)) throw e;
      bad.add(e.window);
      corrupt.push(e.window);
    }
  }
  if (differ.length > 0) chunks.markDirty(differ).catch(() => undefined);
  if (corrupt.length > 0) chunks.markDirty(corrupt, true).catch(() => undefined);
  differ.push(...corrupt);
  differ.sort((a, b) => a - b);
  chunks.events?.windows((to - from) / WINDOW_MS - differ.length, differ.length);
  const { pieces, rawSeries, rawWindows } = decoded;

  // Raw reads: the windows that differed, and the windows of series kept raw, both within the range.
  const reads: Promise<SeriesSamples[]>[] = [tail];
  for (const span of spans(differ)) reads.push(rawSamples(storage, scope, matchers, clip(span, range), maxSamples));
  if (rawSeries.size > 0) {
    const list = [...rawSeries.values()];
    for (const span of spans([...rawWindows].filter((w) => !bad.has(w)).sort((a, b) => a - b))) {
      const c = clip(span, range);
      if (c.endMs >= c.startMs) reads.push(storage.snapshot(scope, (at) => storage.samples(at, matchers, c, list, maxSamples)));
    }
  }
  for (const part of await Promise.all(reads)) pieces.push(...part);
  return mergePieces(pieces);
}

class CorruptWindow extends Error {
  constructor(readonly window: number) {
    super(`a chunk document of window ${window} does not decode`);
  }
}

interface Decoded {
  pieces: SeriesSamples[];
  /** Series kept raw in some good window (they hold native histograms there), and those windows. */
  rawSeries: Map<string, Series>;
  rawWindows: Set<number>;
}

/** The samples of the chunk documents of the good windows, in pieces (see mergePieces). */
function decodeGood(hits: ChunkHit[], bad: Set<number>, matchers: CompiledMatcher[], range: TimeRange, from: number, to: number, maxSamples: number): Decoded {
  const good = hits.filter((h) => !bad.has(h.start) && matchesAll(h.labels, matchers));
  const keys = good.map((h) => seriesKey(h.labels));
  const rawSeries = new Map<string, Series>();
  const rawWindows = new Set<number>();
  good.forEach((h, i) => {
    if (!h.raw) return;
    const s = rawSeries.get(keys[i]!);
    rawSeries.set(keys[i]!, { key: keys[i]!, labels: h.labels, docs: (s?.docs ?? 0) + h.docs });
    rawWindows.add(h.start);
  });
  // Hits come in window order, so a series' samples go into one piece per run of windows between windows
  // read raw (pieces of a series must cover disjoint spans: mergePieces); a series kept raw somewhere gets
  // a piece per window, and loses those of the windows read raw.
  const run = new Map<number, number>();
  for (let w = from, k = 0; w < to; w += WINDOW_MS) {
    run.set(w, k);
    if (bad.has(w) || rawWindows.has(w)) k++;
  }
  const decoded = new Map<string, SeriesSamples>();
  let taken = 0;
  good.forEach((h, i) => {
    const key = keys[i]!;
    if (h.raw || (rawSeries.has(key) && rawWindows.has(h.start))) return;
    const piece = `${key}@${run.get(h.start)}`;
    let s = decoded.get(piece);
    if (!s) decoded.set(piece, (s = { key, labels: h.labels, timestamps: [], values: [], stale: new Set() }));
    const before = s.timestamps.length;
    try {
      readChunks(h.chunks ?? [], range.startMs, range.endMs, s);
    } catch (e) {
      if (e instanceof ChunkError) throw new CorruptWindow(h.start);
      throw e;
    }
    taken += s.timestamps.length - before;
    if (taken > maxSamples) throw new PromgateError("unprocessable", "query would load more samples than maxQuerySamples allows; narrow the selector or time range");
  });
  return { pieces: [...decoded.values()], rawSeries, rawWindows };
}

/**
 * Long ranges' chunk documents are fetched in this many slices of windows at once: one search runs on one
 * Elasticsearch thread, which a week of documents (16,800 for 200 series) keeps busy alone.
 */
const HIT_SLICES = 2;

async function hitsInSlices(r: Storage["reader"], index: string, scope: ReadScope, matchers: CompiledMatcher[], from: number, to: number, push: boolean): Promise<ChunkHit[]> {
  const windows = (to - from) / WINDOW_MS;
  if (windows < 2 * HIT_SLICES) return chunkHits(r, index, scope, matchers, from, to, push);
  const cuts = Array.from({ length: HIT_SLICES + 1 }, (_, i) => from + Math.round((windows * i) / HIT_SLICES) * WINDOW_MS);
  const parts = await Promise.all(cuts.slice(1).map((end, i) => chunkHits(r, index, scope, matchers, cuts[i]!, end, push)));
  return parts.flat();
}

/** Contiguous runs of window starts → [start, end] time spans. */
function spans(starts: number[]): TimeRange[] {
  const out: TimeRange[] = [];
  for (const w of starts) {
    const last = out[out.length - 1];
    if (last && last.endMs + 1 === w) last.endMs = w + WINDOW_MS - 1;
    else out.push({ startMs: w, endMs: w + WINDOW_MS - 1 });
  }
  return out;
}

const clip = (a: TimeRange, b: TimeRange): TimeRange => ({ startMs: Math.max(a.startMs, b.startMs), endMs: Math.min(a.endMs, b.endMs) });

/**
 * Pieces of the same series over disjoint time spans (one window of chunks, a raw span) → one series each,
 * samples in time order.
 */
export function mergePieces(pieces: SeriesSamples[]): SeriesSamples[] {
  const bySeries = new Map<string, SeriesSamples[]>();
  for (const p of pieces) {
    if (p.timestamps.length === 0) continue;
    const list = bySeries.get(p.key);
    if (list) list.push(p);
    else bySeries.set(p.key, [p]);
  }
  const out: SeriesSamples[] = [];
  for (const list of bySeries.values()) {
    if (list.length === 1) {
      out.push(list[0]!);
      continue;
    }
    list.sort((a, b) => a.timestamps[0]! - b.timestamps[0]!);
    // The earliest piece takes the others' samples in place (pieces are this read's own arrays).
    const m = list[0]!;
    for (const p of list.slice(1)) {
      const base = m.timestamps.length;
      for (const i of p.stale) m.stale.add(base + i);
      if (p.histograms) {
        m.histograms ??= [];
        for (let i = 0; i < p.histograms.length; i++) if (p.histograms[i]) m.histograms[base + i] = p.histograms[i];
      }
      for (let i = 0; i < p.timestamps.length; i++) {
        m.timestamps.push(p.timestamps[i]!);
        m.values.push(p.values[i]!);
      }
    }
    if (m.histograms) m.histograms.length = m.timestamps.length;
    out.push(m);
  }
  return out;
}
