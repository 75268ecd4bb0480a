/**
 * Prometheus' XOR chunk encoding (Gorilla-style, tsdb/chunkenc/xor.go's format): a 2-byte big-endian sample
 * count, then a bit stream — first timestamp as a signed varint and first value as 64 raw bits; second
 * timestamp as an unsigned varint delta; then delta-of-delta timestamps in 1/14/17/20/64-bit buckets and
 * values XORed with the previous one, reusing the previous leading/trailing-zero window when it fits.
 * Values are handled as two 32-bit halves (JS has no 64-bit integers without BigInt on the hot path).
 */

class BitWriter {
  bytes = new Uint8Array(64);
  /** Bits written so far. */
  bits = 0;

  private ensure(extraBits: number): void {
    const need = (this.bits + extraBits + 7) >>> 3;
    if (need <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(need, this.bytes.length * 2));
    next.set(this.bytes);
    this.bytes = next;
  }

  /** Writes the low `n` (≤ 32) bits of `v`, most significant first. */
  write(v: number, n: number): void {
    this.ensure(n);
    for (let i = n - 1; i >= 0; i--) {
      if ((v >>> i) & 1) this.bytes[this.bits >>> 3]! |= 0x80 >>> (this.bits & 7);
      this.bits++;
    }
  }

  /** Writes the low `n` (≤ 64) bits of the 64-bit value hi:lo. */
  write64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      this.write(hi, n - 32);
      this.write(lo, 32);
    } else this.write(lo, n);
  }

  byte(b: number): void {
    this.write(b, 8);
  }
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function clz64(hi: number, lo: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}
function ctz32(x: number): number {
  return x === 0 ? 32 : 31 - Math.clz32(x & -x);
}
function ctz64(hi: number, lo: number): number {
  return lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
}

/** hi:lo >>> s for 0 ≤ s < 64, as [hi, lo]. */
function shr64(hi: number, lo: number, s: number): [number, number] {
  if (s === 0) return [hi >>> 0, lo >>> 0];
  if (s >= 32) return [0, hi >>> (s - 32)];
  return [hi >>> s, ((lo >>> s) | (hi << (32 - s))) >>> 0];
}

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
  private vHi = 0;
  private vLo = 0;
  private leading = 0xff;
  private trailing = 0;

  constructor() {
    this.w.write(0, 16); // sample count, filled in by bytes()
  }

  /** Appends a sample; the value as its two 32-bit halves (so NaN payloads survive). */
  appendBits(t: number, hi: number, lo: number): void {
    const w = this.w;
    if (this.count === 0) {
      varintBytes(w, t, true);
      w.write64(hi, lo, 64);
      this.minT = t;
    } else if (this.count === 1) {
      const delta = t - this.t;
      varintBytes(w, delta, false);
      this.writeValue(hi, lo);
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
      this.writeValue(hi, lo);
      this.tDelta = delta;
    }
    this.t = t;
    this.maxT = t;
    this.vHi = hi;
    this.vLo = lo;
    this.count++;
  }

  append(t: number, v: number): void {
    f64[0] = v;
    this.appendBits(t, u32[1]!, u32[0]!);
  }

  private writeValue(hi: number, lo: number): void {
    const w = this.w;
    const dHi = (hi ^ this.vHi) >>> 0;
    const dLo = (lo ^ this.vLo) >>> 0;
    if (dHi === 0 && dLo === 0) {
      w.write(0, 1);
      return;
    }
    w.write(1, 1);
    let leading = clz64(dHi, dLo);
    const trailing = ctz64(dHi, dLo);
    if (leading >= 32) leading = 31; // the count is stored in 5 bits
    if (this.leading !== 0xff && leading >= this.leading && trailing >= this.trailing) {
      w.write(0, 1);
      const [sh, sl] = shr64(dHi, dLo, this.trailing);
      w.write64(sh, sl, 64 - this.leading - this.trailing);
      return;
    }
    this.leading = leading;
    this.trailing = trailing;
    w.write(1, 1);
    w.write(leading, 5);
    const sig = 64 - leading - trailing;
    w.write(sig & 63, 6); // 64 significant bits are written as 0; readers know
    const [sh, sl] = shr64(dHi, dLo, trailing);
    w.write64(sh, sl, sig);
  }

  bytes(): Uint8Array<ArrayBuffer> {
    const out = this.w.bytes.slice(0, (this.w.bits + 7) >>> 3);
    out[0] = this.count >>> 8;
    out[1] = this.count & 0xff;
    return out;
  }
}
