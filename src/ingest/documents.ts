import type { Limits } from "../config.js";
import { base64FromBytes } from "../util/base64.js";
import { xxhash64 } from "../util/xxhash64.js";
import type { ExemplarView, MetadataEntry, SeriesView, WriteVisitor } from "./decode.js";
import type { HistogramSample } from "./histogram.js";
import { kindBySuffix, kindFromFamilies, kindFromMetadata, type SeriesKind } from "./metric-type.js";
import { LABEL_CHECKED, LABEL_OK, METRIC_CHECKED, METRIC_OK, type SymbolMemo, VALUE_ESCAPED, VALUE_INVALID, VALUE_PLAIN, VALUE_UNKNOWN } from "./symbol-memo.js";
import { NAME_BYTE, type Rejection, validateSeries } from "./validate.js";

/**
 * Turns decoded series straight into `_bulk` NDJSON bytes: one `create` action and one document per sample,
 * in the shape Elasticsearch's own Prometheus endpoint writes:
 *
 *   {"create":{}}
 *   {"@timestamp":1767268800000,"labels":{"__name__":"up","job":"api"},"metrics":{"up":1}}
 *
 * Values JSON cannot carry (the staleness marker, NaN, ±Inf) become documents without `metrics` and with
 * `promgate.special` ("stale", "NaN", "+Inf", "-Inf"), so nothing acknowledged is lost and queries can end a
 * series exactly at its stale marker.
 *
 * A native histogram sample is one document too, with the same `@timestamp` and `labels` (so the TSDS `_id`
 * makes a retried histogram a duplicate like a retried float) and the sender's `Histogram` message, without
 * its timestamps, base64 in `promgate.histogram` (docs/storage.md says why this shape). A start timestamp
 * goes to `promgate.start_timestamp`. Exemplars go to their own index, with an `_id` derived from their
 * content, in the same `_bulk` request.
 *
 * Label bytes are copied from the request buffer as they are (they are UTF-8 already; the validator has
 * made sure of that), escaping only where JSON requires it. Each series' `"labels":{…},"metrics":{"name":`
 * part is built once and copied for each of its samples.
 */

const enc = new TextEncoder();
const ACTION_AND_TS = enc.encode('{"create":{}}\n{"@timestamp":');
const LABELS_OPEN = enc.encode(',"labels":{');
const METRICS_OPEN = enc.encode('},"metrics":{"');
const METRICS_CLOSE = enc.encode('":');
const DOC_CLOSE = enc.encode("}}\n");
const SPECIAL: Record<string, Uint8Array> = {
  stale: enc.encode('},"promgate":{"special":"stale"}}\n'),
  NaN: enc.encode('},"promgate":{"special":"NaN"}}\n'),
  "+Inf": enc.encode('},"promgate":{"special":"+Inf"}}\n'),
  "-Inf": enc.encode('},"promgate":{"special":"-Inf"}}\n'),
};
const MAX_NUMBER_CHARS = 32; // "-1.7976931348623157e+308" is 24
const START_TS_OPEN_AFTER_METRICS = enc.encode('},"promgate":{"start_timestamp":');
const PROMGATE_DOC_CLOSE = enc.encode("}}\n");
const START_TS_MAX = 64;
export const DOC_FLOAT = 0;
export const DOC_HISTOGRAM = 1;
export const DOC_EXEMPLAR = 2;
/** Longest base64 histogram stored: under Lucene's 32,766-byte limit for one keyword doc value. */
export const MAX_STORED_HISTOGRAM = 32_000;
/** Prometheus refuses exemplars whose label names and values add up to more than 128 characters. */
const EXEMPLAR_MAX_LABEL_CHARS = 128;
const HEX = enc.encode("0123456789abcdef");
// What a byte needs inside a JSON string: copied as is, escaped, or (≥ 0x80) part of a UTF-8 sequence to check.
const PLAIN = 0;
const ESCAPE = 1;
const NON_ASCII = 2;
const JSON_BYTE = new Uint8Array(256).map((_, b) => (b >= 0x80 ? NON_ASCII : b < 0x20 || b === 0x22 || b === 0x5c ? ESCAPE : PLAIN));

