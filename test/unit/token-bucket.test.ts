import { describe, expect, it } from "vitest";
import { TokenBucket } from "../../src/util/token-bucket.js";

/** The bucket's arithmetic against a clock the test moves (milliseconds). */

describe("token bucket", () => {
  it("starts full: a burst passes at once, then the next take waits for exactly the missing tokens", () => {
    const b = new TokenBucket(100, 250, 0);
    expect(b.take(250, 0)).toEqual({ ok: true });
    expect(b.take(1, 0)).toEqual({ ok: false, waitMs: 10 });
    expect(b.take(50, 0)).toEqual({ ok: false, waitMs: 500 });
  });

  it("refills continuously at the rate, never above the burst", () => {
    const b = new TokenBucket(100, 250, 0);
    b.take(250, 0);
    expect(b.available(20)).toBeCloseTo(2, 9);
    expect(b.available(1000)).toBeCloseTo(100, 9);
    expect(b.available(60_000)).toBe(250);
  });

  it("a take succeeds after the wait it was told, and not before", () => {
    const b = new TokenBucket(7, 30, 0);
    b.take(30, 0);
    const r = b.take(20, 1000); // 7 held, 13 missing
    expect(r.ok).toBe(false);
    const waitMs = (r as { waitMs: number }).waitMs;
    expect(waitMs).toBeCloseTo((13 / 7) * 1000, 9);
    expect(b.take(20, 1000 + waitMs - 1).ok).toBe(false);
    expect(b.take(20, 1000 + waitMs + 1e-6).ok).toBe(true);
  });

  it("is all or nothing: a refused take leaves the tokens for smaller ones", () => {
    const b = new TokenBucket(10, 100, 0);
    b.take(60, 0);
    expect(b.take(50, 0).ok).toBe(false);
    expect(b.available(0)).toBe(40);
    expect(b.take(40, 0)).toEqual({ ok: true });
  });

  it("a take larger than the burst can never succeed: it is told to wait forever", () => {
    const b = new TokenBucket(10, 100, 0);
    expect(b.take(101, 0)).toEqual({ ok: false, waitMs: Number.POSITIVE_INFINITY });
    expect(b.take(101, 3_600_000)).toEqual({ ok: false, waitMs: Number.POSITIVE_INFINITY });
    expect(b.available(0)).toBe(100);
  });

  it("a refund gives tokens back up to the burst", () => {
    const b = new TokenBucket(10, 100, 0);
    b.take(80, 0);
    b.refund(80, 0);
    expect(b.available(0)).toBe(100);
    b.take(10, 0);
    b.refund(50, 0);
    expect(b.available(0)).toBe(100);
  });

  it("a clock that goes back adds nothing and takes nothing away", () => {
    const b = new TokenBucket(10, 100, 10_000);
    b.take(100, 10_000);
    expect(b.available(5_000)).toBe(0);
    expect(b.available(10_500)).toBeCloseTo(5, 9);
  });

  it("refuses a rate or burst that is not positive", () => {
    expect(() => new TokenBucket(0, 10, 0)).toThrow(/positive/);
    expect(() => new TokenBucket(10, 0, 0)).toThrow(/positive/);
  });
});
