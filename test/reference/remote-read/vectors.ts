/**
 * Writes the reference vectors for reference_test.go: each case's samples (floats as their 64 bits) and what
 * promgate's remote_read handler answers for it — the SAMPLES ReadResponse (snappy undone) and the
 * STREAMED_XOR_CHUNKS body. Usage: tsx test/reference/remote-read/vectors.ts OUT.json
 */
import { writeFileSync } from "node:fs";
import SnappyJS from "snappyjs";
import type { NativeHistogram } from "../../../src/model/histogram.js";
import { samplesResponse, streamedResponse } from "../../../src/query/remote/read.js";
import { SampleKind, sampleKinds } from "../../../src/query/remote/series-chunks.js";
import { anyScope, fixedStorage, ReadRequest_ResponseType, readAll } from "../../helpers/fake-storage.js";
import { referenceCases } from "./cases.js";

const bits = (v: number) => {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, v);
  return b.getBigUint64(0).toString(16).padStart(16, "0");
};

const histogramJson = (h: NativeHistogram) => ({
  float: h.float,
  schema: h.schema,
  zeroThreshold: bits(h.zeroThreshold),
  zeroCount: bits(h.zeroCount),
  count: bits(h.count),
  sum: bits(h.sum),
  positiveSpans: h.positiveSpans.map((s) => [s.offset, s.length]),
  positiveBuckets: h.positiveBuckets.map(bits),
  negativeSpans: h.negativeSpans.map((s) => [s.offset, s.length]),
  negativeBuckets: h.negativeBuckets.map(bits),
  resetHint: h.resetHint,
  customValues: h.customValues.map(bits),
});

const KIND = { [SampleKind.Float]: "float", [SampleKind.Histogram]: "histogram", [SampleKind.FloatHistogram]: "floatHistogram" } as const;

const out = [];
for (const c of referenceCases()) {
  const s = c.series;
  const kinds = sampleKinds(s);
  const storage = fixedStorage([s]);
  const samplesBody = new Uint8Array(await (await samplesResponse(storage, anyScope, readAll(ReadRequest_ResponseType.SAMPLES), 1e9)).arrayBuffer());
  const streamBody = new Uint8Array(await (await streamedResponse(storage, anyScope, readAll(ReadRequest_ResponseType.STREAMED_XOR_CHUNKS), 1e9)).arrayBuffer());
  out.push({
    name: c.name,
    labels: Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1)),
    samples: s.timestamps.map((t, i) => {
      const h = s.histograms?.[i];
      return {
        t,
        kind: KIND[kinds[i]!],
        stale: s.stale.has(i),
        ...(kinds[i] === SampleKind.Float ? { value: bits(s.values[i]!) } : h && !s.stale.has(i) ? { histogram: histogramJson(h) } : {}),
      };
    }),
    samplesResponse: Buffer.from(SnappyJS.uncompress(samplesBody)).toString("base64"),
    streamedResponse: Buffer.from(streamBody).toString("base64"),
  });
}
writeFileSync(process.argv[2] ?? "/dev/stdout", JSON.stringify({ cases: out }));
console.error(`remote-read vectors: ${out.length} series`);
