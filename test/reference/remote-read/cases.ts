/**
 * Series for checking remote_read's encoders against Prometheus' own (reference_test.go): hand-picked
 * cases for each rule of the histogram chunk encodings, plus seeded random series that walk through bucket
 * growth, emptied and vanished buckets, counter resets, gauge phases, schema and threshold changes,
 * staleness markers and type switches.
 */
import { type BucketSpan, type NativeHistogram, ResetHint } from "../../../src/model/histogram.js";
import type { SeriesSamples } from "../../../src/query/storage/types.js";
import { create, toBinary } from "@bufbuild/protobuf";
import { ChunkSchema, LabelSchema } from "../../../src/gen/prometheus/types_pb.js";
import { seriesChunks } from "../../../src/query/remote/series-chunks.js";

export interface Case {
  name: string;
  series: SeriesSamples;
}

/** A span list written out: each entry an offset and that span's bucket counts. */
export type SpanSpec = [offset: number, counts: number[]][];

export interface HistSpec {
  float?: boolean;
  schema?: number;
  zeroThreshold?: number;
  zeroCount?: number;
  sum?: number;
  pos?: SpanSpec;
  neg?: SpanSpec;
  hint?: ResetHint;
  customValues?: number[];
  /** Overrides the count (by default the zero count plus every bucket). */
  count?: number;
}

function unpack(spec: SpanSpec | undefined): { spans: BucketSpan[]; buckets: number[] } {
  const spans: BucketSpan[] = [];
  const buckets: number[] = [];
  for (const [offset, counts] of spec ?? []) {
    spans.push({ offset, length: counts.length });
    buckets.push(...counts);
  }
  return { spans, buckets };
}

export function hist(spec: HistSpec): NativeHistogram {
  const p = unpack(spec.pos);
  const n = unpack(spec.neg);
  const zeroCount = spec.zeroCount ?? 0;
  const total = zeroCount + p.buckets.reduce((a, b) => a + b, 0) + n.buckets.reduce((a, b) => a + b, 0);
  return {
    float: spec.float ?? false,
    schema: spec.schema ?? 0,
    zeroThreshold: spec.zeroThreshold ?? 2 ** -128,
    zeroCount,
    count: spec.count ?? total,
    sum: spec.sum ?? total * 1.5,
    positiveSpans: p.spans,
    positiveBuckets: p.buckets,
    negativeSpans: n.spans,
    negativeBuckets: n.buckets,
    resetHint: spec.hint ?? ResetHint.Unknown,
    customValues: spec.customValues ?? [],
  };
}

/** A sample of a case: a float, a histogram, or a staleness marker (typed by the samples around it). */
export type Point = [t: number, v: number | NativeHistogram | "stale"] | [t: number, "stale", NativeHistogram];

export function series(name: string, points: Point[], labels: Record<string, string> = {}): Case {
  const s: SeriesSamples = {
    key: "",
    labels: { __name__: name, job: "reference", ...labels },
    timestamps: [],
    values: [],
    stale: new Set(),
  };
  const hs: (NativeHistogram | undefined)[] = [];
  points.forEach((p, i) => {
    s.timestamps.push(p[0]);
    const v = p[1];
    if (v === "stale") {
      s.stale.add(i);
      s.values.push(Number.NaN);
      hs.push(p[2]);
    } else if (typeof v === "number") {
      s.values.push(v);
      hs.push(undefined);
    } else {
      s.values.push(Number.NaN);
      hs.push(v);
    }
  });
  if (hs.some((h) => h !== undefined)) s.histograms = hs;
  s.key = JSON.stringify(Object.entries(s.labels).sort());
  return { name, series: s };
}

const T0 = 1_767_268_800_000;
const at = (i: number) => T0 + i * 15_000;

