/**
 * Bit-level writing shared by Prometheus' chunk encodings (tsdb/chunkenc's bstream, xorWrite, varbit):
 * bits go most significant first; 64-bit quantities travel as two 32-bit halves so the hot path needs no
 * BigInt and NaN payloads (the staleness marker) survive exactly.
 */

export class BitWriter {
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
    while (n > 0) {
      const free = 8 - (this.bits & 7);
      const take = free < n ? free : n;
      const part = (v >>> (n - take)) & ((1 << take) - 1);
      this.bytes[this.bits >>> 3]! |= part << (free - take);
      this.bits += take;
      n -= take;
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

  /** The bytes written so far (the last one zero-padded). */
  finish(): Uint8Array<ArrayBuffer> {
    return this.bytes.slice(0, (this.bits + 7) >>> 3);
  }
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** A double's bits as [hi, lo]. */
export function floatBits(v: number): [number, number] {
  f64[0] = v;
  return [u32[1]!, u32[0]!];
}

/** Prometheus' staleness marker, 0x7ff0000000000002, as halves. */
export const STALE_HI = 0x7ff00000;
export const STALE_LO = 0x00000002;

function clz64(hi: number, lo: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}
function ctz32(x: number): number {
  return x === 0 ? 32 : 31 - Math.clz32(x & -x);
}
function ctz64(hi: number, lo: number): number {
  return lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
}

/** Writes the low `n` bits of hi:lo >>> s (0 ≤ s < 64). */
function writeShifted(w: BitWriter, hi: number, lo: number, s: number, n: number): void {
  if (s >= 32) w.write64(0, hi >>> (s - 32), n);
  else if (s === 0) w.write64(hi, lo, n);
  else w.write64(hi >>> s, ((lo >>> s) | (hi << (32 - s))) >>> 0, n);
}

/** The previous value of a Gorilla-XORed stream and its leading/trailing-zero window (0xff: none yet). */
export interface XorState {
  hi: number;
  lo: number;
  leading: number;
  trailing: number;
}

export const newXorState = (hi = 0, lo = 0): XorState => ({ hi, lo, leading: 0xff, trailing: 0 });

/**
 * chunkenc's xorWrite: a 0 bit for an unchanged value; else 1, then 0 and the meaningful bits inside the
 * previous window when they fit, or 1, 5 bits of leading zeros (capped at 31), 6 bits of significant-bit
 * count (64 written as 0) and those bits. Updates `st` to the new value.
 */
export function xorWrite(w: BitWriter, st: XorState, hi: number, lo: number): void {
  const dHi = (hi ^ st.hi) >>> 0;
  const dLo = (lo ^ st.lo) >>> 0;
  st.hi = hi >>> 0;
  st.lo = lo >>> 0;
  if (dHi === 0 && dLo === 0) {
    w.write(0, 1);
    return;
  }
  w.write(1, 1);
  let leading = clz64(dHi, dLo);
  const trailing = ctz64(dHi, dLo);
  if (leading >= 32) leading = 31;
  if (st.leading !== 0xff && leading >= st.leading && trailing >= st.trailing) {
    w.write(0, 1);
    writeShifted(w, dHi, dLo, st.trailing, 64 - st.leading - st.trailing);
    return;
  }
  st.leading = leading;
  st.trailing = trailing;
  w.write(1, 1);
  w.write(leading, 5);
  const sig = 64 - leading - trailing;
  w.write(sig & 63, 6);
  writeShifted(w, dHi, dLo, trailing, sig);
}

/** xorWrite of a double's bits (the common case: no NaN payload to keep). */
export function xorWriteFloat(w: BitWriter, st: XorState, v: number): void {
  f64[0] = v;
  xorWrite(w, st, u32[1]!, u32[0]!);
}

const TWO32 = 2 ** 32;

/** The low `n` bits of the two's complement of the integer `v` (|v| ≤ 2^53), for n ≤ 64. */
function writeSigned(w: BitWriter, v: number, n: number): void {
  if (n <= 32) {
    w.write(v < 0 ? v + 2 ** n : v, n);
    return;
  }
  const lo = ((v % TWO32) + TWO32) % TWO32;
  const hi = (v - lo) / TWO32;
  w.write(hi >>> 0, n - 32);
  w.write(lo, 32);
}

/** Varbit buckets: prefix of k ones and a zero (k = 0…7) or eight ones, then that many value bits. */
const VARBIT_WIDTHS = [3, 6, 9, 12, 18, 25, 56];

/** Each bucket's prefix (k+1 ones then a zero: 0b10, 0b110, … 0b11111110) and its range. */
const VARBIT_PREFIX = VARBIT_WIDTHS.map((_, k) => ((1 << (k + 1)) - 1) << 1);
const VARBIT_INT_MIN = VARBIT_WIDTHS.map((n) => 1 - 2 ** (n - 1));
const VARBIT_INT_MAX = VARBIT_WIDTHS.map((n) => 2 ** (n - 1));
const VARBIT_UINT_MAX = VARBIT_WIDTHS.map((n) => 2 ** n - 1);

function putVarbitIn(w: BitWriter, v: number, k: number): void {
  if (k === VARBIT_WIDTHS.length) {
    w.write(0xff, 8);
    writeSigned(w, v, 64);
    return;
  }
  w.write(VARBIT_PREFIX[k]!, k + 2);
  writeSigned(w, v, VARBIT_WIDTHS[k]!);
}

/** chunkenc's putVarbitInt for an integer (safe range): bucket n holds -(2^(n-1) - 1) … 2^(n-1). */
export function putVarbitInt(w: BitWriter, v: number): void {
  if (v === 0) {
    w.write(0, 1);
    return;
  }
  let k = 0;
  while (k < VARBIT_WIDTHS.length && (v < VARBIT_INT_MIN[k]! || v > VARBIT_INT_MAX[k]!)) k++;
  putVarbitIn(w, v, k);
}

/** chunkenc's putVarbitUint for a non-negative integer (safe range): bucket n holds 0 … 2^n - 1. */
export function putVarbitUint(w: BitWriter, v: number): void {
  if (v === 0) {
    w.write(0, 1);
    return;
  }
  let k = 0;
  while (k < VARBIT_WIDTHS.length && v > VARBIT_UINT_MAX[k]!) k++;
  putVarbitIn(w, v, k);
}