/**
 * Initial capacity for the NDJSON of a decoded request. Remote write 1.0 with one sample per series (a
 * scrape) comes out at 1.5–1.8× the protobuf, so 2× avoids regrowing in the common case while keeping the
 * peak (decoded buffer + body) at about 3× the decoded size. A 2.0 body names each string once, so the same
 * scrape is about a quarter of the size and its NDJSON about 6× it: sized for that, a regrowth (a copy of
 * everything written so far) is the exception there too.
 */
export function bulkSizeHint(decodedBytes: number, protocol: "prw1" | "prw2" = "prw1"): number {
  return (protocol === "prw2" ? 7 : 2) * decodedBytes + 4096;
}

export interface RejectedSeries {
  series: number;
  /** Samples refused: floats, histograms and exemplars. */
  samples: number;
  /** The first rejected series, shortened, to help the operator find it. */
  example: string;
  /** The series counted last (views are reused per series: identity tells series apart within one visit). */
  last?: SeriesView;
}

export interface WriterOptions {
  /** Where exemplars go, and the data stream they belong to (kept on each for scoping reads). */
  exemplars?: { index: string; dataStream: string };
  /** Metric types of families whose 1.0 metadata was seen before (family name → MetricType number). */
  familyTypes?: ReadonlyMap<string, number>;
  /**
   * Samples before this time (ms) are refused as out of bounds (with the chunk index on: their window may
   * be compacted already, see src/chunks/window.ts), as Prometheus refuses samples older than its head.
   */
  minTimestampMs?: number;
}

/** Prometheus' word for a sample too old for its head (storage.ErrOutOfBounds). */
export const OUT_OF_BOUNDS = "out of bounds";

export class BulkBodyWriter implements WriteVisitor {
  private out: Uint8Array<ArrayBuffer>;
  private len = 0;
  /** `"labels":{…}` body of the current series (without the braces). */
  private labels = new Uint8Array(1024);
  private labelsLen = 0;
  /** End of the labels part inside `labels`; after it comes the metric name. */
  private labelsEnd = 0;
  private labelsView: Uint8Array = this.labels;
  private labelsOnlyView: Uint8Array = this.labels;
  /** The last timestamp written and its digits: a scrape gives most samples of a request the same one. */
  private lastTs = Number.NaN;
  private tsDigits = new Uint8Array(24);
  private tsDigitsLen = 0;
  /** The action line and `{"@timestamp":` of the current series' float documents (with a mapping hint or not). */
  private action: Uint8Array = ACTION_AND_TS;
  /** The current series while its samples are visited (for rejections and exemplars). */
  private current: SeriesView | undefined;
  /** Time of the current series' latest sample: an exemplar without a time of its own gets it. */
  private currentTs = 0;
  /**
   * Which documents of the body are histograms and exemplars (all others are floats), to account for `_bulk`
   * items by kind. Kept as indexes of the rarer kinds so a float costs nothing here.
   */
  private readonly histogramAt: number[] = [];
  private readonly exemplarAt: number[] = [];
  /** Documents in the body: float samples, histogram samples and exemplars. */
  documents = 0;
  floatDocuments = 0;
  histogramDocuments = 0;
  exemplarDocuments = 0;
  /** Most buffer bytes this writer held at once (body, old body while growing, label scratch). */
  peakBufferBytes = 0;
  readonly rejected = new Map<string, RejectedSeries>();
  readonly metadataEntries: MetadataEntry[] = [];
  /** Remote write 2.0 metadata already taken from this request, by metric name. */
  private readonly metadataSeen = new Set<string>();

  private readonly minTs: number;

  constructor(
    private readonly limits: Limits,
    sizeHint: number,
    private readonly options: WriterOptions = {},
  ) {
    this.minTs = options.minTimestampMs ?? -Infinity;
    this.out = new Uint8Array(Math.max(4096, sizeHint));
    this.peakBufferBytes = this.out.length + this.labels.length;
  }

  /** The NDJSON body built so far (a view: valid until the next write). */
  body(): Uint8Array<ArrayBuffer> {
    return this.out.subarray(0, this.len);
  }

