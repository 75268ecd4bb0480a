import { fromBinary } from "@bufbuild/protobuf";
import SnappyJS from "snappyjs";
import { DEFAULT_LIMITS } from "../src/config.js";
import { WriteRequestSchema } from "../src/gen/prometheus/remote_pb.js";
import { decodeWriteRequest } from "../src/ingest/decode.js";
import { BulkBodyWriter, bulkSizeHint } from "../src/ingest/documents.js";
import { snappyDecompress } from "../src/ingest/snappy.js";
import { nodeExporterBody } from "./payloads.js";

/**
 * Decode → `_bulk` body bytes, in one process and one run:
 *   naive: snappyjs + protobuf-es fromBinary + JSON.stringify per document (the obvious implementation)
 *   ours:  our snappy + hand decoder + direct NDJSON byte writer
 */

const enc = new TextEncoder();

export function naive(body: Uint8Array): Uint8Array {
  const req = fromBinary(WriteRequestSchema, SnappyJS.uncompress(body));
  const lines: string[] = [];
  for (const ts of req.timeseries) {
    const labels: Record<string, string> = {};
    for (const l of ts.labels) labels[l.name] = l.value;
    const name = labels.__name__!;
    for (const s of ts.samples) {
      lines.push('{"create":{}}');
      lines.push(JSON.stringify({ "@timestamp": Number(s.timestamp), labels, metrics: { [name]: s.value } }));
    }
  }
  return enc.encode(`${lines.join("\n")}\n`);
}

export function ours(body: Uint8Array): Uint8Array {
  return oursWithMemory(body).ndjson;
}

/** Our path, also reporting the most buffer memory it held at once: the decoded body plus the writer's buffers. */
export function oursWithMemory(body: Uint8Array): { ndjson: Uint8Array; peakBytes: number } {
  const decoded = snappyDecompress(body, DEFAULT_LIMITS.maxDecompressedBytes);
  const writer = new BulkBodyWriter(DEFAULT_LIMITS, bulkSizeHint(decoded.length));
  decodeWriteRequest(decoded, DEFAULT_LIMITS, writer);
  return { ndjson: writer.body(), peakBytes: decoded.length + writer.peakBufferBytes };
}

function timePerOp(fn: () => unknown, minMs: number): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    for (let i = 0; i < 5; i++) fn();
    n += 5;
    t = performance.now();
  }
  return (t - t0) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Median of alternating rounds: on a shared 2-core VM one long run is at the mercy of whatever else runs;
 * alternating the two paths exposes them to the same noise.
 */
function compare(a: () => unknown, b: () => unknown, rounds = 7, roundMs = 300): [number, number] {
  for (let i = 0; i < 30; i++) (a(), b()); // warm up the JIT on both
  const ta: number[] = [];
  const tb: number[] = [];
  for (let r = 0; r < rounds; r++) {
    ta.push(timePerOp(a, roundMs));
    tb.push(timePerOp(b, roundMs));
  }
  return [median(ta), median(tb)];
}

export interface IngestRow {
  samples: number;
  compressedBytes: number;
  decodedBytes: number;
  naiveMs: number;
  oursMs: number;
  speedup: number;
  oursSamplesPerSec: number;
  peakBytes: number;
  peakRatio: number;
}

export function benchIngest(sizes = [2000, 10000]): IngestRow[] {
  const rows: IngestRow[] = [];
  for (const samples of sizes) {
    const body = nodeExporterBody(samples, 1767268800000);
    const decodedBytes = SnappyJS.uncompress(body).length;
    // Same bytes out of both paths, or the comparison means nothing.
    const a = new TextDecoder().decode(naive(body));
    const b = new TextDecoder().decode(ours(body));
    if (a !== b) throw new Error("naive and ours disagree on the _bulk body");
    const [naiveMs, oursMs] = compare(() => naive(body), () => ours(body));
    const { peakBytes } = oursWithMemory(body);
    rows.push({
      samples,
      compressedBytes: body.length,
      decodedBytes,
      naiveMs,
      oursMs,
      speedup: naiveMs / oursMs,
      oursSamplesPerSec: samples / (oursMs / 1000),
      peakBytes,
      peakRatio: peakBytes / decodedBytes,
    });
  }
  return rows;
}