function handPicked(): Case[] {
  const cases: Case[] = [];
  const add = (name: string, points: Point[], labels?: Record<string, string>) => cases.push(series(name, points, labels));

  add("floats_only", Array.from({ length: 250 }, (_, i): Point => [at(i), i % 7 === 0 ? 0 : Math.sin(i) * 1e3]));

  add("int_steady", Array.from({ length: 10 }, (_, i): Point => [at(i), hist({ schema: 3, zeroCount: i, pos: [[-2, [i, 2 * i, 3 * i]], [4, [i * 5]]] })]));

  // New buckets at the front, in the middle, at the end and as a new span: the chunk is re-encoded.
  add("int_buckets_appear", [
    [at(0), hist({ pos: [[2, [1, 2]]] })],
    [at(1), hist({ pos: [[2, [2, 3]]] })],
    [at(2), hist({ pos: [[1, [1, 2, 3]]] })],
    [at(3), hist({ pos: [[1, [1, 3, 3, 1]]] })],
    [at(4), hist({ pos: [[1, [2, 3, 4, 1]], [3, [5]]] })],
    [at(5), hist({ pos: [[-3, [1]], [3, [2, 3, 4, 1, 0, 1, 1, 5]]], neg: [[0, [4]]] })],
    [at(6), hist({ pos: [[-3, [2]], [3, [2, 3, 4, 1, 0, 1, 1, 5]]], neg: [[0, [4, 1]]] })],
  ]);

  // Buckets whose count is 0 may vanish (they come back empty); with new buckets at once the spans are adjusted.
  add("int_empty_buckets_vanish", [
    [at(0), hist({ pos: [[0, [0, 1, 0, 2]], [2, [0]]] })],
    [at(1), hist({ pos: [[1, [1]], [1, [2]]] })],
    [at(2), hist({ pos: [[1, [2]], [1, [3]], [2, [1]]] })],
    [at(3), hist({ pos: [[-1, [4]], [1, [0, 2]], [1, [3, 1]]] })],
    [at(4), hist({ pos: [[1, [3]], [1, [4]], [3, [7]]] })],
  ]);

  add("int_counter_resets", [
    [at(0), hist({ pos: [[0, [5, 5]]], zeroCount: 3 })],
    [at(1), hist({ pos: [[0, [6, 6]]], zeroCount: 3 })],
    [at(2), hist({ pos: [[0, [1, 1]]], zeroCount: 3 })], // count drops
    [at(3), hist({ pos: [[0, [2, 2]]], zeroCount: 3 })],
    [at(4), hist({ pos: [[0, [3, 3]]], zeroCount: 1, count: 10 })], // zero count drops
    [at(5), hist({ pos: [[0, [4, 1]]], zeroCount: 1, count: 10 })], // a bucket drops
    [at(6), hist({ pos: [[0, [9]]], zeroCount: 1, count: 10 })], // a used bucket vanishes
    [at(7), hist({ pos: [[0, [9]]], zeroCount: 2, hint: ResetHint.Yes })], // explicit hint
    [at(8), hist({ pos: [[0, [10]]], zeroCount: 2, hint: ResetHint.No })],
    [at(9), hist({ pos: [[0, [11]]], zeroCount: 2, hint: ResetHint.Yes })],
  ]);

  add("int_layout_changes", [
    [at(0), hist({ schema: 0, pos: [[0, [1, 2]]] })],
    [at(1), hist({ schema: 1, pos: [[0, [1, 2, 3]]] })],
    [at(2), hist({ schema: 1, zeroThreshold: 0.001, pos: [[0, [1, 2, 3]]] })],
    [at(3), hist({ schema: 1, zeroThreshold: 0, pos: [[0, [2, 2, 3]]] })],
    [at(4), hist({ schema: -4, zeroThreshold: 2 ** 10, pos: [[0, [2, 2, 3]]] })],
    [at(5), hist({ schema: 8, zeroThreshold: 2 ** 11, pos: [[0, [2, 2, 3]]] })],
    [at(6), hist({ schema: 8, zeroThreshold: 2 ** -243, pos: [[0, [3, 2, 3]]] })],
    [at(7), hist({ schema: 8, zeroThreshold: 2 ** -244, pos: [[0, [3, 2, 3]]] })],
  ]);

  const cv1 = [0.1, 0.25, 1, 2.5, 10, 33554.43];
  const cv2 = [-5, 0.1, 0.30000000000000004, 33554.431, 1e300];
  add("int_custom_buckets", [
    [at(0), hist({ schema: -53, customValues: cv1, pos: [[0, [1, 0, 3]], [2, [4]]], zeroThreshold: 0 })],
    [at(1), hist({ schema: -53, customValues: cv1, pos: [[0, [2, 1, 3, 1]], [1, [5]]], zeroThreshold: 0 })],
    [at(2), hist({ schema: -53, customValues: cv2, pos: [[0, [3, 1, 3, 1]]], zeroThreshold: 0 })],
    [at(3), hist({ schema: -53, customValues: cv2, pos: [[0, [3, 1, 3, 2]]], zeroThreshold: 0 })],
    [at(4), hist({ schema: -53, customValues: [], pos: [[0, [7]]], zeroThreshold: 0 })],
  ]);

  const g = ResetHint.Gauge;
  add("int_gauge", [
    [at(0), hist({ hint: g, pos: [[0, [5, 5]]], zeroCount: 3 })],
    [at(1), hist({ hint: g, pos: [[0, [2]], [1, [7]]], zeroCount: 1 })],
    [at(2), hist({ hint: g, pos: [[-2, [1]], [3, [7, 1]]], neg: [[0, [2]]] })],
    [at(3), hist({ hint: g, pos: [[1, [9]]] })],
    [at(4), hist({ pos: [[1, [9]]] })], // counter after gauge
    [at(5), hist({ pos: [[1, [10]]] })],
    [at(6), hist({ hint: g, pos: [[1, [3]]] })], // gauge after counter
    [at(7), "stale"],
    [at(8), hist({ hint: g, schema: 2, pos: [[1, [3]]] })],
    [at(9), hist({ hint: g, schema: 3, pos: [[1, [3]]] })],
  ]);

  add("int_stale", [
    [at(0), "stale"],
    [at(1), hist({ pos: [[0, [1]]] })],
    [at(2), hist({ pos: [[0, [2]]] })],
    [at(3), "stale"],
    [at(4), "stale"],
    [at(5), hist({ pos: [[0, [3]]] })],
    [at(6), "stale", hist({ pos: [[0, [3]]] })],
    [at(7), hist({ pos: [[0, [3, 1]]] })],
    [at(8), "stale"],
  ]);

  add("float_histograms", [
    [at(0), hist({ float: true, pos: [[0, [0.5, 1.25]]], zeroCount: 0.1 })],
    [at(1), hist({ float: true, pos: [[0, [0.75, 1.25]]], zeroCount: 0.1 })],
    [at(2), hist({ float: true, pos: [[-1, [0.5, 0.75, 1.25]]], zeroCount: 0.2, sum: Number.NaN })],
    [at(3), hist({ float: true, pos: [[-1, [0, 0.75, 1.5]]], zeroCount: 0.2, sum: -0 })],
    [at(4), hist({ float: true, pos: [[0, [0.75, 1.5]]], zeroCount: 0.2, sum: Infinity })],
    [at(5), hist({ float: true, pos: [[0, [0.75, 1.5]]], neg: [[2, [3.5]]], zeroCount: 0.2 })],
    [at(6), hist({ float: true, pos: [[0, [0.5, 1.5]]], zeroCount: 0.2 })], // a bucket drops
    [at(7), hist({ float: true, pos: [[0, [0.5, 1.5]]], zeroCount: 0.2, hint: ResetHint.Yes })],
    [at(8), hist({ float: true, pos: [[0, [0.5, 1.5]]], zeroCount: 0.2, hint: ResetHint.Gauge })],
    [at(9), hist({ float: true, pos: [[3, [0.5]]], zeroCount: 0.1, hint: ResetHint.Gauge })],
    [at(10), hist({ float: true, pos: [[3, [0.5]]], zeroCount: 0.1 })], // counter after gauge
    [at(11), "stale"],
    [at(12), hist({ float: true, pos: [[3, [0.5]]], zeroCount: 0.1, schema: 4 })],
    [at(13), hist({ float: true, schema: -53, customValues: [1, 2], pos: [[0, [1, 2, 3]]], zeroThreshold: 0 })],
  ]);

  add("mixed_types", [
    [at(0), 1],
    [at(1), "stale"],
    [at(2), hist({ pos: [[0, [1]]] })],
    [at(3), "stale"],
    [at(4), hist({ float: true, pos: [[0, [1.5]]] })],
    [at(5), 2],
    [at(6), hist({ pos: [[0, [1]]] })],
    [at(7), "stale"],
    [at(8), 3],
  ]);

  // 300 samples: chunks cut at 120; a reset at 150 restarts the count.
  add(
    "int_long",
    Array.from({ length: 300 }, (_, i): Point => {
      const k = i < 150 ? i : i - 150;
      return [at(i), hist({ schema: 1, pos: [[0, [k, k + 1]], [2, [2 * k]]], neg: [[-1, [k % 3 === 0 ? k : k]]] })];
    }),
  );

  // Zero-length spans, adjacent spans (offset 0) and negative first offsets, as writers may send them.
  add("int_odd_spans", [
    [at(0), hist({ pos: [[-5, [1]], [0, []], [0, [2]], [3, [1, 1]]], neg: [[0, []], [2, [4]]] })],
    [at(1), hist({ pos: [[-5, [1, 2]], [3, [1, 1]]], neg: [[2, [5]]] })],
    [at(2), hist({ pos: [[-6, [1, 1, 2]], [2, [1]], [0, [1]]], neg: [[2, [5]]] })],
  ]);

  // Large values: 56- and 64-bit varbit fields, far timestamps in both directions, jumps in time.
  const big = 2 ** 45;
  add("int_large_values", [
    [-9_000_000_000_000, hist({ pos: [[0, [big, 1]]], zeroCount: big })],
    [-8_999_999_000_000, hist({ pos: [[0, [big * 3, big]]], zeroCount: big * 2 })],
    [1, hist({ pos: [[0, [big * 64, big * 2]]], zeroCount: big * 2 })],
    [2, hist({ pos: [[0, [big * 64, big * 2]]], zeroCount: big * 2 })],
    [4_000_000_000_000, hist({ pos: [[0, [big * 100, big * 2 + 1]]], zeroCount: big * 9 })],
    // Deltas past 2^52 (the SAMPLES answer's zig-zag needs 64-bit arithmetic there).
    [4_000_000_015_000, hist({ pos: [[0, [big * 100, big * 2 + 1, 2 ** 52 + 2 ** 47]]], zeroCount: big * 9 })],
  ]);

  // Many buckets of noisy counts: chunks large enough that a series spans several 1 MiB frames.
  const rnd = prng(7);
  const wide: number[] = Array.from({ length: 400 }, () => rnd() * 100);
  add(
    "float_wide_frames",
    Array.from({ length: 600 }, (_, i): Point => {
      for (let b = 0; b < wide.length; b++) wide[b]! += rnd() * 10;
      return [at(i), hist({ float: true, schema: 5, pos: [[-200, wide.slice()]], zeroCount: i })];
    }),
    { long_label: "x".repeat(5000) },
  );
  return cases;
}