  series(s: SeriesView): boolean {
    const verdict = validateSeries(s, this.limits);
    if (typeof verdict !== "number") {
      this.reject(verdict, s);
      return false;
    }
    const invalid = this.buildLabels(s, verdict);
    if (invalid) {
      this.reject(invalid, s);
      return false;
    }
    this.current = s;
    this.action = this.actionFor(s, verdict);
    // Reserve room for all of this series' float documents at once: one capacity check per series.
    const perDoc = this.action.length + 21 + LABELS_OPEN.length + this.labelsLen + 48 + MAX_NUMBER_CHARS + START_TS_MAX;
    this.ensure(s.samples * perDoc);
    return true;
  }

  /**
   * The action line for the series' float documents: with a `dynamic_templates` hint naming the mapping
   * the metadata asks for, where that differs from what the template's suffix rule would pick.
   */
  private actionFor(s: SeriesView, nameIndex: number): Uint8Array {
    const families = this.options.familyTypes;
    if (!s.meta && (!families || families.size === 0)) return ACTION_AND_TS;
    // Remote write 2.0: the series of one family share the name's symbol and (nearly always) its metadata,
    // so the decision is made once per name and type in a request.
    const memo = s.symbols;
    const metricRef = memo && s.refs ? s.refs[2 * nameIndex + 1]! : -1;
    const type = s.meta ? s.meta.type : -2;
    if (metricRef >= 0 && memo!.actionType[metricRef] === type) return memo!.actions[metricRef]!;
    const action = this.decideAction(s, nameIndex);
    if (metricRef >= 0) {
      memo!.actionType[metricRef] = type;
      memo!.actions[metricRef] = action;
    }
    return action;
  }

  private decideAction(s: SeriesView, nameIndex: number): Uint8Array {
    const families = this.options.familyTypes;
    const name = dec.decode(s.buf.subarray(s.pos[4 * nameIndex + 2]!, s.pos[4 * nameIndex + 3]!));
    if (s.meta && !this.metadataSeen.has(name)) {
      this.metadataSeen.add(name);
      this.metadataEntries.push({ ...s.meta, family: name });
    }
    const kind: SeriesKind | undefined = (s.meta ? kindFromMetadata(name, s.meta.type) : undefined) ?? (families ? kindFromFamilies(name, families) : undefined);
    if (kind === undefined || kind === kindBySuffix(name)) return ACTION_AND_TS;
    // Names are checked to be [a-zA-Z_:][a-zA-Z0-9_:]*: nothing to escape.
    return enc.encode(`{"create":{"dynamic_templates":{"metrics.${name}":"${kind === "counter" ? "counters" : "gauges"}"}}}\n{"@timestamp":`);
  }

  sample(timestampMs: number, value: number, stale: boolean, startMs = 0): void {
    if (timestampMs < this.minTs) {
      this.reject(OUT_OF_BOUNDS, this.current!, 1);
      return;
    }
    const out = this.out;
    let p = this.len;
    const action = this.action;
    out.set(action, p);
    p += action.length;
    this.currentTs = timestampMs;
    if (timestampMs !== this.lastTs) {
      this.tsDigitsLen = writeInteger(this.tsDigits, 0, timestampMs);
      this.lastTs = timestampMs;
    }
    p = copy(out, p, this.tsDigits, 0, this.tsDigitsLen);
    out.set(LABELS_OPEN, p);
    p += LABELS_OPEN.length;
    if (Number.isFinite(value)) {
      out.set(this.labelsView, p);
      p += this.labelsLen;
      p = writeNumber(out, p, value);
      if (startMs === 0) {
        out.set(DOC_CLOSE, p);
        p += DOC_CLOSE.length;
      } else {
        out.set(START_TS_OPEN_AFTER_METRICS, p);
        p = writeInteger(out, p + START_TS_OPEN_AFTER_METRICS.length, startMs);
        out.set(PROMGATE_DOC_CLOSE, p);
        p += PROMGATE_DOC_CLOSE.length;
      }
    } else {
      const kind = stale ? "stale" : value !== value ? "NaN" : value > 0 ? "+Inf" : "-Inf";
      out.set(this.labelsOnlyView, p);
      p += this.labelsEnd;
      if (startMs === 0) {
        const special = SPECIAL[kind]!;
        out.set(special, p);
        p += special.length;
      } else {
        p = writeAscii(out, p, `},"promgate":{"special":"${kind}","start_timestamp":${startMs}}}\n`);
      }
    }
    this.len = p;
    this.documents++;
    this.floatDocuments++;
  }

