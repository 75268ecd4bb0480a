/**
 * Reading side of the streamed remote-read format, written for the tests from Prometheus' chunk format
 * (independently of src/query/remote): frames (uvarint length, big-endian CRC32C, ChunkedReadResponse) and
 * XOR chunks. Used to check our encoder and to compare with what Prometheus itself serves.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { type ChunkedReadResponse, ChunkedReadResponseSchema } from "../../src/gen/prometheus/remote_pb.js";

export interface DecodedSample {
  t: number;
  /** The value's 64 bits as hex, so NaN payloads (stale markers) compare exactly. */
  bits: string;
}

class BitReader {
  private pos = 0; // in bits
  constructor(private readonly b: Uint8Array) {}
  bit(): number {
    if (this.pos >= this.b.length * 8) throw new Error("chunk ends early");
    const v = (this.b[this.pos >>> 3]! >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return v;
  }
  bits(n: number): bigint {
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 1n) | BigInt(this.bit());
    return v;
  }
  byte(): number {
    return Number(this.bits(8));
  }
  uvarint(): bigint {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = this.byte();
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
  }
}

export function decodeXorChunk(data: Uint8Array): DecodedSample[] {
  const n = (data[0]! << 8) | data[1]!;
  const r = new BitReader(data.subarray(2));
  const out: DecodedSample[] = [];
  let t = 0n;
  let tDelta = 0n;
  let v = 0n;
  let leading = 0n;
  let trailing = 0n;
  const readValue = () => {
    if (r.bit() === 0) return;
    if (r.bit() === 1) {
      leading = r.bits(5);
      let sig = r.bits(6);
      if (sig === 0n) sig = 64n;
      trailing = 64n - leading - sig;
    }
    const sig = 64n - leading - trailing;
    v ^= r.bits(Number(sig)) << trailing;
  };
  for (let i = 0; i < n; i++) {
    if (i === 0) {
      const u = r.uvarint();
      t = u & 1n ? -((u + 1n) >> 1n) : u >> 1n;
      v = r.bits(64);
    } else if (i === 1) {
      tDelta = r.uvarint();
      t += tDelta;
      readValue();
    } else {
      let d = 0;
      for (let k = 0; k < 4; k++) {
        d <<= 1;
        if (r.bit() === 0) break;
        d |= 1;
      }
      const sz = { 0: 0, 2: 14, 6: 17, 14: 20, 15: 64 }[d];
      if (sz === undefined) throw new Error(`bad dod prefix ${d}`);
      let dod = 0n;
      if (sz !== 0) {
        dod = r.bits(sz);
        if (sz !== 64 && dod > 1n << BigInt(sz - 1)) dod -= 1n << BigInt(sz);
        if (sz === 64) dod = BigInt.asIntN(64, dod);
      }
      tDelta += dod;
      t += tDelta;
      readValue();
    }
    out.push({ t: Number(t), bits: v.toString(16).padStart(16, "0") });
  }
  return out;
}

const CASTAGNOLI = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CASTAGNOLI[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Splits a streamed body into frames, checking each CRC. */
export function decodeFrames(body: Uint8Array): ChunkedReadResponse[] {
  const out: ChunkedReadResponse[] = [];
  let p = 0;
  while (p < body.length) {
    let len = 0;
    for (let shift = 0; ; shift += 7) {
      const b = body[p++]!;
      len += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
    }
    const sum = new DataView(body.buffer, body.byteOffset + p, 4).getUint32(0, false);
    const msg = body.subarray(p + 4, p + 4 + len);
    if (msg.length !== len) throw new Error("frame truncated");
    if (crc(msg) !== sum) throw new Error("frame CRC32C mismatch");
    out.push(fromBinary(ChunkedReadResponseSchema, msg));
    p += 4 + len;
  }
  return out;
}

/** Series key (sorted labels) → samples, merged over frames and chunks. */
export function samplesBySeries(frames: ChunkedReadResponse[]): Map<string, DecodedSample[]> {
  const m = new Map<string, DecodedSample[]>();
  for (const f of frames) {
    for (const cs of f.chunkedSeries) {
      const key = JSON.stringify(cs.labels.map((l) => [l.name, l.value]).sort());
      const list = m.get(key) ?? [];
      for (const c of cs.chunks) {
        const samples = decodeXorChunk(c.data);
        if (samples[0]?.t !== Number(c.minTimeMs) || samples.at(-1)?.t !== Number(c.maxTimeMs)) {
          throw new Error("chunk min/max time disagree with its samples");
        }
        list.push(...samples);
      }
      m.set(key, list);
    }
  }
  return m;
}

export function bitsOf(v: number): string {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, v);
  return b.getBigUint64(0).toString(16).padStart(16, "0");
}
