/**
 * A token bucket: `rate` tokens a second flow in continuously, at most `burst` are held, and a take of n
 * tokens succeeds whole or not at all (nothing is taken from a refused request, so its retry pays in full
 * and nothing else). The clock is passed in (milliseconds), so the math is tested without waiting and the
 * bucket runs the same on every runtime.
 *
 * A new bucket starts full: a sender that was idle may send `burst` at once.
 */

export type TakeResult = { ok: true } | { ok: false; waitMs: number };

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    nowMs: number,
  ) {
    if (!(rate > 0) || !(burst > 0)) throw new Error("a token bucket needs a positive rate and burst");
    this.tokens = burst;
    this.last = nowMs;
  }

  /** Tokens held at `nowMs` (refilled up to then). */
  available(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens;
  }

  /**
   * Takes n tokens, or tells how long until n will be there (Infinity when n is more than the bucket holds:
   * waiting never helps, the request must get smaller).
   */
  take(n: number, nowMs: number): TakeResult {
    this.refill(nowMs);
    if (n <= this.tokens) {
      this.tokens -= n;
      return { ok: true };
    }
    if (n > this.burst) return { ok: false, waitMs: Number.POSITIVE_INFINITY };
    return { ok: false, waitMs: ((n - this.tokens) / this.rate) * 1000 };
  }

  /** Gives back tokens taken for work that did not happen (never above the burst). */
  refund(n: number, nowMs: number): void {
    this.refill(nowMs);
    this.tokens = Math.min(this.burst, this.tokens + n);
  }

  private refill(nowMs: number): void {
    // A clock that goes back (Date.now adjusted) adds nothing rather than taking tokens away.
    const elapsed = Math.max(0, nowMs - this.last);
    this.last = Math.max(this.last, nowMs);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
  }
}