  /** Per document of the body, in order: DOC_FLOAT, DOC_HISTOGRAM or DOC_EXEMPLAR. */
  kinds(): Uint8Array {
    const k = new Uint8Array(this.documents); // DOC_FLOAT is 0
    for (const i of this.histogramAt) k[i] = DOC_HISTOGRAM;
    for (const i of this.exemplarAt) k[i] = DOC_EXEMPLAR;
    return k;
  }

  histogram(h: HistogramSample | string): void {
    const s = this.current!;
    if (typeof h === "string") {
      this.reject(h, s, 1);
      return;
    }
    if (h.timestampMs < this.minTs) {
      this.reject(OUT_OF_BOUNDS, s, 1);
      return;
    }
    this.currentTs = h.timestampMs;
    let tail: string;
    if (h.stale) tail = '},"promgate":{"special":"stale"}}\n';
    else {
      const b64 = base64FromBytes(h.stored);
      // Lucene keeps doc values of a keyword up to 32,766 bytes; a larger value would fail in Elasticsearch.
      if (b64.length > MAX_STORED_HISTOGRAM) {
        this.reject(`histogram too large to store (${b64.length} bytes encoded, at most ${MAX_STORED_HISTOGRAM})`, s, 1);
        return;
      }
      tail = `},"promgate":{"histogram":"${b64}"${h.startMs !== 0 ? `,"start_timestamp":${h.startMs}` : ""}}}\n`;
    }
    this.ensure(ACTION_AND_TS.length + 21 + LABELS_OPEN.length + this.labelsEnd + tail.length);
    const out = this.out;
    let p = this.len;
    out.set(ACTION_AND_TS, p);
    p = writeInteger(out, p + ACTION_AND_TS.length, h.timestampMs);
    out.set(LABELS_OPEN, p);
    p += LABELS_OPEN.length;
    out.set(this.labelsOnlyView, p);
    p += this.labelsEnd;
    this.len = writeAscii(out, p, tail);
    this.histogramAt.push(this.documents++);
    this.histogramDocuments++;
  }

  exemplar(e: ExemplarView): void {
    const s = this.current!;
    const target = this.options.exemplars;
    if (!target) return;
    const ts = e.timestampMs !== 0 ? e.timestampMs : this.currentTs;
    const invalid = exemplarProblem(e, ts);
    if (invalid) {
      this.reject(invalid, s, 1);
      return;
    }
    const labels: Record<string, string> = {};
    for (const [n, v] of e.labels) labels[n] = v;
    // The series' labels JSON is already built: splice it in rather than decoding it again.
    const content = `{"@timestamp":${ts},"data_stream":${JSON.stringify(target.dataStream)},"labels":{${dec.decode(this.labelsOnlyView)}},"exemplar":{"labels":${JSON.stringify(labels)},"value":${exemplarValue(e.value)}}`;
    // The same exemplar sent again (a retry) gets the same _id, and `create` turns it into a duplicate. The id
    // is also a field: reads page by it (sorting on _id is not allowed).
    const id = xxhash64(enc.encode(content)).toString(16).padStart(16, "0");
    const doc = enc.encode(`${content},"key":"${id}"}\n`);
    const action = enc.encode(`{"create":{"_index":${JSON.stringify(target.index)},"_id":"${id}"}}\n`);
    this.ensure(action.length + doc.length);
    this.out.set(action, this.len);
    this.out.set(doc, this.len + action.length);
    this.len += action.length + doc.length;
    this.exemplarAt.push(this.documents++);
    this.exemplarDocuments++;
  }

  metadata(m: MetadataEntry): void {
    this.metadataEntries.push(m);
  }

