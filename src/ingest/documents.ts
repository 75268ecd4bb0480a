import type { Limits } from "../config.js";
import type { MetadataEntry, SeriesView, WriteVisitor } from "./decode.js";
import { type Rejection, validateSeries } from "./validate.js";

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
const HEX = enc.encode("0123456789abcdef");

export interface RejectedSeries {
  series: number;
  samples: number;
  /** The first rejected series, shortened, to help the operator find it. */
  example: string;
}

export class BulkBodyWriter implements WriteVisitor {
  private out: Uint8Array<ArrayBuffer>;
  private len = 0;
  /** `"labels":{…}` body of the current series (without the braces). */
  private labels = new Uint8Array(1024);
  private labelsLen = 0;
  /** End of the labels part inside `labels`; after it comes the metric name. */
  private labelsEnd = 0;
  documents = 0;
  readonly rejected = new Map<Rejection, RejectedSeries>();
  readonly metadataEntries: MetadataEntry[] = [];

  constructor(
    private readonly limits: Limits,
    sizeHint: number,
  ) {
    this.out = new Uint8Array(Math.max(4096, sizeHint));
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
    this.buildLabels(s, verdict);
    // Reserve room for all of this series' documents at once: one capacity check per series.
    const perDoc = ACTION_AND_TS.length + 21 + LABELS_OPEN.length + this.labelsLen + 48 + MAX_NUMBER_CHARS;
    this.ensure(s.samples * perDoc);
    return true;
  }

  sample(timestampMs: number, value: number, stale: boolean): void {
    let out = this.out;
    let p = this.len;
    out.set(ACTION_AND_TS, p);
    p = writeInteger(out, p + ACTION_AND_TS.length, timestampMs);
    out.set(LABELS_OPEN, p);
    p += LABELS_OPEN.length;
    if (Number.isFinite(value)) {
      out.set(this.labelsLen === this.labels.length ? this.labels : this.labels.subarray(0, this.labelsLen), p);
      p += this.labelsLen;
      p = writeNumber(out, p, value);
      out.set(DOC_CLOSE, p);
      p += DOC_CLOSE.length;
    } else {
      const special = SPECIAL[stale ? "stale" : value !== value ? "NaN" : value > 0 ? "+Inf" : "-Inf"]!;
      out.set(this.labels.subarray(0, this.labelsEnd), p);
      p += this.labelsEnd;
      out.set(special, p);
      p += special.length;
    }
    this.len = p;
    this.documents++;
  }

  metadata(m: MetadataEntry): void {
    this.metadataEntries.push(m);
  }

  private buildLabels(s: SeriesView, nameIndex: number): void {
    const { buf, pos, count } = s;
    // Upper bound: every byte escaped as \u00XX (6×) plus quotes, colon and comma per label.
    let need = METRICS_OPEN.length + METRICS_CLOSE.length;
    for (let i = 0; i < count; i++) need += 6 * (pos[4 * i + 3]! - pos[4 * i + 2]!) + (pos[4 * i + 1]! - pos[4 * i]!) + 6;
    need += pos[4 * nameIndex + 3]! - pos[4 * nameIndex + 2]!;
    if (need > this.labels.length) this.labels = new Uint8Array(Math.max(need, 2 * this.labels.length));
    const l = this.labels;
    let p = 0;
    for (let i = 0; i < count; i++) {
      const v0 = pos[4 * i + 2]!;
      const v1 = pos[4 * i + 3]!;
      // An empty value means "no such label" in Prometheus; storing it would split one series into two.
      if (v0 === v1) continue;
      if (p > 0) l[p++] = 0x2c; // ,
      l[p++] = 0x22;
      // Names are validated as [a-zA-Z_][a-zA-Z0-9_]*: nothing to escape.
      l.set(buf.subarray(pos[4 * i]!, pos[4 * i + 1]!), p);
      p += pos[4 * i + 1]! - pos[4 * i]!;
      l[p++] = 0x22;
      l[p++] = 0x3a;
      l[p++] = 0x22;
      p = writeJsonStringBody(l, p, buf, v0, v1);
      l[p++] = 0x22;
    }
    this.labelsEnd = p;
    l.set(METRICS_OPEN, p);
    p += METRICS_OPEN.length;
    const n0 = pos[4 * nameIndex + 2]!;
    const n1 = pos[4 * nameIndex + 3]!;
    l.set(buf.subarray(n0, n1), p); // metric names are validated ASCII without quotes
    p += n1 - n0;
    l.set(METRICS_CLOSE, p);
    p += METRICS_CLOSE.length;
    this.labelsLen = p;
  }

  private reject(reason: Rejection, s: SeriesView): void {
    const r = this.rejected.get(reason);
    if (r) {
      r.series++;
      r.samples += s.samples;
    } else {
      this.rejected.set(reason, { series: 1, samples: s.samples, example: describeSeries(s) });
    }
  }

  private ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.out.length) return;
    // 1.5× growth keeps peak memory (old + new buffer) near 2.5× the body instead of 3×.
    const next = new Uint8Array(Math.max(need, Math.floor(this.out.length * 1.5)));
    next.set(this.out.subarray(0, this.len));
    this.out = next;
  }
}

/** Copies UTF-8 bytes as the inside of a JSON string, escaping `"`, `\` and control characters. */
function writeJsonStringBody(out: Uint8Array, p: number, src: Uint8Array, start: number, end: number): number {
  let run = start;
  for (let i = start; i < end; i++) {
    const b = src[i]!;
    if (b >= 0x20 && b !== 0x22 && b !== 0x5c) continue;
    if (i > run) {
      out.set(src.subarray(run, i), p);
      p += i - run;
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
    run = i + 1;
  }
  if (end > run) {
    out.set(src.subarray(run, end), p);
    p += end - run;
  }
  return p;
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
