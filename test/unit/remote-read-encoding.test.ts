import { describe, expect, it } from "vitest";
import { crc32c } from "../../src/query/remote/crc32c.js";
import { XorChunk } from "../../src/query/remote/xor.js";
import { bitsOf, decodeXorChunk } from "../helpers/chunks.js";

describe("CRC32C", () => {
  it("matches the standard check values", () => {
    expect(crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });
});

describe("XOR chunks", () => {
  const roundTrip = (samples: [number, number][]) => {
    const c = new XorChunk();
    for (const [t, v] of samples) c.append(t, v);
    expect(c.count).toBe(samples.length);
    return decodeXorChunk(c.bytes());
  };

  it("round-trips regular scrapes, jitter, resets and every delta-of-delta bucket", () => {
    let seed = 1;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const samples: [number, number][] = [];
    let t = 1767268800000;
    const gaps = [15000, 15000, 15001, 14999, 15000, 30000, 15000, 1, 200000, 15000, 9_000_000, 15000, 15000, 5];
    for (let i = 0; i < 120; i++) {
      t += gaps[i % gaps.length]!;
      const v = i % 17 === 0 ? 0 : i % 5 === 0 ? rnd() * 1e9 : Math.floor(i / 3) * 1.5;
      samples.push([t, v]);
    }
    expect(roundTrip(samples)).toEqual(samples.map(([t, v]) => ({ t, bits: bitsOf(v) })));
  });

  it("keeps special values bit for bit: -0, ±Inf, NaN, extremes and the staleness marker", () => {
    const values = [1, -0, Infinity, -Infinity, Number.NaN, Number.MAX_VALUE, Number.MIN_VALUE, -1e-300, 42, 42];
    const c = new XorChunk();
    values.forEach((v, i) => c.append(1000 * i - 5000, v)); // negative timestamps too
    c.appendBits(10_000, 0x7ff00000, 0x00000002);
    const got = decodeXorChunk(c.bytes());
    expect(got.map((s) => s.bits)).toEqual([...values.map(bitsOf), "7ff0000000000002"]);
    expect(got.map((s) => s.t)).toEqual([...values.map((_, i) => 1000 * i - 5000), 10_000]);
  });

  it("handles a single sample and two samples", () => {
    expect(roundTrip([[5, 1.5]])).toEqual([{ t: 5, bits: bitsOf(1.5) }]);
    expect(roundTrip([[5, 1.5], [6, 2.5]])).toEqual([{ t: 5, bits: bitsOf(1.5) }, { t: 6, bits: bitsOf(2.5) }]);
  });
});
