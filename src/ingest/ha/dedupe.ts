import type { Limits } from "../../config.js";
import type { HaConfig } from "../../config/ha.js";
import type { HistogramSample } from "../histogram.js";
import { decodeWriteRequest, type ExemplarView, type MetadataEntry, type SeriesView, type WriteVisitor } from "../decode.js";
import { decodeWriteRequestV2 } from "../decode-v2.js";
import type { WireProtocol } from "../headers.js";
import type { HaTracker } from "./tracker.js";

/**
 * The write path's HA step: before any document is built, a first pass over the decoded request collects
 * the (cluster, replica) pairs its series carry, the tracker decides each pair once, and the visitor
 * returned wraps the document writer for the real pass: series of a deduplicated pair are dropped, the
 * others lose the replica label (both replicas' samples then land in one series; the cluster label stays).
 *
 * Per series, not per request as Mimir does (it takes both labels from the first series and applies the
 * verdict to the whole request): a request mixing clusters, or series without the labels, gets each series
 * decided by its own labels. For what Prometheus sends (one replica per request, the same external labels
 * on every series) the two agree.
 */

/** Lenient: a label value that is not UTF-8 is refused later by validation, for the series it is on. */
const text = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * The index of the label called `name` (UTF-8 bytes) in the series, or -1, also when its value is empty: an
 * empty value means "no such label" in Prometheus (and Mimir treats an empty cluster or replica as absent).
 */
function labelIndex(s: SeriesView, name: Uint8Array): number {
  const { buf, pos } = s;
  outer: for (let i = 0; i < s.count; i++) {
    const start = pos[4 * i]!;
    if (pos[4 * i + 1]! - start !== name.length) continue;
    for (let j = 0; j < name.length; j++) if (buf[start + j] !== name[j]) continue outer;
    return pos[4 * i + 2] === pos[4 * i + 3] ? -1 : i;
  }
  return -1;
}

/**
 * A label's value as a string, decoded only when it differs from the previous series' value of the same label:
 * Prometheus puts the same external labels on every series of a request, so this is one byte comparison per
 * series (none in remote write 2.0, where equal values are the same symbol) instead of a decode.
 */
class ValueMemo {
  private buf: Uint8Array | undefined;
  private start = 0;
  private end = 0;
  private value = "";
  of(s: SeriesView, i: number): string {
    const start = s.pos[4 * i + 2]!;
    const end = s.pos[4 * i + 3]!;
    if (s.buf !== this.buf || !sameBytes(s.buf, start, end, this.start, this.end)) {
      this.value = text.decode(s.buf.subarray(start, end));
      [this.buf, this.start, this.end] = [s.buf, start, end];
    }
    return this.value;
  }
}

function sameBytes(buf: Uint8Array, a0: number, a1: number, b0: number, b1: number): boolean {
  if (a1 - a0 !== b1 - b0) return false;
  if (a0 === b0) return true;
  for (let i = 0; i < a1 - a0; i++) if (buf[a0 + i] !== buf[b0 + i]) return false;
  return true;
}

/** The labels' names as bytes, and where a series carries them. */
class HaLabels {
  private readonly cluster: Uint8Array;
  private readonly replica: Uint8Array;
  constructor(ha: HaConfig) {
    this.cluster = encoder.encode(ha.clusterLabel);
    this.replica = encoder.encode(ha.replicaLabel);
  }
  /** Indexes of both labels, or undefined when the series lacks either (then it is stored as usual). */
  find(s: SeriesView): { cluster: number; replica: number } | undefined {
    const r = labelIndex(s, this.replica);
    if (r < 0) return undefined;
    const c = labelIndex(s, this.cluster);
    return c < 0 ? undefined : { cluster: c, replica: r };
  }
}

/** First pass: every (cluster → replicas) the request carries; drops every series (nothing is built). */
class PairCollector implements WriteVisitor {
  readonly pairs = new Map<string, Set<string>>();
  private readonly cluster = new ValueMemo();
  private readonly replica = new ValueMemo();
  constructor(private readonly labels: HaLabels) {}
  series(s: SeriesView): boolean {
    const at = this.labels.find(s);
    if (at) {
      const cluster = this.cluster.of(s, at.cluster);
      let replicas = this.pairs.get(cluster);
      if (!replicas) this.pairs.set(cluster, (replicas = new Set()));
      replicas.add(this.replica.of(s, at.replica));
    }
    return false;
  }
  sample(): void {}
  histogram(): void {}
  exemplar(): void {}
  metadata(): void {}
}

/** The request's deduplication, once its pairs are decided. */
export class Dedupe {
  /** Samples (floats + histograms) dropped as another replica's, per cluster. */
  readonly dedupedByCluster = new Map<string, number>();
  deduped = 0;
  private readonly labels: HaLabels;
  /** `accepted`: cluster → replica → whether its samples are stored; a pair not in it is dropped. */
  constructor(
    private readonly ha: HaConfig,
    private readonly accepted: ReadonlyMap<string, ReadonlyMap<string, boolean>>,
  ) {
    this.labels = new HaLabels(ha);
  }

