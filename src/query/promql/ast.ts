import type { Matcher } from "../matchers.js";

/** PromQL's typed AST, built from the `@prometheus-io/lezer-promql` tree (see parse.ts). */

export type ValueType = "scalar" | "vector" | "matrix" | "string";

/** `@` modifier: a fixed time in ms, or the query's start/end. */
export type At = number | "start" | "end";

export interface VectorSelector {
  kind: "vector";
  matchers: Matcher[];
  offsetMs: number;
  /** An offset written as a duration expression: offsetMs holds its value once the query resolves it. */
  offsetExpr?: DurationExpr;
  at: At | undefined;
  text: string;
  /**
   * Prometheus 3.16's extended range selectors (PROMGATE_PROMQL_EXPERIMENTAL=promql-extended-range-selectors):
   * `anchored` takes the range's bounds from real samples (the last one at or before the start, within the
   * lookback), `smoothed` interpolates at the bounds (and, on an instant selector, at the evaluation time).
   */
  modifier?: "anchored" | "smoothed";
}

/**
 * A duration expression (Prometheus 3.16; promgate: PROMGATE_PROMQL_EXPERIMENTAL=duration-expressions):
 * `[5m + step()]`, `offset -(1m)`, `[min_of(1h, range()):]`. Positions are offsets in the query text, as
 * Prometheus' PositionRange, which its evaluation errors quote.
 */
export type DurationExpr =
  | { kind: "literal"; seconds: number; duration: boolean; start: number; end: number }
  | {
      kind: "op";
      op: "step" | "range" | "min_of" | "max_of" | "+" | "-" | "*" | "/" | "%" | "^";
      /** Absent for step(), range() and the unary forms. */
      lhs?: DurationExpr;
      rhs?: DurationExpr;
      /** Written in parentheses (printed so). */
      wrapped: boolean;
      start: number;
      end: number;
    };

export type Expr =
  | { kind: "number"; value: number }
  | { kind: "string"; value: string }
  | VectorSelector
  | { kind: "matrix"; vector: VectorSelector; rangeMs: number; rangeExpr?: DurationExpr }
  | {
      kind: "subquery";
      expr: Expr;
      rangeMs: number;
      stepMs: number | undefined;
      offsetMs: number;
      at: At | undefined;
      rangeExpr?: DurationExpr;
      stepExpr?: DurationExpr;
      offsetExpr?: DurationExpr;
    }
  | { kind: "call"; func: string; args: Expr[] }
  | { kind: "aggregate"; op: string; expr: Expr; param: Expr | undefined; grouping: string[]; without: boolean }
  | {
      kind: "binary";
      op: string;
      lhs: Expr;
      rhs: Expr;
      bool: boolean;
      matching: VectorMatching | undefined;
      /**
       * fill / fill_left / fill_right (PROMGATE_PROMQL_EXPERIMENTAL=promql-binop-fill-modifiers): the value a
       * missing left (`lhs`) or right (`rhs`) operand takes for a match group found on the other side only.
       */
      fill?: { lhs?: number; rhs?: number };
    }
  | { kind: "unary"; op: "-" | "+"; expr: Expr }
  | { kind: "paren"; expr: Expr };

export interface VectorMatching {
  /** true: on(labels); false: ignoring(labels). */
  on: boolean;
  labels: string[];
  card: "one-to-one" | "many-to-one" | "one-to-many";
  include: string[];
}
