/**
 * Go's math.Log2 and math.Exp2 as Prometheus (amd64) computes them, so that quantile and fraction
 * estimates interpolated on a log scale agree to the last bit: JavaScript's Math.log2 and 2 ** x round
 * differently in the last place for some inputs. The algorithms and constants are those of Go's math
 * package (themselves from FreeBSD's libm).
 */

const view = new DataView(new ArrayBuffer(8));
const MIN_NORMAL = 2.2250738585072014e-308;

/** Go's math.Frexp: x = frac · 2^exp with |frac| in [0.5, 1). */
function frexp(x: number): [number, number] {
  if (x === 0 || !Number.isFinite(x)) return [x, 0];
  let exp = 0;
  if (Math.abs(x) < MIN_NORMAL) {
    x *= 2 ** 52;
    exp = -52;
  }
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  exp += ((hi >>> 20) & 0x7ff) - 1022;
  view.setUint32(0, (hi & ~(0x7ff << 20)) | (1022 << 20));
  return [view.getFloat64(0), exp];
}

/** Go's math.Log. */
function log(x: number): number {
  const Ln2Hi = 6.9314718036912381649e-1;
  const Ln2Lo = 1.90821492927058770002e-10;
  const L1 = 6.66666666666673513e-1;
  const L2 = 3.999999999940941908e-1;
  const L3 = 2.857142874366239149e-1;
  const L4 = 2.222219843214978396e-1;
  const L5 = 1.818357216161805012e-1;
  const L6 = 1.531383769920937332e-1;
  const L7 = 1.479819860511658591e-1;
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x < 0) return Number.NaN;
  if (x === 0) return -Infinity;
  let [f1, ki] = frexp(x);
  if (f1 < Math.SQRT2 / 2) {
    f1 *= 2;
    ki--;
  }
  const f = f1 - 1;
  const k = ki;
  const s = f / (2 + f);
  const s2 = s * s;
  const s4 = s2 * s2;
  const t1 = s2 * (L1 + s4 * (L3 + s4 * (L5 + s4 * L7)));
  const t2 = s4 * (L2 + s4 * (L4 + s4 * L6));
  const R = t1 + t2;
  const hfsq = 0.5 * f * f;
  return k * Ln2Hi - (hfsq - (s * (hfsq + R) + k * Ln2Lo) - f);
}

/** Go's math.Log2 (exact for powers of two). */
export function goLog2(x: number): number {
  const [frac, exp] = frexp(x);
  if (frac === 0.5) return exp - 1;
  return log(frac) * (1 / Math.LN2) + exp;
}

/** Go's math.Exp2. */
export function goExp2(x: number): number {
  const Ln2Hi = 6.9314718036912381649e-1;
  const Ln2Lo = 1.90821492927058770002e-10;
  if (Number.isNaN(x)) return x;
  if (x > 1.0239999999999999e3) return Infinity;
  if (x < -1.074e3) return 0;
  const k = x > 0 ? Math.trunc(x + 0.5) : x < 0 ? Math.trunc(x - 0.5) : 0;
  const t = x - k;
  const hi = t * Ln2Hi;
  const lo = -t * Ln2Lo;
  const P1 = 1.66666666666666657415e-1;
  const P2 = -2.77777777770155933842e-3;
  const P3 = 6.61375632143793436117e-5;
  const P4 = -1.6533902205465251539e-6;
  const P5 = 4.13813679705723846039e-8;
  const r = hi - lo;
  const tt = r * r;
  const c = r - tt * (P1 + tt * (P2 + tt * (P3 + tt * (P4 + tt * P5))));
  const y = 1 - (lo - (r * c) / (2 - c) - hi);
  return ldexp(y, k);
}

/** y · 2^k (y near 1), in two steps where 2^k alone would overflow or underflow. */
function ldexp(y: number, k: number): number {
  if (k > 1000) return y * 2 ** 1000 * 2 ** (k - 1000);
  if (k < -1000) return y * 2 ** (k + 1000) * 2 ** -1000;
  return y * 2 ** k;
}