export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Spans for sorted bucket indices, sometimes split oddly (zero-length spans, adjacent spans). */
function spansOf(indices: number[], rnd: () => number): BucketSpan[] {
  const spans: BucketSpan[] = [];
  let last = 0;
  for (const idx of indices) {
    const gap = spans.length === 0 ? idx : idx - last - 1;
    if (spans.length > 0 && gap === 0 && rnd() > 0.15) spans[spans.length - 1]!.length++;
    else {
      if (rnd() < 0.05) spans.push({ offset: spans.length === 0 ? gap : gap, length: 0 }, { offset: 0, length: 1 });
      else spans.push({ offset: gap, length: 1 });
    }
    last = idx;
  }
  return spans;
}

/** A random series of histograms: one flavour per phase, counter or gauge phases, resets, stale markers. */
function randomCase(seed: number): Case {
  const rnd = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const n = 1 + Math.floor(rnd() * 320);
  let float = rnd() < 0.4;
  let gauge = rnd() < 0.2;
  let schema = pick([-53, 0, 3, 8, -4]);
  let zeroThreshold = pick([2 ** -128, 0, 0.001]);
  let cv = [0.5, 1, 2.5, 5, 10];
  let pos = new Map<number, number>();
  let neg = new Map<number, number>();
  let zc = 0;
  let sum = 0;
  let t = Math.floor((rnd() - 0.3) * 1e12);
  const step = pick([15_000, 10_000, 60_000, 1]);
  const points: Point[] = [];
  const maxIdx = () => (schema === -53 ? cv.length : 40);
  const grow = (m: Map<number, number>) => {
    for (const [k, v] of m) if (rnd() < 0.6) m.set(k, v + (float ? rnd() * 3 : Math.floor(rnd() * 4)));
  };
  for (let i = 0; i < n; i++) {
    t += step + (rnd() < 0.2 ? Math.floor((rnd() - 0.5) * 2000) : 0) + (rnd() < 0.02 ? Math.floor(rnd() * 1e9) : 0);
    const r = rnd();
    if (r < 0.03) {
      points.push([t, "stale"]);
      continue;
    }
    if (r < 0.04) {
      points.push([t, rnd() * 100]);
      continue;
    }
    if (r < 0.05) float = !float;
    else if (r < 0.06) gauge = !gauge;
    else if (r < 0.07 && schema !== -53) schema = pick([0, 1, 2, 3]);
    else if (r < 0.08) zeroThreshold = pick([2 ** -128, 0.001, 0]);
    else if (r < 0.085 && schema === -53) cv = cv.map((c) => c * 2);
    else if (r < 0.1) {
      pos = new Map([...pos].map(([k]) => [k, 0] as [number, number]).filter(() => rnd() < 0.7));
      neg = new Map();
      zc = 0;
      sum = 0;
    }
    // Buckets come (sometimes empty) and go (empty ones, or any in gauges and as resets).
    const idxRange = maxIdx();
    if (rnd() < 0.25) pos.set(Math.floor(rnd() * idxRange) - (schema === -53 ? 0 : 10), rnd() < 0.3 ? 0 : 1);
    if (schema !== -53 && rnd() < 0.1) neg.set(Math.floor(rnd() * 20) - 5, rnd() < 0.3 ? 0 : 2);
    for (const m of [pos, neg]) {
      for (const [k, v] of m) {
        if ((v === 0 && rnd() < 0.2) || ((gauge || rnd() < 0.01) && rnd() < 0.1)) m.delete(k);
      }
    }
    if (schema === -53) for (const k of pos.keys()) if (k > cv.length) pos.delete(k);
    if (gauge) {
      for (const m of [pos, neg]) for (const [k, v] of m) m.set(k, Math.max(0, v + (float ? (rnd() - 0.5) * 4 : Math.floor(rnd() * 5) - 2)));
    } else {
      grow(pos);
      grow(neg);
    }
    zc += float ? rnd() : Math.floor(rnd() * 2);
    sum += rnd() * 10;
    const pIdx = [...pos.keys()].sort((a, b) => a - b);
    const nIdx = schema === -53 ? [] : [...neg.keys()].sort((a, b) => a - b);
    const positiveBuckets = pIdx.map((k) => (float ? pos.get(k)! : Math.round(pos.get(k)!)));
    const negativeBuckets = nIdx.map((k) => (float ? neg.get(k)! : Math.round(neg.get(k)!)));
    const zeroCount = schema === -53 ? 0 : float ? zc : Math.round(zc);
    const count = zeroCount + positiveBuckets.reduce((a, b) => a + b, 0) + negativeBuckets.reduce((a, b) => a + b, 0);
    const hint = gauge ? ResetHint.Gauge : rnd() < 0.02 ? ResetHint.Yes : rnd() < 0.3 ? ResetHint.No : ResetHint.Unknown;
    const h: NativeHistogram = {
      float,
      schema,
      zeroThreshold: schema === -53 ? 0 : zeroThreshold,
      zeroCount,
      count,
      sum,
      positiveSpans: spansOf(pIdx, rnd),
      positiveBuckets,
      negativeSpans: spansOf(nIdx, rnd),
      negativeBuckets,
      resetHint: hint,
      customValues: schema === -53 ? cv.slice() : [],
    };
    points.push(rnd() < 0.02 ? [t, "stale", h] : [t, h]);
  }
  return series(`random_${seed}`, points);
}