  /** The same decisions for another pass over the request (forwarding's), counting in a copy of its own. */
  again(): Dedupe {
    return new Dedupe(this.ha, this.accepted);
  }

  /** The visitor for the real pass, in front of the document writer. */
  wrap(inner: WriteVisitor): WriteVisitor {
    return new DedupeVisitor(this, this.labels, inner);
  }

  /** Whether the series' pair was decided to be stored; counts its samples as deduplicated when not. */
  admit(s: SeriesView, cluster: string, replica: string): boolean {
    if (this.accepted.get(cluster)?.get(replica) === true) return true;
    const n = s.samples + s.histograms;
    this.deduped += n;
    this.dedupedByCluster.set(cluster, (this.dedupedByCluster.get(cluster) ?? 0) + n);
    return false;
  }
}

class DedupeVisitor implements WriteVisitor {
  /** The current series without its replica label: a view the writer may hold until the next series. */
  private readonly view: SeriesView = {
    buf: new Uint8Array(0),
    count: 0,
    pos: new Int32Array(4 * 64),
    samples: 0,
    histograms: 0,
    bytes: 0,
    meta: undefined,
    refs: undefined,
    symbols: undefined,
  };
  private readonly cluster = new ValueMemo();
  private readonly replica = new ValueMemo();
  constructor(
    private readonly dedupe: Dedupe,
    private readonly labels: HaLabels,
    private readonly inner: WriteVisitor,
  ) {}

  series(s: SeriesView): boolean {
    const at = this.labels.find(s);
    if (!at) return this.inner.series(s);
    if (!this.dedupe.admit(s, this.cluster.of(s, at.cluster), this.replica.of(s, at.replica))) return false;
    return this.inner.series(this.withoutLabel(s, at.replica));
  }

  private withoutLabel(s: SeriesView, skip: number): SeriesView {
    const v = this.view;
    if (v.pos.length < 4 * s.count) v.pos = new Int32Array(4 * s.count);
    const from = s.pos;
    const to = v.pos;
    let n = 0;
    for (let i = 0; i < 4 * s.count; i++) if (i >> 2 !== skip) to[n++] = from[i]!;
    n >>= 2;
    v.buf = s.buf;
    v.count = n;
    v.samples = s.samples;
    v.histograms = s.histograms;
    v.bytes = s.bytes;
    v.meta = s.meta;
    // Remote write 2.0: the symbol refs, two per label, follow the same cut (the writer's per-symbol memo).
    if (s.refs && s.symbols) {
      if (!v.refs || v.refs.length < 2 * s.count) v.refs = new Int32Array(2 * s.count);
      let m = 0;
      for (let i = 0; i < 2 * s.count; i++) if (i >> 1 !== skip) v.refs[m++] = s.refs[i]!;
      v.symbols = s.symbols;
    } else {
      v.refs = undefined;
      v.symbols = undefined;
    }
    return v;
  }

  sample(timestampMs: number, value: number, stale: boolean, startMs: number): void {
    this.inner.sample(timestampMs, value, stale, startMs);
  }
  histogram(h: HistogramSample | string): void {
    this.inner.histogram(h);
  }
  exemplar(e: ExemplarView): void {
    this.inner.exemplar(e);
  }
  metadata(m: MetadataEntry): void {
    this.inner.metadata(m);
  }
}

/** The first pass: cluster → the replicas the request's series carry with it. */
export function collectPairs(ha: HaConfig, decoded: Uint8Array, protocol: WireProtocol, limits: Limits): Map<string, Set<string>> {
  const collector = new PairCollector(new HaLabels(ha));
  if (protocol === "prw2") decodeWriteRequestV2(decoded, limits, collector);
  else decodeWriteRequest(decoded, limits, collector);
  return collector.pairs;
}

/**
 * Decides the request's HA pairs; undefined when no series carries both labels (the request is stored as
 * if HA were off). Pairs of different clusters are decided concurrently, each cluster's replicas in turn.
 */
export async function prepareDedupe(
  tracker: HaTracker,
  tenant: string,
  ha: HaConfig,
  decoded: Uint8Array,
  protocol: WireProtocol,
  limits: Limits,
  nowMs: number,
): Promise<Dedupe | undefined> {
  const pairs = collectPairs(ha, decoded, protocol, limits);
  if (pairs.size === 0) return undefined;
  const accepted = new Map<string, Map<string, boolean>>();
  await Promise.all(
    [...pairs].map(async ([cluster, replicas]) => {
      const verdicts = new Map<string, boolean>();
      accepted.set(cluster, verdicts);
      for (const replica of replicas) verdicts.set(replica, (await tracker.check(tenant, ha, cluster, replica, nowMs)).accepted);
    }),
  );
  return new Dedupe(ha, accepted);
}
