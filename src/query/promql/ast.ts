import type { Matcher } from "../matchers.js";

/** PromQL's typed AST, built from the `@prometheus-io/lezer-promql` tree (see parse.ts). */

export type ValueType = "scalar" | "vector" | "matrix" | "string";

/** `@` modifier: a fixed time in ms, or the query's start/end. */
export type At = number | "start" | "end";

export interface VectorSelector {
  kind: "vector";
  matchers: Matcher[];
  offsetMs: number;
  at: At | undefined;
  text: string;
}

export type Expr =
  | { kind: "number"; value: number }
  | { kind: "string"; value: string }
  | VectorSelector
  | { kind: "matrix"; vector: VectorSelector; rangeMs: number }
  | { kind: "subquery"; expr: Expr; rangeMs: number; stepMs: number | undefined; offsetMs: number; at: At | undefined }
  | { kind: "call"; func: string; args: Expr[] }
  | { kind: "aggregate"; op: string; expr: Expr; param: Expr | undefined; grouping: string[]; without: boolean }
  | {
      kind: "binary";
      op: string;
      lhs: Expr;
      rhs: Expr;
      bool: boolean;
      matching: VectorMatching | undefined;
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
