import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import SnappyJS from "snappyjs";
import {
  MetricMetadata_MetricType,
  MetricMetadataSchema,
  SampleSchema,
  TimeSeriesSchema,
} from "../../src/gen/prometheus/types_pb.js";
import { WriteRequestSchema } from "../../src/gen/prometheus/remote_pb.js";

/** Builds remote_write payloads with the generated (reference) protobuf code. */

export interface SeriesSpec {
  labels: Record<string, string>;
  samples: [timestampMs: number, value: number | "stale"][];
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
      }),
    ),
    metadata: metadata.map((m) =>
      create(MetricMetadataSchema, { metricFamilyName: m.family, type: m.type, help: m.help ?? "", unit: m.unit ?? "" }),
    ),
  });
  return restoreStaleMarkers(toBinary(WriteRequestSchema, msg));
}

// V8 quiets signalling NaNs when it stores them, so Prometheus' marker (0x7ff0000000000002) cannot pass
// through a JS number: write its quiet twin, then put the real bits back into the encoded Sample.value.
const QUIET_STALE = new Float64Array(new BigUint64Array([0x7ff8000000000002n]).buffer)[0]!;
const QUIET_BYTES = [0x09, 0x02, 0, 0, 0, 0, 0, 0xf8, 0x7f];

function restoreStaleMarkers(b: Uint8Array): Uint8Array {
  outer: for (let i = 0; i + QUIET_BYTES.length <= b.length; i++) {
    for (let k = 0; k < QUIET_BYTES.length; k++) if (b[i + k] !== QUIET_BYTES[k]) continue outer;
    b[i + 7] = 0xf0;
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
