import { HttpError } from "../http/errors.js";

/**
 * Minimal protobuf wire reading for the hot decoders. Every failure is a 400 that says what could not be
 * read, because a malformed body must never be retried.
 */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export function malformed(what: string): never {
  throw new HttpError(400, `cannot decode protobuf: ${what}`);
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
        return lo >>> 0;
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
    return (hi | 0) * 0x100000000 + (lo >>> 0);
  }

  double(): number {
    if (this.pos + 8 > this.buf.length) malformed("truncated double");
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** The upper 32 bits of the little-endian fixed64 at `at` (to tell stale NaN from other NaNs). */
  fixed64High(at: number): number {
    return this.view.getUint32(at + 4, true);
  }

  fixed64Low(at: number): number {
    return this.view.getUint32(at, true);
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

export const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function expectWire(actual: number, expected: number, field: string): void {
  if (actual !== expected) malformed(`${field} has wire type ${actual}, expected ${expected}`);
}
