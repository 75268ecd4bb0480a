import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import SnappyJS from "snappyjs";
import {
  ExemplarSchema,
  HistogramSchema,
  MetricMetadata_MetricType,
  MetricMetadataSchema,
  SampleSchema,
  TimeSeriesSchema,
} from "../../src/gen/prometheus/types_pb.js";
import { WriteRequestSchema } from "../../src/gen/prometheus/remote_pb.js";
import * as v2 from "../../src/gen/io/prometheus/write/v2/types_pb.js";
import type { BucketSpan, NativeHistogram, ResetHint } from "../../src/model/histogram.js";

/** Builds remote_write payloads with the generated (reference) protobuf code. */

export interface SeriesSpec {
  labels: Record<string, string>;
  samples: [timestampMs: number, value: number | "stale"][];
  histograms?: [timestampMs: number, h: NativeHistogram | "stale"][];
  exemplars?: ExemplarSpec[];
  /** Remote write 2.0 only: the series' metadata and its samples' start timestamp. */
  meta?: { type: MetricMetadata_MetricType; help?: string; unit?: string };
  startMs?: number;
}

export interface ExemplarSpec {
  labels: Record<string, string>;
  value: number;
  timestampMs: number;
}

const sortedLabels = (l: Record<string, string>) => Object.entries(l).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Absolute counts → the wire's deltas (integer histograms). */
function deltas(counts: number[]): bigint[] {
  let prev = 0;
  return counts.map((c) => {
    const d = BigInt(c - prev);
    prev = c;
    return d;
  });
}

const spans = (s: BucketSpan[]) => s.map((x) => ({ offset: x.offset, length: x.length }));

/** Fields of a Histogram message, the same in 1.0 and 2.0 (both generated schemas accept them). */
function histogramFields(t: number, h: NativeHistogram | "stale") {
  if (h === "stale") return { timestamp: BigInt(t), sum: QUIET_STALE };
  return {
    timestamp: BigInt(t),
    count: h.float ? { case: "countFloat" as const, value: h.count } : { case: "countInt" as const, value: BigInt(h.count) },
    zeroCount: h.float ? { case: "zeroCountFloat" as const, value: h.zeroCount } : { case: "zeroCountInt" as const, value: BigInt(h.zeroCount) },
    sum: h.sum,
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    negativeSpans: spans(h.negativeSpans),
    positiveSpans: spans(h.positiveSpans),
    ...(h.float
      ? { negativeCounts: h.negativeBuckets, positiveCounts: h.positiveBuckets }
      : { negativeDeltas: deltas(h.negativeBuckets), positiveDeltas: deltas(h.positiveBuckets) }),
    resetHint: h.resetHint as number,
    customValues: h.customValues,
  };
}

export interface MetadataSpec {
  family: string;
  type: MetricMetadata_MetricType;
  help?: string;
  unit?: string;
}

export function writeRequestBytes(series: SeriesSpec[], metadata: MetadataSpec[] = []): Uint8Array {
  const msg = create(WriteRequestSchema, {
    timeseries: series.map((s) =>
      create(TimeSeriesSchema, {
        labels: Object.entries(s.labels)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([name, value]) => ({ name, value })),
        samples: s.samples.map(([timestamp, value]) =>
          create(SampleSchema, { timestamp: BigInt(timestamp), value: value === "stale" ? QUIET_STALE : value }),
        ),
        histograms: (s.histograms ?? []).map(([t, h]) => create(HistogramSchema, histogramFields(t, h))),
        exemplars: (s.exemplars ?? []).map((e) =>
          create(ExemplarSchema, { labels: sortedLabels(e.labels).map(([name, value]) => ({ name, value })), value: e.value, timestamp: BigInt(e.timestampMs) }),
        ),
      }),
    ),
    metadata: metadata.map((m) =>
      create(MetricMetadataSchema, { metricFamilyName: m.family, type: m.type, help: m.help ?? "", unit: m.unit ?? "" }),
    ),
  });
  return restoreStaleMarkers(toBinary(WriteRequestSchema, msg));
}

/** The fields of a generated `Histogram` (1.0 and 2.0 generate the same shape). */
interface GeneratedHistogram {
  count: { case: "countInt"; value: bigint } | { case: "countFloat"; value: number } | { case: undefined; value?: undefined };
  zeroCount: { case: "zeroCountInt"; value: bigint } | { case: "zeroCountFloat"; value: number } | { case: undefined; value?: undefined };
  sum: number;
  schema: number;
  zeroThreshold: number;
  positiveSpans: BucketSpan[];
  negativeSpans: BucketSpan[];
  positiveDeltas: bigint[];
  negativeDeltas: bigint[];
  positiveCounts: number[];
  negativeCounts: number[];
  resetHint: number;
  customValues: number[];
}