  /**
   * Builds the series' labels JSON once, checking name characters and value UTF-8 on the way;
   * returns why the series is invalid, or undefined.
   */
  private buildLabels(s: SeriesView, nameIndex: number): Rejection | undefined {
    if (s.refs && s.symbols) return this.buildLabelsFromSymbols(s, s.refs, s.symbols, nameIndex);
    const { buf, pos, count } = s;
    const l = this.labelScratch(s);
    let p = 0;
    for (let i = 0; i < count; i++) {
      const v0 = pos[4 * i + 2]!;
      const v1 = pos[4 * i + 3]!;
      // An empty value means "no such label" in Prometheus; storing it would split one series into two.
      // Its name must still be a valid name: a malformed label is refused, not silently dropped.
      if (v0 === v1) {
        if (!isName(buf, pos[4 * i]!, pos[4 * i + 1]!)) return "invalid label name";
        continue;
      }
      if (p > 0) l[p++] = 0x2c; // ,
      l[p++] = 0x22;
      // Names must be [a-zA-Z_][a-zA-Z0-9_]*, so once checked there is nothing to escape.
      p = copyName(l, p, buf, pos[4 * i]!, pos[4 * i + 1]!, 2);
      if (p < 0) return "invalid label name";
      l[p++] = 0x22;
      l[p++] = 0x3a;
      l[p++] = 0x22;
      p = writeJsonStringBody(l, p, buf, v0, v1);
      if (p < 0) return "label value not valid UTF-8";
      l[p++] = 0x22;
    }
    this.labelsEnd = p;
    l.set(METRICS_OPEN, p);
    p += METRICS_OPEN.length;
    const n0 = pos[4 * nameIndex + 2]!;
    const n1 = pos[4 * nameIndex + 3]!;
    p = copyName(l, p, buf, n0, n1, 4);
    if (p < 0) return "invalid metric name";
    this.finishLabels(l, p);
    return undefined;
  }

  /**
   * buildLabels for a remote write 2.0 series: the same bytes, but each symbol is checked and escaped once
   * per request (see SymbolMemo), so a label shared by many series costs a copy.
   */
  private buildLabelsFromSymbols(s: SeriesView, refs: Int32Array, memo: SymbolMemo, nameIndex: number): Rejection | undefined {
    const { buf, pos, count } = s;
    const l = this.labelScratch(s);
    let p = 0;
    for (let i = 0; i < count; i++) {
      const nameRef = refs[2 * i]!;
      const n0 = pos[4 * i]!;
      const n1 = pos[4 * i + 1]!;
      let nameState = memo.names[nameRef]!;
      if ((nameState & LABEL_CHECKED) === 0) {
        nameState |= LABEL_CHECKED | (isName(buf, n0, n1) ? LABEL_OK : 0);
        memo.names[nameRef] = nameState;
      }
      if ((nameState & LABEL_OK) === 0) return "invalid label name";
      const v0 = pos[4 * i + 2]!;
      const v1 = pos[4 * i + 3]!;
      if (v0 === v1) continue; // an empty value: no such label (see buildLabels)
      if (p > 0) l[p++] = 0x2c; // ,
      l[p++] = 0x22;
      p = copy(l, p, buf, n0, n1);
      l[p++] = 0x22;
      l[p++] = 0x3a;
      l[p++] = 0x22;
      const valueRef = refs[2 * i + 1]!;
      let valueState = memo.values[valueRef]!;
      if (valueState === VALUE_UNKNOWN) valueState = memoValue(memo, valueRef, buf, v0, v1);
      if (valueState === VALUE_PLAIN) p = copy(l, p, buf, v0, v1);
      else if (valueState === VALUE_ESCAPED) p = copy(l, p, memo.escaped, memo.escapedAt[valueRef]!, memo.escapedAt[valueRef]! + memo.escapedLen[valueRef]!);
      else return "label value not valid UTF-8";
      l[p++] = 0x22;
    }
    this.labelsEnd = p;
    l.set(METRICS_OPEN, p);
    p += METRICS_OPEN.length;
    const metricRef = refs[2 * nameIndex + 1]!;
    const n0 = pos[4 * nameIndex + 2]!;
    const n1 = pos[4 * nameIndex + 3]!;
    let metricState = memo.names[metricRef]!;
    if ((metricState & METRIC_CHECKED) === 0) {
      metricState |= METRIC_CHECKED | (copyName(l, p, buf, n0, n1, 4) >= 0 ? METRIC_OK : 0);
      memo.names[metricRef] = metricState;
    }
    if ((metricState & METRIC_OK) === 0) return "invalid metric name";
    p = copy(l, p, buf, n0, n1);
    this.finishLabels(l, p);
    return undefined;
  }

