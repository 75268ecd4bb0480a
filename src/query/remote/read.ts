import { fromBinary } from "@bufbuild/protobuf";
import SnappyJS from "snappyjs";
import type { Tenant } from "../../config.js";
import { ReadRequest_ResponseType, type ReadRequest, ReadRequestSchema } from "../../gen/prometheus/remote_pb.js";
import { LabelMatcher_Type } from "../../gen/prometheus/types_pb.js";
import { PromgateError } from "../../errors.js";
import { snappyDecompress } from "../../ingest/snappy.js";
import { type CompiledMatcher, compileMatcher, type MatchType } from "../matchers.js";
import type { ReadScope } from "../scope.js";
import type { Storage } from "../storage/storage.js";
import type { SeriesSamples, TimeRange } from "../storage/types.js";
import { STALE_HI, STALE_LO } from "./bitstream.js";
import { crc32c } from "./crc32c.js";
import { writeHistogram } from "./histogram-proto.js";
import { ProtoWriter } from "../../protobuf/writer.js";
import { type EncodedChunk, SampleKind, sampleKinds, seriesChunks } from "./series-chunks.js";

/**
 * remote_read (`/api/v1/read`): a snappy `prometheus.ReadRequest` in; per query either one snappy
 * `ReadResponse` with raw samples and native histograms (SAMPLES) or a stream of `ChunkedReadResponse`
 * frames — uvarint length, big-endian CRC32C, message — with XOR, histogram and float-histogram chunks cut
 * as Prometheus cuts them (STREAMED_XOR_CHUNKS; see series-chunks.ts).
 */

const MATCH_TYPES: Record<number, MatchType> = {
  [LabelMatcher_Type.EQ]: "=",
  [LabelMatcher_Type.NEQ]: "!=",
  [LabelMatcher_Type.RE]: "=~",
  [LabelMatcher_Type.NRE]: "!~",
};

/** Prometheus' default `--storage.remote.read-max-bytes-in-frame`: 1 MiB. */
const MAX_FRAME_BYTES = 1024 * 1024;

export function decodeReadRequest(body: Uint8Array, tenant: Tenant): ReadRequest {
  const decoded = snappyDecompress(body, tenant.limits.maxDecompressedBytes);
  try {
    return fromBinary(ReadRequestSchema, decoded);
  } catch (e) {
    throw new PromgateError("invalid", `cannot decode ReadRequest: ${(e as Error).message}`);
  }
}

export function chooseResponseType(req: ReadRequest): ReadRequest_ResponseType {
  if (req.acceptedResponseTypes.length === 0) return ReadRequest_ResponseType.SAMPLES;
  for (const t of req.acceptedResponseTypes) {
    if (t === ReadRequest_ResponseType.SAMPLES || t === ReadRequest_ResponseType.STREAMED_XOR_CHUNKS) return t;
  }
  throw new PromgateError("invalid", `unsupported response types ${JSON.stringify(req.acceptedResponseTypes)}: this server answers SAMPLES (0) or STREAMED_XOR_CHUNKS (1)`);
}

/** What the read handler needs of storage (tests stand in for it). */
export type ReadStorage = Pick<Storage, "snapshot" | "series" | "samples">;

interface PlannedQuery {
  matchers: CompiledMatcher[];
  range: TimeRange;
  seriesOnly: boolean;
}

function planQueries(req: ReadRequest): PlannedQuery[] {
  return req.queries.map((q, i) => {
    const matchers = q.matchers.map((m) => {
      const type = MATCH_TYPES[m.type];
      if (!type) throw new PromgateError("invalid", `query ${i}: unknown matcher type ${m.type}`);
      return compileMatcher({ name: m.name, type, value: m.value });
    });
    let startMs = Number(q.startTimestampMs);
    let endMs = Number(q.endTimestampMs);
    if (endMs < startMs) throw new PromgateError("invalid", `query ${i}: end ${endMs} before start ${startMs}`);
    // Hints carry the range the engine will really read; never widen beyond the query's own.
    const h = q.hints;
    if (h && h.startMs > 0n) startMs = Math.max(startMs, Number(h.startMs));
    if (h && h.endMs > 0n) endMs = Math.min(endMs, Number(h.endMs));
    return { matchers, range: { startMs, endMs }, seriesOnly: h?.func === "series" };
  });
}

