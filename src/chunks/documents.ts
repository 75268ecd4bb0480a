import type { Labels } from "../query/matchers.js";
import { ChunkEncoding, seriesChunks } from "../query/remote/series-chunks.js";
import type { SeriesSamples } from "../query/storage/types.js";
import { base64FromBytes, bytesFromPaddedBase64 } from "../util/base64.js";
import { xxhash64 } from "../util/xxhash64.js";
import { ChunkError, readXorChunk, type SampleSink } from "./xor-read.js";

/**
 * The documents of the chunk index (one index promgate owns, `promgate-chunks` by default):
 * - `chunk`: one series' samples of one window of one data stream, as Prometheus XOR chunks of up to 120
 *   samples (base64), with the series' labels as keywords under `labels.*` (the same matcher queries as the
 *   raw documents select them) and `docs`, how many raw documents it was built from. A series with a native
 *   histogram in the window keeps its samples raw: its document has `raw: true` and no chunks (it still
 *   names the series and counts its documents, so the read side knows to read it raw).
 * - `progress`: per data stream, the end of the windows compacted so far (`until`).
 * - `dirty`: a window a read found to differ from its raw documents, for the compactor to redo.
 */

export interface ChunkDoc {
  kind: "chunk";
  stream: string;
  /** Window start, epoch ms. */
  start: number;
  /** Hash of the series' label set (its `_id` part and a sort key for paging). */
  key: string;
  labels: Labels;
  /** Raw documents of the series in the window (samples, stale markers and histograms alike). */
  docs: number;
  /** Compaction run that wrote it: a rerun removes the window's documents of other runs afterwards. */
  run: string;
  /** XOR chunks, base64; absent when `raw`. */
  chunks?: string[];
  raw?: true;
}

export interface ProgressDoc {
  kind: "progress";
  stream: string;
  /** Every window before this (epoch ms, window-aligned) is compacted. */
  until: number;
}

export interface DirtyDoc {
  kind: "dirty";
  /** Window start, epoch ms. */
  start: number;
  /** A chunk document of the window did not decode: redo its streams even where the counts agree. */
  corrupt?: boolean;
}

const enc = new TextEncoder();

/** Hex xxHash64 of a series' canonical key. */
export function seriesHash(seriesKey: string): string {
  return xxhash64(enc.encode(seriesKey)).toString(16).padStart(16, "0");
}

/** Deterministic `_id`: a rerun of a window overwrites its documents instead of adding more. */
export const chunkId = (stream: string, start: number, key: string): string => `c:${stream}:${start}:${key}`;
export const progressId = (stream: string): string => `p:${stream}`;
export const dirtyId = (start: number): string => `d:${start}`;

/** One series' samples of one window → its chunk document. */
export function chunkDocument(stream: string, start: number, s: SeriesSamples, run: string): ChunkDoc {
  const base = { kind: "chunk" as const, stream, start, key: seriesHash(s.key), labels: s.labels, docs: s.timestamps.length, run };
  if (s.histograms?.some((h) => h !== undefined)) return { ...base, raw: true };
  const chunks = seriesChunks(s);
  // Only float samples remain, so seriesChunks cut XOR chunks only.
  if (chunks.some((c) => c.encoding !== ChunkEncoding.XOR)) throw new Error("a float series was cut into a non-XOR chunk");
  return { ...base, chunks: chunks.map((c) => base64FromBytes(c.data)) };
}

/** Appends the samples of a chunk document's chunks with `from ≤ t ≤ to` to `into`. */
export function readChunks(chunks: readonly string[], from: number, to: number, into: SampleSink): void {
  for (const c of chunks) {
    const bytes = bytesFromPaddedBase64(c);
    if (!bytes) throw new ChunkError("chunk is not base64");
    readXorChunk(bytes, from, to, into);
  }
}
