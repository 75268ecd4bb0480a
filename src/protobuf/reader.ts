import { PromgateError } from "../errors.js";

/**
 * Minimal protobuf wire reading for the hot decoders. Every failure is a 400 that says what could not be
 * read, because a malformed body must never be retried.
 */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export function malformed(what: string): never {
  throw new PromgateError("invalid", `cannot decode protobuf: ${what}`);
}

export class WireReader {
  pos = 0;
  private readonly view: DataView;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** A varint of at most 32 significant bits (tags, lengths, enums). */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    // Tags and most lengths fit one or two bytes: answer those without the general loop.
    if (pos + 1 < buf.length) {
      const b0 = buf[pos]!;
      if (b0 < 0x80) {
        this.pos = pos + 1;
        return b0;
      }
      const b1 = buf[pos + 1]!;
      if (b1 < 0x80) {
        this.pos = pos + 2;
        return (b0 & 0x7f) | (b1 << 7);
      }
    }
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= buf.length) malformed("truncated varint");
      const b = buf[pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        this.pos = pos;
        return result > 0xffffffff ? malformed("varint overflows 32 bits") : result;
      }
    }
    return malformed("varint overflows 32 bits");
  }

  /**
   * An int64 varint as a JS number: exact within ±2^53, which covers every millisecond timestamp.
   * Negative values arrive as 10-byte two's complement.
   */
  int64(): number {
    this.varint64();
    return (this.hi | 0) * 0x100000000 + (this.lo >>> 0);
  }

  /** A uint64 varint (histogram counts): exact up to 2^53. */
  uint64(): number {
    this.varint64();
    return (this.hi >>> 0) * 0x100000000 + (this.lo >>> 0);
  }

  /** A zigzag-encoded sint64 or sint32 varint (histogram bucket deltas, schema, span offsets). */
  sint64(): number {
    this.varint64();
    const u = (this.hi >>> 0) * 0x100000000 + (this.lo >>> 0);
    // (u >>> 1) ^ -(u & 1), in doubles: exact within ±2^53.
    return this.lo & 1 ? -(u - 1) / 2 - 1 : u / 2;
  }

  /** Low and high 32 bits of the last varint64 read. */
  private lo = 0;
  private hi = 0;

  private varint64(): void {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let b = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= buf.length) malformed("truncated varint");
      b = buf[pos++]!;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        this.lo = lo;
        this.hi = 0;
        return;
      }
    }
    if (pos >= buf.length) malformed("truncated varint");
    b = buf[pos++]!;
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >> 4;
    for (let shift = 3; b >= 0x80; shift += 7) {
      if (shift > 31) malformed("varint longer than 10 bytes");
      if (pos >= buf.length) malformed("truncated varint");
      b = buf[pos++]!;
      hi |= (b & 0x7f) << shift;
    }
    this.pos = pos;
    this.lo = lo;
    this.hi = hi;
  }

  double(): number {
    if (this.pos + 8 > this.buf.length) malformed("truncated double");
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /**
   * Whether the double at `at` is Prometheus' staleness marker (0x7ff0000000000002). Any other NaN is an
   * ordinary value, so the bits decide, not isNaN.
   */
  isStaleNaN(at: number): boolean {
    return this.view.getUint32(at + 4, true) === 0x7ff00000 && this.view.getUint32(at, true) === 0x00000002;
  }

  /** Reads a length prefix and returns the end offset of the bytes it covers. */
  lengthEnd(): number {
    const len = this.uint32();
    const end = this.pos + len;
    if (end > this.buf.length) malformed("length-delimited field runs past the end");
    return end;
  }

  string(): string {
    const end = this.lengthEnd();
    const s = utf8.decode(this.buf.subarray(this.pos, end));
    this.pos = end;
    return s;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.int64();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.buf.length) malformed("truncated fixed64");
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.lengthEnd();
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.buf.length) malformed("truncated fixed32");
        this.pos += 4;
        return;
      default:
        malformed(`unsupported wire type ${wireType}`);
    }
  }
}

/** Doubles the capacity of a position array, keeping its contents (the decoders' scratch space). */
export function grow(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

export const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function expectWire(actual: number, expected: number, field: string): void {
  if (actual !== expected) malformed(`${field} has wire type ${actual}, expected ${expected}`);
}