async function runQuery(storage: ReadStorage, scope: ReadScope, q: PlannedQuery, budget: { left: number }): Promise<SeriesSamples[]> {
  return storage.snapshot(scope, async (at) => {
    const series = await storage.series(at, q.matchers, q.range);
    if (q.seriesOnly) return series.map((s) => ({ ...s, timestamps: [], values: [], stale: new Set<number>() }));
    const out = await storage.samples(at, q.matchers, q.range, series, budget.left);
    for (const s of out) budget.left -= s.timestamps.length;
    return out;
  });
}

const sortedLabels = (s: SeriesSamples) => Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

function writeSeriesLabels(w: ProtoWriter, s: SeriesSamples): void {
  for (const [name, value] of sortedLabels(s)) {
    w.message(1, (l) => {
      l.string(1, name);
      l.string(2, value);
    });
  }
}

/**
 * One series of the SAMPLES answer, as Prometheus' ToQueryResult builds it: float samples (and float-typed
 * staleness markers) in `samples`, native histograms (and histogram-typed markers) in `histograms`.
 */
function writeTimeSeries(ts: ProtoWriter, s: SeriesSamples): void {
  writeSeriesLabels(ts, s);
  const kinds = s.histograms ? sampleKinds(s) : undefined;
  for (let i = 0; i < s.timestamps.length; i++) {
    if (kinds && kinds[i] !== SampleKind.Float) continue;
    ts.message(2, (sample) => {
      if (s.stale.has(i)) sample.doubleBits(1, STALE_LO, STALE_HI);
      else if (s.values[i] !== 0) sample.double(1, s.values[i]!);
      sample.int64Field(2, s.timestamps[i]!);
    });
  }
  if (!kinds) return;
  for (let i = 0; i < s.timestamps.length; i++) {
    if (kinds[i] === SampleKind.Float) continue;
    writeHistogram(ts, s.timestamps[i]!, kinds[i] === SampleKind.FloatHistogram, s.histograms![i], s.stale.has(i));
  }
}

/** SAMPLES: one snappy-compressed ReadResponse. */
export async function samplesResponse(storage: ReadStorage, scope: ReadScope, req: ReadRequest, maxSamples: number): Promise<Response> {
  const budget = { left: maxSamples };
  const out = new ProtoWriter();
  for (const q of planQueries(req)) {
    const series = await runQuery(storage, scope, q, budget);
    out.message(1, (result) => {
      for (const s of series) result.message(1, (ts) => writeTimeSeries(ts, s));
    });
  }
  return new Response(SnappyJS.compress(out.finish()) as Uint8Array<ArrayBuffer>, {
    headers: { "content-type": "application/x-protobuf", "content-encoding": "snappy" },
  });
}

function frame(message: Uint8Array): Uint8Array<ArrayBuffer> {
  const head = new ProtoWriter();
  head.uvarint(message.length);
  const len = head.finish();
  const out = new Uint8Array(len.length + 4 + message.length);
  out.set(len, 0);
  new DataView(out.buffer).setUint32(len.length, crc32c(message), false);
  out.set(message, len.length + 4);
  return out;
}

const enc = new TextEncoder();
function varintSize(n: number): number {
  if (n < 0) return 10;
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}
const lengthDelimited = (n: number) => 1 + varintSize(n) + n;

/** gogoproto's Size() of a Label / Chunk message body: what Prometheus counts against the frame limit. */
function labelSize(name: string, value: string): number {
  const n = enc.encode(name).length;
  const v = enc.encode(value).length;
  return (n > 0 ? lengthDelimited(n) : 0) + (v > 0 ? lengthDelimited(v) : 0);
}