/** A histogram as the generated (reference) decoder reads it, in promgate's model: integer deltas summed. */
export function fromGeneratedHistogram(h: GeneratedHistogram): NativeHistogram {
  const float = h.count.case === "countFloat";
  const absolute = (d: bigint[]) => {
    let c = 0;
    return d.map((x) => (c += Number(x)));
  };
  return {
    float,
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: Number(h.zeroCount.value ?? 0),
    count: Number(h.count.value ?? 0),
    sum: h.sum,
    positiveSpans: spans(h.positiveSpans),
    positiveBuckets: float ? h.positiveCounts : absolute(h.positiveDeltas),
    negativeSpans: spans(h.negativeSpans),
    negativeBuckets: float ? h.negativeCounts : absolute(h.negativeDeltas),
    resetHint: h.resetHint as ResetHint,
    customValues: h.customValues,
  };
}

/** A remote write 2.0 body (io.prometheus.write.v2.Request), symbols in order of first use. */
export function writeRequestV2Bytes(series: SeriesSpec[]): Uint8Array {
  const symbols = [""];
  const refOf = new Map<string, number>([["", 0]]);
  const ref = (text: string) => {
    let r = refOf.get(text);
    if (r === undefined) {
      refOf.set(text, (r = symbols.length));
      symbols.push(text);
    }
    return r;
  };
  const refs = (l: Record<string, string>) => sortedLabels(l).flatMap(([n, v]) => [ref(n), ref(v)]);
  const timeseries = series.map((s) =>
    create(v2.TimeSeriesSchema, {
      labelsRefs: refs(s.labels),
      samples: s.samples.map(([t, v]) =>
        create(v2.SampleSchema, { timestamp: BigInt(t), value: v === "stale" ? QUIET_STALE : v, startTimestamp: BigInt(s.startMs ?? 0) }),
      ),
      histograms: (s.histograms ?? []).map(([t, h]) => create(v2.HistogramSchema, { ...histogramFields(t, h), startTimestamp: BigInt(s.startMs ?? 0) })),
      exemplars: (s.exemplars ?? []).map((e) => create(v2.ExemplarSchema, { labelsRefs: refs(e.labels), value: e.value, timestamp: BigInt(e.timestampMs) })),
      ...(s.meta ? { metadata: create(v2.MetadataSchema, { type: s.meta.type as number, helpRef: ref(s.meta.help ?? ""), unitRef: ref(s.meta.unit ?? "") }) } : {}),
    }),
  );
  return restoreStaleMarkers(toBinary(v2.RequestSchema, create(v2.RequestSchema, { symbols, timeseries })));
}

export function writeBodyV2(series: SeriesSpec[]): Uint8Array<ArrayBuffer> {
  return snappy(writeRequestV2Bytes(series));
}

export const V2_CONTENT_TYPE = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

// V8 quiets signalling NaNs when it stores them, so Prometheus' marker (0x7ff0000000000002) cannot pass
// through a JS number: write its quiet twin, then put the real bits back into the encoded Sample.value.
const QUIET_STALE = new Float64Array(new BigUint64Array([0x7ff8000000000002n]).buffer)[0]!;
// After the tag of Sample.value (0x09) or Histogram.sum (0x19, a stale histogram).
const QUIET_BYTES = [0x02, 0, 0, 0, 0, 0, 0xf8, 0x7f];

function restoreStaleMarkers(b: Uint8Array): Uint8Array {
  outer: for (let i = 1; i + QUIET_BYTES.length <= b.length; i++) {
    if (b[i - 1] !== 0x09 && b[i - 1] !== 0x19) continue;
    for (let k = 0; k < QUIET_BYTES.length; k++) if (b[i + k] !== QUIET_BYTES[k]) continue outer;
    b[i + 6] = 0xf0;
  }
  return b;
}

export function snappy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return SnappyJS.compress(bytes);
}

export function writeBody(series: SeriesSpec[], metadata: MetadataSpec[] = []): Uint8Array<ArrayBuffer> {
  return snappy(writeRequestBytes(series, metadata));
}


const here = dirname(fileURLToPath(import.meta.url));
export const FIXTURES_DIR = resolve(here, "../fixtures");

export function fixture(name: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(readFileSync(resolve(FIXTURES_DIR, name)));
}

export const FIXTURES = ["rw-1.snappy", "rw-2.snappy", "rw-3.snappy", "rw-4.snappy", "rw-5.snappy"];

export { MetricMetadata_MetricType };
