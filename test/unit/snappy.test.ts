import SnappyJS from "snappyjs";
import { describe, expect, it } from "vitest";
import { PromgateError } from "../../src/errors.js";
import { statusOf } from "../../src/http/errors.js";
import { snappyDecodedLength, snappyDecompress } from "../../src/ingest/snappy.js";
import { FIXTURES, fixture } from "../helpers/payload.js";

const MiB = 1024 * 1024;

function expectPromgateError(fn: () => unknown, status: number, text: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PromgateError);
    expect(statusOf((e as PromgateError).kind)).toBe(status);
    expect((e as PromgateError).message).toMatch(text);
    return;
  }
  throw new Error("expected an error");
}

describe("snappy block decoder", () => {
  it.each(FIXTURES)("decodes the captured Prometheus body %s exactly like snappyjs", (name) => {
    const body = fixture(name);
    expect(snappyDecompress(body, 32 * MiB)).toEqual(SnappyJS.uncompress(body));
  });

  it("round-trips random, repetitive and overlapping-copy data", () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (const size of [0, 1, 59, 60, 61, 255, 256, 65_536, 300_000]) {
      const data = new Uint8Array(size);
      for (let i = 0; i < size; i++) data[i] = rnd() < 0.5 ? i % 7 : Math.floor(rnd() * 256);
      expect(snappyDecompress(SnappyJS.compress(data), 32 * MiB)).toEqual(data);
    }
    const runs = new Uint8Array(100_000).fill(0x41); // one literal then copies with offset 1 < length
    expect(snappyDecompress(SnappyJS.compress(runs), 32 * MiB)).toEqual(runs);
  });

  it("refuses a decompression bomb from its preamble, before allocating", () => {
    // Declares 4 GiB - 1 and carries 3 bytes: allocating first would throw RangeError or exhaust memory.
    const bomb = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x41]);
    expect(snappyDecodedLength(bomb).length).toBe(0xffffffff);
    expectPromgateError(() => snappyDecompress(bomb, 32 * MiB), 413, /decoded body of 4294967295 bytes exceeds maxDecompressedBytes 33554432/);
  });

  it("rejects corrupt streams with a 400 that says what is wrong", () => {
    const good = SnappyJS.compress(new TextEncoder().encode("hello hello hello hello hello"));
    expectPromgateError(() => snappyDecompress(good.subarray(0, good.length - 3), MiB), 400, /cannot decode snappy/);
    expectPromgateError(() => snappyDecompress(new Uint8Array([]), MiB), 400, /invalid length preamble/);
    expectPromgateError(() => snappyDecompress(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), MiB), 400, /preamble/);
    // Declares 10 bytes, has a 3-byte literal: too short.
    expectPromgateError(() => snappyDecompress(new Uint8Array([10, 0x08, 0x61, 0x62, 0x63]), MiB), 400, /declared 10/);
    // A copy whose offset points before the start of the output.
    expectPromgateError(() => snappyDecompress(new Uint8Array([8, 0x00, 0x61, 0x01 | (0 << 2), 0x05]), MiB), 400, /offset/);
    // A literal longer than the declared output.
    expectPromgateError(() => snappyDecompress(new Uint8Array([1, 0x04, 0x61, 0x62]), MiB), 400, /declared length/);
    // Plain text (someone forgot to compress): never a crash.
    expectPromgateError(() => snappyDecompress(new TextEncoder().encode("not snappy at all"), MiB), 400, /snappy/);
  });
});
