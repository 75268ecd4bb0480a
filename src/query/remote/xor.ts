/**
 * Prometheus' XOR chunk encoding (Gorilla-style, tsdb/chunkenc/xor.go's format): a 2-byte big-endian sample
 * count, then a bit stream — first timestamp as a signed varint and first value as 64 raw bits; second
 * timestamp as an unsigned varint delta; then delta-of-delta timestamps in 1/14/17/20/64-bit buckets and
 * values XORed with the previous one, reusing the previous leading/trailing-zero window when it fits.
 * Values are handled as two 32-bit halves (JS has no 64-bit integers without BigInt on the hot path).
 */
import { BitWriter, floatBits, newXorState, type XorState, xorWrite } from "./bitstream.js";

function varintBytes(w: BitWriter, n: number, signed: boolean): void {
  let v = BigInt(n);
  if (signed) v = v >= 0n ? v << 1n : ((-v) << 1n) - 1n; // zig-zag, as Go's binary.PutVarint
  v = BigInt.asUintN(64, v);
  while (v >= 0x80n) {
    w.byte(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  w.byte(Number(v));
}

function fitsBits(x: number, n: number): boolean {
  // Go's bitRange: -((1<<(n-1))-1) <= x <= 1<<(n-1)
  const half = 2 ** (n - 1);
  return x >= -(half - 1) && x <= half;
}

export class XorChunk {
  private readonly w = new BitWriter();
  count = 0;
  minT = 0;
  maxT = 0;
  private t = 0;
  private tDelta = 0;
  private readonly v: XorState = newXorState();

  constructor() {
    this.w.write(0, 16); // sample count, filled in by bytes()
  }

  /** Appends a sample; the value as its two 32-bit halves (so NaN payloads survive). */
  appendBits(t: number, hi: number, lo: number): void {
    const w = this.w;
    if (this.count === 0) {
      varintBytes(w, t, true);
      w.write64(hi, lo, 64);
      this.v.hi = hi >>> 0;
      this.v.lo = lo >>> 0;
      this.minT = t;
    } else if (this.count === 1) {
      const delta = t - this.t;
      varintBytes(w, delta, false);
      xorWrite(w, this.v, hi, lo);
      this.tDelta = delta;
    } else {
      const delta = t - this.t;
      const dod = delta - this.tDelta;
      if (dod === 0) w.write(0, 1);
      else if (fitsBits(dod, 14)) {
        w.write(0b10, 2);
        w.write(dod & 0x3fff, 14);
      } else if (fitsBits(dod, 17)) {
        w.write(0b110, 3);
        w.write(dod & 0x1ffff, 17);
      } else if (fitsBits(dod, 20)) {
        w.write(0b1110, 4);
        w.write(dod & 0xfffff, 20);
      } else {
        w.write(0b1111, 4);
        const v = BigInt.asUintN(64, BigInt(dod));
        w.write64(Number(v >> 32n), Number(v & 0xffffffffn), 64);
      }
      xorWrite(w, this.v, hi, lo);
      this.tDelta = delta;
    }
    this.t = t;
    this.maxT = t;
    this.count++;
  }

  append(t: number, v: number): void {
    const [hi, lo] = floatBits(v);
    this.appendBits(t, hi, lo);
  }

  bytes(): Uint8Array<ArrayBuffer> {
    const out = this.w.finish();
    out[0] = this.count >>> 8;
    out[1] = this.count & 0xff;
    return out;
  }
}