  /**
   * The scratch buffer for the series' labels JSON, large enough for the worst case: every label byte
   * escaped as \u00XX (6×), the metric name once more, and the framing. (Counted from the labels themselves:
   * with remote write 2.0 they live in the symbols table, outside the series message.)
   */
  private labelScratch(s: SeriesView): Uint8Array {
    const { pos, count } = s;
    let labelBytes = 0;
    for (let i = 0; i < 4 * count; i += 2) labelBytes += pos[i + 1]! - pos[i]!;
    const need = 7 * labelBytes + 6 * count + METRICS_OPEN.length + METRICS_CLOSE.length + 16;
    if (need > this.labels.length) {
      this.labels = new Uint8Array(Math.max(need, 2 * this.labels.length));
      this.peakBufferBytes = Math.max(this.peakBufferBytes, this.out.length + this.labels.length);
    }
    return this.labels;
  }

  /** Closes the labels JSON after the metric name written up to `p`, and keeps its two views. */
  private finishLabels(l: Uint8Array, p: number): void {
    l.set(METRICS_CLOSE, p);
    p += METRICS_CLOSE.length;
    this.labelsLen = p;
    this.labelsView = l.subarray(0, p);
    this.labelsOnlyView = l.subarray(0, this.labelsEnd);
  }

  /** Records a refused series (all its samples) or, with `samples`, some samples of the current series. */
  private reject(reason: string, s: SeriesView, samples?: number): void {
    const n = samples ?? s.samples + s.histograms;
    const r = this.rejected.get(reason);
    if (r) {
      if (samples === undefined || r.last !== s) r.series++;
      r.samples += n;
      r.last = s;
    } else {
      this.rejected.set(reason, { series: 1, samples: n, example: describeSeries(s), last: s });
    }
  }

  private ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.out.length) return;
    // 1.5× growth keeps peak memory (old + new buffer) near 2.5× the body instead of 3×.
    const next = new Uint8Array(Math.max(need, Math.floor(this.out.length * 1.5)));
    next.set(this.out.subarray(0, this.len));
    this.peakBufferBytes = Math.max(this.peakBufferBytes, this.out.length + next.length + this.labels.length);
    this.out = next;
  }
}

/**
 * memcpy for the short runs this writer copies (label names, values): a plain loop beats
 * `set(subarray(...))`, which allocates a view per call; long runs still go through `set`.
 */
function copy(out: Uint8Array, p: number, src: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n > 64) {
    out.set(src.subarray(start, end), p);
    return p + n;
  }
  for (let i = 0; i < n; i++) out[p + i] = src[start + i]!;
  return p + n;
}

/**
 * Checks a symbol as a label value once: VALUE_PLAIN when its bytes can be copied as they are, otherwise
 * its escaped form goes to the memo's arena (VALUE_ESCAPED), or VALUE_INVALID for bad UTF-8.
 */
function memoValue(memo: SymbolMemo, ref: number, buf: Uint8Array, v0: number, v1: number): number {
  let plain = true;
  for (let i = v0; i < v1 && plain; i++) plain = JSON_BYTE[buf[i]!] === PLAIN;
  let state = VALUE_PLAIN;
  if (!plain) {
    const arena = memo.reserve(6 * (v1 - v0));
    const end = writeJsonStringBody(arena, memo.escapedUsed, buf, v0, v1);
    if (end < 0) state = VALUE_INVALID;
    else {
      state = VALUE_ESCAPED;
      memo.escapedAt[ref] = memo.escapedUsed;
      memo.escapedLen[ref] = end - memo.escapedUsed;
      memo.escapedUsed = end;
    }
  }
  memo.values[ref] = state;
  return state;
}

/** Whether the bytes are a classic label name ([a-zA-Z_][a-zA-Z0-9_]*). */
function isName(src: Uint8Array, start: number, end: number): boolean {
  if (start === end || (NAME_BYTE[src[start]!]! & 1) === 0) return false;
  for (let i = start + 1; i < end; i++) if ((NAME_BYTE[src[i]!]! & 2) === 0) return false;
  return true;
}

/** Copies a name whose bytes must all be in `cls` of NAME_BYTE (and start with a letter or `_`); -1 if not. */
function copyName(out: Uint8Array, p: number, src: Uint8Array, start: number, end: number, cls: number): number {
  if ((NAME_BYTE[src[start]!]! & 1) === 0 && !(cls === 4 && src[start] === 0x3a)) return -1;
  for (let i = start; i < end; i++) {
    const b = src[i]!;
    if ((NAME_BYTE[b]! & cls) === 0) return -1;
    out[p++] = b;
  }
  return p;
}