function chunkSize(c: EncodedChunk): number {
  return (c.minT !== 0 ? 1 + varintSize(c.minT) : 0) + (c.maxT !== 0 ? 1 + varintSize(c.maxT) : 0) + 1 + varintSize(c.encoding) + lengthDelimited(c.data.length);
}

function chunkedSeriesFrame(s: SeriesSamples, chunks: EncodedChunk[], queryIndex: number): Uint8Array<ArrayBuffer> {
  const msg = new ProtoWriter();
  msg.message(1, (cs) => {
    writeSeriesLabels(cs, s);
    for (const c of chunks) {
      cs.message(2, (chunk) => {
        chunk.int64Field(1, c.minT);
        chunk.int64Field(2, c.maxT);
        chunk.enumField(3, c.encoding);
        chunk.bytes(4, c.data);
      });
    }
  });
  msg.int64Field(2, queryIndex);
  return frame(msg.finish());
}

/**
 * One ChunkedReadResponse per frame: a series of one query, split over frames as Prometheus'
 * StreamChunkedReadResponses splits it — chunks join a frame until their sizes plus the labels' reach the
 * frame limit (the chunk that crosses it still goes in). A series without samples is one frame of labels.
 */
function seriesFrames(s: SeriesSamples, queryIndex: number): Uint8Array<ArrayBuffer>[] {
  const chunks = seriesChunks(s);
  if (chunks.length === 0) return [chunkedSeriesFrame(s, [], queryIndex)];
  let maxData = MAX_FRAME_BYTES;
  for (const [name, value] of Object.entries(s.labels)) maxData -= labelSize(name, value);
  const frames: Uint8Array<ArrayBuffer>[] = [];
  let pending: EncodedChunk[] = [];
  let left = maxData;
  for (let i = 0; i < chunks.length; i++) {
    pending.push(chunks[i]!);
    left -= chunkSize(chunks[i]!);
    if (left > 0 && i + 1 < chunks.length) continue;
    frames.push(chunkedSeriesFrame(s, pending, queryIndex));
    pending = [];
    left = maxData;
  }
  return frames;
}

/**
 * STREAMED_XOR_CHUNKS: frames go out as each series is complete, so promgate holds one page of samples (plus
 * the compressed frames the client has not read yet) rather than the whole answer. The response starts only
 * once the first frame exists or the answer is known to be empty, so a failing first Elasticsearch request is
 * still an HTTP error and not a cut-off stream; a later failure aborts the stream (the client sees an error).
 */
export async function streamedResponse(storage: ReadStorage, scope: ReadScope, req: ReadRequest, maxSamples: number): Promise<Response> {
  const queries = planQueries(req);
  const budget = { left: maxSamples };
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  let started!: () => void;
  const firstFrame = new Promise<void>((resolve) => (started = resolve));
  const produce = (async () => {
    for (let qi = 0; qi < queries.length; qi++) {
      const q = queries[qi]!;
      const emit = (s: SeriesSamples) => {
        for (const f of seriesFrames(s, qi)) controller.enqueue(f);
        started();
      };
      await storage.snapshot(scope, async (at) => {
        const series = await storage.series(at, q.matchers, q.range);
        if (q.seriesOnly) {
          for (const s of series) emit({ ...s, timestamps: [], values: [], stale: new Set() });
        } else {
          await storage.samples(at, q.matchers, q.range, series, budget.left, (s) => {
            budget.left -= s.timestamps.length;
            emit(s);
          });
        }
      });
    }
    controller.close();
  })();
  // Whichever comes first: a frame to send, the end of an empty answer, or an error before anything was sent.
  await Promise.race([firstFrame, produce]);
  produce.catch((e: unknown) => controller.error(e));
  return new Response(stream, {
    headers: { "content-type": "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse" },
  });
}
