import type { At, Expr } from "../promql/ast.js";

/**
 * The latest sample time a query can read when evaluated up to `tmaxMs`: what decides whether a piece's
 * answer can still change. Offsets move a selector's window (a negative offset reads after the step), `@`
 * pins it anywhere, subqueries nest both. Lookback and ranges only reach back, so they do not count.
 */
export function latestRead(e: Expr, tmaxMs: number, anchor: { startMs: number; endMs: number }): number {
  const pin = (at: At | undefined): number | undefined => (at === undefined ? undefined : at === "start" ? anchor.startMs : at === "end" ? anchor.endMs : at);
  const walk = (x: Expr, tmax: number): number => {
    switch (x.kind) {
      case "number":
      case "string":
        return -Infinity;
      case "vector":
        return (pin(x.at) ?? tmax) - x.offsetMs;
      case "matrix":
        return (pin(x.vector.at) ?? tmax) - x.vector.offsetMs;
      case "subquery":
        return walk(x.expr, (pin(x.at) ?? tmax) - x.offsetMs);
      case "call":
        return Math.max(-Infinity, ...x.args.map((a) => walk(a, tmax)));
      case "aggregate":
        return Math.max(walk(x.expr, tmax), x.param ? walk(x.param, tmax) : -Infinity);
      case "binary":
        return Math.max(walk(x.lhs, tmax), walk(x.rhs, tmax));
      case "unary":
      case "paren":
        return walk(x.expr, tmax);
    }
  };
  return walk(e, tmaxMs);
}

/**
 * Whether every step's value is independent of the rest of the range, so pieces may be evaluated apart.
 * Not so for `info()`: Prometheus fetches the info series once for the whole range, shifted by the first
 * selector's offset and `@`, and a step only sees info samples inside that fetched range (info.ts), so a
 * step's value depends on where the range ends. Queries with `info()` are evaluated whole and not cached.
 */
export function splittable(e: Expr): boolean {
  switch (e.kind) {
    case "number":
    case "string":
    case "vector":
    case "matrix":
      return true;
    case "call":
      return e.func !== "info" && e.args.every(splittable);
    case "aggregate":
      return splittable(e.expr) && (e.param === undefined || splittable(e.param));
    case "binary":
      return splittable(e.lhs) && splittable(e.rhs);
    case "subquery":
    case "unary":
    case "paren":
      return splittable(e.expr);
  }
}
