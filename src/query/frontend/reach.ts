import type { At, Expr } from "../promql/ast.js";
import { LOOKBACK_MS } from "../promql/plan.js";
import { extendedReach } from "../promql/extended-range.js";

/**
 * The latest sample time a query can read when evaluated up to `tmaxMs`: what decides whether a piece's
 * answer can still change. Offsets move a selector's window (a negative offset reads after the step), `@`
 * pins it anywhere, subqueries nest both. Lookback and ranges only reach back, so they do not count (but for
 * `smoothed`, which reads the lookback after the time too).
 */
export function latestRead(e: Expr, tmaxMs: number, anchor: { startMs: number; endMs: number }): number {
  const pin = (at: At | undefined): number | undefined => (at === undefined ? undefined : at === "start" ? anchor.startMs : at === "end" ? anchor.endMs : at);
  const walk = (x: Expr, tmax: number): number => {
    switch (x.kind) {
      case "number":
      case "string":
        return -Infinity;
      // smoothed selectors also read the lookback after their time (extended-range.ts).
      case "vector":
        return (pin(x.at) ?? tmax) - x.offsetMs + extendedReach(x, LOOKBACK_MS).after;
      case "matrix":
        return (pin(x.vector.at) ?? tmax) - x.vector.offsetMs + extendedReach(x.vector, LOOKBACK_MS).after;
      case "subquery":
        return walk(x.expr, (pin(x.at) ?? tmax) - x.offsetMs);
      default:
        return Math.max(-Infinity, ...children(x).map((c) => walk(c, tmax)));
    }
  };
  return walk(e, tmaxMs);
}

/** The expressions directly inside `e`. */
function children(e: Expr): Expr[] {
  switch (e.kind) {
    case "number":
    case "string":
    case "vector":
    case "matrix":
      return [];
    case "call":
      return e.args;
    case "aggregate":
      return e.param ? [e.param, e.expr] : [e.expr];
    case "binary":
      return [e.lhs, e.rhs];
    case "subquery":
    case "unary":
    case "paren":
      return [e.expr];
  }
}

/** Whether `e` or any expression inside it satisfies `test`. */
const anywhere = (e: Expr, test: (x: Expr) => boolean): boolean => test(e) || children(e).some((c) => anywhere(c, test));

/**
 * Whether every step's value is independent of the rest of the range, so pieces may be evaluated apart.
 * Not so for `info()`: which info series Prometheus fetches depends on the input series of the whole range
 * (info.ts), so queries with `info()` are evaluated whole and not cached; nor for duration expressions and
 * start(), end(), range(), step().
 */
export const splittable = (e: Expr): boolean => !anywhere(e, (x) => (x.kind === "call" && WHOLE_RANGE_FUNCTIONS.has(x.func)) || hasDurationExpr(x));

/** info(), and the functions of the query itself (experimental), whose values depend on the whole range. */
const WHOLE_RANGE_FUNCTIONS = new Set(["info", "start", "end", "range", "step"]);

/**
 * Whether `e` itself has a range, step or offset written as a duration expression (experimental): its value
 * is only set when the query starts, and `range()` depends on the whole range, so such queries run whole.
 */
function hasDurationExpr(e: Expr): boolean {
  if (e.kind === "vector") return e.offsetExpr !== undefined;
  if (e.kind === "matrix") return e.rangeExpr !== undefined || e.vector.offsetExpr !== undefined;
  if (e.kind === "subquery") return e.rangeExpr !== undefined || e.stepExpr !== undefined || e.offsetExpr !== undefined;
  return false;
}

/** Whether the query has `@ start()` or `@ end()` anywhere (then the whole range's start or end is part of the answer). */
export function usesAnchor(e: Expr): boolean {
  const anchored = (at: At | undefined) => at === "start" || at === "end";
  return anywhere(e, (x) => (x.kind === "vector" || x.kind === "subquery" ? anchored(x.at) : x.kind === "matrix" ? anchored(x.vector.at) : false));
}
