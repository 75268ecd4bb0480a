import { STALE_HI, STALE_LO } from "../query/remote/bitstream.js";

/**
 * Reads Prometheus' XOR chunks (tsdb/chunkenc/xor.go's format, the one src/query/remote/xor.ts writes): a
 * 2-byte big-endian sample count, the first timestamp as a signed varint and value as 64 raw bits, the
 * second timestamp as an unsigned varint delta, then delta-of-delta timestamps in 1/14/17/20/64-bit buckets
 * and XORed values. Values are kept as two 32-bit halves until the end, so the staleness marker's NaN
 * payload is recognised bit for bit.
 */

/** Where decoded samples go: appended in time order; `stale` gets the index of each staleness marker. */
export interface SampleSink {
  timestamps: number[];
  values: number[];
  stale: Set<number>;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/**
 * Bits of a chunk, most significant first. Reads look at the four bytes from the current one (bytes past
 * the end read as 0), so a read costs a few shifts whatever its width; running past the end is caught by
 * the caller's check of `overrun()` after each sample rather than on every read.
 */
class BitReader {
  /** Position in bits. */
  pos = 0;
  constructor(private readonly b: Uint8Array) {}

  /** Whether reads went past the last byte. */
  overrun(): boolean {
    return this.pos > this.b.length * 8;
  }

  bit(): number {
    const p = this.pos++;
    return ((this.b[p >>> 3] ?? 0) >>> (7 - (p & 7))) & 1;
  }

  /** The next `n` (≤ 25) bits. */
  private small(n: number): number {
    const p = this.pos;
    const i = p >>> 3;
    const b = this.b;
    const word = (((b[i] ?? 0) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0)) >>> 0;
    this.pos = p + n;
    return ((word << (p & 7)) >>> 0) >>> (32 - n);
  }

  /** The next `n` (≤ 32) bits as an unsigned number. */
  read(n: number): number {
    if (n === 0) return 0;
    if (n <= 25) return this.small(n);
    const hi = this.small(n - 16);
    return hi * 65536 + this.small(16);
  }

  /** An unsigned varint (Go's binary.Uvarint), exact up to 2^53. */
  uvarint(): number {
    let v = 0;
    let scale = 1;
    for (let k = 0; k < 10; k++) {
      const b = this.small(8);
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 128;
    }
    throw new ChunkError("varint too long");
  }
}

export class ChunkError extends Error {}

/**
 * Appends the samples of one XOR chunk with `from ≤ t ≤ to` to `into`. Stops reading at the first sample
 * after `to` (samples are in time order).
 */
export function readXorChunk(data: Uint8Array, from: number, to: number, into: SampleSink): void {
  if (data.length < 2) throw new ChunkError("chunk shorter than its header");
  const n = (data[0]! << 8) | data[1]!;
  if (n === 0) return;
  const r = new BitReader(data);
  r.pos = 16;
  let t = 0;
  let delta = 0;
  let hi = 0;
  let lo = 0;
  let leading = 0;
  let trailing = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0) {
      const u = r.uvarint();
      t = u % 2 === 1 ? -(u + 1) / 2 : u / 2; // zig-zag
      hi = r.read(32);
      lo = r.read(32);
    } else {
      if (i === 1) delta = r.uvarint();
      else delta += readDod(r);
      t += delta;
      // chunkenc's readValue: 0 = same value; 10 = meaningful bits inside the previous window; 11 = new window.
      if (r.bit() === 1) {
        if (r.bit() === 1) {
          leading = r.read(5);
          let sig = r.read(6);
          if (sig === 0) sig = 64;
          trailing = 64 - leading - sig;
        }
        const sig = 64 - leading - trailing;
        const h = sig > 32 ? r.read(sig - 32) : 0;
        const l = r.read(sig > 32 ? 32 : sig);
        let dHi: number;
        let dLo: number;
        if (trailing === 0) {
          dHi = h;
          dLo = l;
        } else if (trailing >= 32) {
          dHi = (l << (trailing - 32)) >>> 0;
          dLo = 0;
        } else {
          dHi = ((h << trailing) | (l >>> (32 - trailing))) >>> 0;
          dLo = (l << trailing) >>> 0;
        }
        hi = (hi ^ dHi) >>> 0;
        lo = (lo ^ dLo) >>> 0;
      }
    }
    if (r.overrun()) throw new ChunkError("chunk ends early");
    if (t < from) continue;
    if (t > to) return;
    if (hi === STALE_HI && lo === STALE_LO) {
      into.stale.add(into.timestamps.length);
      into.timestamps.push(t);
      into.values.push(Number.NaN);
      continue;
    }
    u32[1] = hi;
    u32[0] = lo;
    into.timestamps.push(t);
    into.values.push(f64[0]!);
  }
}

/** A delta of deltas: prefix 0 → 0, 10 → 14 bits, 110 → 17, 1110 → 20, 1111 → 64 (two's complement). */
function readDod(r: BitReader): number {
  if (r.bit() === 0) return 0;
  let size: number;
  if (r.bit() === 0) size = 14;
  else if (r.bit() === 0) size = 17;
  else if (r.bit() === 0) size = 20;
  else {
    const hi = r.read(32) | 0;
    return hi * 4294967296 + r.read(32);
  }
  const v = r.read(size);
  // Go's bitRange: values above 2^(size-1) are negative.
  return v > 2 ** (size - 1) ? v - 2 ** size : v;
}