/**
 * Copies UTF-8 bytes as the inside of a JSON string, escaping `"`, `\` and control characters, in one pass.
 * Returns the new position, or -1 when the bytes are not valid UTF-8 (checked only when a byte ≥ 0x80
 * shows up, so ASCII — nearly every label — costs one table lookup per byte).
 */
function writeJsonStringBody(out: Uint8Array, p: number, src: Uint8Array, start: number, end: number): number {
  let utf8Checked = false;
  for (let i = start; i < end; i++) {
    const b = src[i]!;
    const c = JSON_BYTE[b]!;
    if (c === PLAIN) {
      out[p++] = b;
      continue;
    }
    if (c === NON_ASCII) {
      if (!utf8Checked) {
        if (!isUtf8(src, start, end)) return -1;
        utf8Checked = true;
      }
      out[p++] = b;
      continue;
    }
    out[p++] = 0x5c;
    if (b === 0x22 || b === 0x5c) out[p++] = b;
    else if (b === 0x0a) out[p++] = 0x6e;
    else if (b === 0x09) out[p++] = 0x74;
    else if (b === 0x0d) out[p++] = 0x72;
    else {
      out[p++] = 0x75; // u00XX
      out[p++] = 0x30;
      out[p++] = 0x30;
      out[p++] = HEX[b >>> 4]!;
      out[p++] = HEX[b & 15]!;
    }
  }
  return p;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function isUtf8(src: Uint8Array, start: number, end: number): boolean {
  try {
    strictUtf8.decode(src.subarray(start, end));
    return true;
  } catch {
    return false;
  }
}

/** Writes a safe integer in decimal; returns the new position. */
function writeInteger(out: Uint8Array, p: number, n: number): number {
  if (n < 0) {
    out[p++] = 0x2d;
    n = -n;
  }
  if (n < 10) {
    out[p] = 0x30 + n;
    return p + 1;
  }
  let digits = 1;
  for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++;
  for (let i = p + digits - 1; i >= p; i--) {
    out[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return p + digits;
}

/** A finite double as the shortest JSON number that round-trips. */
function writeNumber(out: Uint8Array, p: number, v: number): number {
  if (Number.isSafeInteger(v)) return writeInteger(out, p, v === 0 ? 0 : v);
  const s = String(v); // ECMAScript's Number::toString is the shortest round-trip form, and valid JSON
  for (let i = 0; i < s.length; i++) out[p + i] = s.charCodeAt(i);
  return p + s.length;
}

const dec = new TextDecoder();

function writeAscii(out: Uint8Array, p: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[p + i] = text.charCodeAt(i);
  return p + text.length;
}

/**
 * An exemplar value as a JSON string: exact (the shortest round-trip form), and NaN and ±Inf, which JSON
 * numbers cannot carry, spelled as Prometheus' API spells them.
 */
function exemplarValue(v: number): string {
  return JSON.stringify(Number.isFinite(v) ? String(v) : v !== v ? "NaN" : v > 0 ? "+Inf" : "-Inf");
}

function exemplarProblem(e: ExemplarView, ts: number): string | undefined {
  if (ts === 0) return "exemplar without a timestamp";
  let chars = 0;
  for (const [n, v] of e.labels) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(n)) return "exemplar with an invalid label name";
    chars += [...n].length + [...v].length;
  }
  if (chars > EXEMPLAR_MAX_LABEL_CHARS) return `exemplar labels longer than ${EXEMPLAR_MAX_LABEL_CHARS} characters`;
  return undefined;
}

/** `{__name__="x", job="y", …}` shortened to 120 characters, for error messages. */
export function describeSeries(s: SeriesView): string {
  const parts: string[] = [];
  for (let i = 0; i < s.count; i++) {
    const name = dec.decode(s.buf.subarray(s.pos[4 * i]!, s.pos[4 * i + 1]!));
    const value = dec.decode(s.buf.subarray(s.pos[4 * i + 2]!, s.pos[4 * i + 3]!));
    parts.push(`${name}=${JSON.stringify(value)}`);
  }
  const text = `{${parts.join(", ")}}`;
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