/**
 * Series whose labels and first five chunks fill a 1 MiB frame exactly, leave one byte, or overrun by one
 * (Prometheus closes a frame once no byte is left):
 * the frame limit's edge (sizes as protobuf-es encodes the messages).
 */
function frameEdgeCases(): Case[] {
  const points = Array.from({ length: 2000 }, (_, i): Point => [at(i), Math.cos(i) * 1e6]);
  const base = series("frame_edge", points);
  const chunkBytes = seriesChunks(base.series)
    .slice(0, 5)
    .reduce((n, c) => n + toBinary(ChunkSchema, create(ChunkSchema, { minTimeMs: BigInt(c.minT), maxTimeMs: BigInt(c.maxT), type: c.encoding as number, data: c.data })).length, 0);
  const labelBytes = (labels: Record<string, string>) =>
    Object.entries(labels).reduce((n, [name, value]) => n + toBinary(LabelSchema, create(LabelSchema, { name, value })).length, 0);
  const out: Case[] = [];
  for (const slack of [-1, 0, 1]) {
    let pad = 1024 * 1024 - chunkBytes - labelBytes(base.series.labels);
    while (labelBytes({ ...base.series.labels, pad: "p".repeat(pad) }) + chunkBytes > 1024 * 1024 - slack) pad--;
    out.push({ ...series("frame_edge", points, { pad: "p".repeat(pad) }), name: `frame_edge_left_${slack}` });
  }
  return out;
}

export function referenceCases(randomCount = 150): Case[] {
  return [...handPicked(), ...frameEdgeCases(), ...Array.from({ length: randomCount }, (_, i) => randomCase(1000 + i))];
}
