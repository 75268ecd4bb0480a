import { PromgateError, tooLarge } from "../errors.js";

/**
 * Snappy block format (not the framed format), as remote_write uses it.
 *
 * Why our own decoder instead of snappyjs' `uncompress`: that one neither checks that copies stay inside the
 * declared output length nor that the stream fills it, so truncated or hostile input decodes "successfully"
 * into zeros; and its byte-at-a-time copies are the slowest part of ingest. This one validates every tag,
 * bounds every copy, and uses `set`/`copyWithin` for the bulk of the bytes.
 */

/** Reads the varint preamble (the decoded length) without touching the rest. */
export function snappyDecodedLength(src: Uint8Array): { length: number; headerBytes: number } {
  let length = 0;
  for (let i = 0, shift = 0; i < 5 && i < src.length; i++, shift += 7) {
    const b = src[i]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      if (length > 0xffffffff) break;
      return { length, headerBytes: i + 1 };
    }
  }
  throw new PromgateError("invalid", "cannot decode snappy: invalid length preamble");
}

/**
 * Decompresses `src`, refusing before any allocation when the declared length exceeds `maxDecoded`
 * (a decompression bomb costs us only the preamble read).
 */
export function snappyDecompress(src: Uint8Array, maxDecoded: number): Uint8Array {
  const { length, headerBytes } = snappyDecodedLength(src);
  if (length > maxDecoded) {
    throw tooLarge(`decoded body of ${length} bytes exceeds maxDecompressedBytes ${maxDecoded}`);
  }
  const out = new Uint8Array(length);
  let pos = headerBytes;
  let o = 0;
  const end = src.length;
  while (pos < end) {
    const tag = src[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const extra = len - 59; // 1..4 little-endian length bytes follow
        if (pos + extra > end) return corrupt("literal length past end of input");
        len = 0;
        for (let k = 0; k < extra; k++) len += src[pos + k]! * 2 ** (8 * k);
        pos += extra;
      }
      len += 1;
      if (pos + len > end) return corrupt("literal past end of input");
      if (o + len > length) return corrupt("literal past declared length");
      if (len > 16) out.set(src.subarray(pos, pos + len), o);
      else for (let k = 0; k < len; k++) out[o + k] = src[pos + k]!; // a view per short literal costs more
      pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (pos >= end) return corrupt("copy tag past end of input");
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | src[pos++]!;
    } else if (kind === 2) {
      if (pos + 2 > end) return corrupt("copy tag past end of input");
      len = (tag >>> 2) + 1;
      offset = src[pos]! | (src[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > end) return corrupt("copy tag past end of input");
      len = (tag >>> 2) + 1;
      offset = (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16)) + src[pos + 3]! * 0x1000000;
      pos += 4;
    }
    if (offset === 0 || offset > o) return corrupt("copy offset outside decoded data");
    if (o + len > length) return corrupt("copy past declared length");
    if (offset >= len && len > 16) {
      out.copyWithin(o, o - offset, o - offset + len);
      o += len;
    } else {
      // Short copies, and overlapping ones (offset < len repeats a pattern), go byte by byte.
      for (let k = 0; k < len; k++, o++) out[o] = out[o - offset]!;
    }
  }
  if (o !== length) return corrupt(`decoded ${o} bytes, preamble declared ${length}`);
  return out;
}

function corrupt(what: string): never {
  throw new PromgateError("invalid", `cannot decode snappy: ${what}`);
}
