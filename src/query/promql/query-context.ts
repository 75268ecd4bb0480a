import { PromgateError } from "../../errors.js";
import type { DurationExpr, Expr } from "./ast.js";
import { samePosition } from "./parse.js";

/**
 * What depends on the query's own start, end and step, settled when it starts, as in Prometheus 3.16:
 * - duration expressions (promql/durations.go): `step()` is the query's step and `range()` its end minus its
 *   start (both 0 for an instant query), in seconds; the result must be finite, positive where a range or
 *   step goes, and fit a Go time.Duration;
 * - the functions start(), end(), range() and step() (foldQueryContextFunctions), which become numbers.
 */

export interface QueryTimes {
  stepMs: number;
  rangeMs: number;
}

export interface QueryWindow {
  startMs: number;
  endMs: number;
  stepMs: number;
}

const QUERY_FUNCTIONS = new Set(["start", "end", "range", "step"]);

/** start(), end(), range() and step() as numbers of seconds (step() is 0 when start equals end). */
function queryFunctionValue(func: string, q: QueryWindow): number {
  if (func === "start") return q.startMs / 1000;
  if (func === "end") return q.endMs / 1000;
  if (func === "range") return (q.endMs - q.startMs) / 1000;
  return q.startMs === q.endMs ? 0 : q.stepMs / 1000;
}

/**
 * Replaces every call of start(), end(), range() and step() by its number, in place (the tree is the
 * query's own). Inside subqueries too: they are the query's, not the subquery's.
 */
export function foldQueryFunctions(e: Expr, q: QueryWindow): Expr {
  if (e.kind === "call" && QUERY_FUNCTIONS.has(e.func)) {
    const folded: Expr = { kind: "number", value: queryFunctionValue(e.func, q) };
    samePosition(e, folded);
    return folded;
  }
  switch (e.kind) {
    case "call":
      e.args = e.args.map((a) => foldQueryFunctions(a, q));
      break;
    case "aggregate":
      e.expr = foldQueryFunctions(e.expr, q);
      if (e.param) e.param = foldQueryFunctions(e.param, q);
      break;
    case "binary":
      e.lhs = foldQueryFunctions(e.lhs, q);
      e.rhs = foldQueryFunctions(e.rhs, q);
      break;
    case "unary":
    case "paren":
    case "subquery":
      e.expr = foldQueryFunctions(e.expr, q);
      break;
    default:
      break;
  }
  return e;
}

/** The text Prometheus' errors quote for an expression: its byte offsets, `start:end`. */
const at = (d: DurationExpr): string => `${d.start}:${d.end}`;

/** Go's math.Pow where JavaScript's `**` differs: 1 to any power and -1 to ±Inf are 1. */
function goPow(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && !Number.isFinite(y) && !Number.isNaN(y)) return 1;
  return x ** y;
}

export function durationSeconds(d: DurationExpr, q: QueryTimes): number {
  if (d.kind === "literal") return d.seconds;
  const lhs = d.lhs ? durationSeconds(d.lhs, q) : 0;
  const rhs = d.rhs ? durationSeconds(d.rhs, q) : 0;
  switch (d.op) {
    case "step":
      return q.stepMs / 1000;
    case "range":
      return q.rangeMs / 1000;
    case "min_of":
      return Math.min(lhs, rhs);
    case "max_of":
      return Math.max(lhs, rhs);
    case "+":
      return d.lhs ? lhs + rhs : rhs;
    case "-":
      return d.lhs ? lhs - rhs : -rhs;
    case "*":
      return lhs * rhs;
    case "/":
      if (rhs === 0) throw new PromgateError("unprocessable", `${at(d)}: division by zero`);
      return lhs / rhs;
    case "%":
      if (rhs === 0) throw new PromgateError("unprocessable", `${at(d)}: modulo by zero`);
      return lhs % rhs;
    case "^":
      return goPow(lhs, rhs);
  }
}

/** A duration expression's value in ms, checked as Prometheus' calculateDuration checks it. */
function durationMs(d: DurationExpr, q: QueryTimes, allowNegative: boolean): number {
  const seconds = durationSeconds(d, q);
  if (!Number.isFinite(seconds)) throw new PromgateError("unprocessable", `${at(d)}: duration is NaN or infinite`);
  if (seconds <= 0 && !allowNegative) throw new PromgateError("unprocessable", `${at(d)}: duration must be greater than 0`);
  if (Math.abs(seconds) > 2 ** 63 / 1e9) throw new PromgateError("unprocessable", `${at(d)}: duration is out of range`);
  return Math.trunc(seconds * 1000);
}

/**
 * Sets the ranges, steps and offsets written as duration expressions to their values for this query. The
 * tree is the query's own (parsed for it), so it is updated in place.
 */
export function resolveDurations(e: Expr, q: QueryTimes): void {
  switch (e.kind) {
    case "vector":
      if (e.offsetExpr) e.offsetMs = durationMs(e.offsetExpr, q, true);
      return;
    case "matrix":
      // Parents before children, as Prometheus walks the tree: the first error is the one it reports.
      if (e.rangeExpr) e.rangeMs = durationMs(e.rangeExpr, q, false);
      resolveDurations(e.vector, q);
      return;
    case "subquery":
      if (e.offsetExpr) e.offsetMs = durationMs(e.offsetExpr, q, true);
      if (e.stepExpr) e.stepMs = durationMs(e.stepExpr, q, false);
      if (e.rangeExpr) e.rangeMs = durationMs(e.rangeExpr, q, false);
      resolveDurations(e.expr, q);
      return;
    case "call":
      for (const a of e.args) resolveDurations(a, q);
      return;
    case "aggregate":
      if (e.param) resolveDurations(e.param, q);
      resolveDurations(e.expr, q);
      return;
    case "binary":
      resolveDurations(e.lhs, q);
      resolveDurations(e.rhs, q);
      return;
    case "unary":
    case "paren":
      resolveDurations(e.expr, q);
      return;
    default:
      return;
  }
}
