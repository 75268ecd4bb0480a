import type { Matcher } from "../matchers.js";
import type { At, DurationExpr, Expr, VectorSelector } from "./ast.js";
import { isDurationLiteral } from "./parse.js";
import { AGGREGATIONS } from "./signatures.js";
import { formatValue } from "./values.js";
import { goG } from "./annotations.js";
import { goQuote } from "./quote.js";

/**
 * The AST back to text, as Prometheus prints it: `exprString` is its `String()` (one line, canonical
 * spacing, matchers sorted, durations normalised: 90s → 1m30s), `formatExpr` its `Pretty(0)` used by
 * /api/v1/format_query: a node longer than 100 bytes is split over lines, children indented by two spaces.
 */

const MAX_LINE = 100;
const encoder = new TextEncoder();
const tooLong = (s: string): boolean => encoder.encode(s).length > MAX_LINE;
const indent = (level: number): string => "  ".repeat(level);

const LEGACY_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const labelName = (n: string): string => (LEGACY_NAME.test(n) ? n : goQuote(n));

/** Prometheus' model.Duration String(): largest units first; years and weeks only when exact. */
export function durationString(ms: number): string {
  if (ms === 0) return "0s";
  let left = ms;
  let out = "";
  const units: [string, number, boolean][] = [["y", 31_536_000_000, true], ["w", 604_800_000, true], ["d", 86_400_000, false], ["h", 3_600_000, false], ["m", 60_000, false], ["s", 1000, false], ["ms", 1, false]];
  for (const [unit, mult, exact] of units) {
    if (exact && left % mult !== 0) continue;
    const v = Math.floor(left / mult);
    if (v > 0) {
      out += `${v}${unit}`;
      left -= v * mult;
    }
  }
  return out;
}

/** A number literal as Prometheus prints it: a duration as written so, otherwise Go's 'f' form. */
function numberString(seconds: number, duration: boolean): string {
  if (!duration) return formatValue(seconds);
  const ms = Math.trunc(Math.trunc(Math.abs(seconds) * 1e9) / 1e6);
  return seconds < 0 ? `-${durationString(ms)}` : durationString(ms);
}

/** Prometheus' DurationExpr.String(). */
export function durationExprString(d: DurationExpr): string {
  if (d.kind === "literal") return numberString(d.seconds, d.duration);
  const side = (x: DurationExpr | undefined): string => (x ? durationExprString(x) : "");
  let s: string;
  if (d.op === "step" || d.op === "range") s = `${d.op}()`;
  else if (d.op === "min_of" || d.op === "max_of") s = `${d.op}(${side(d.lhs)}, ${side(d.rhs)})`;
  else if (!d.lhs) s = d.op === "-" ? `-${side(d.rhs)}` : side(d.rhs);
  else s = `${side(d.lhs)} ${d.op} ${side(d.rhs)}`;
  return d.wrapped ? `(${s})` : s;
}

function atOffset(at: At | undefined, offsetMs: number, offsetExpr?: DurationExpr, modifier = ""): string {
  let s = "";
  if (typeof at === "number") s += ` @ ${(at / 1000).toFixed(3)}`;
  else if (at === "start") s += " @ start()";
  else if (at === "end") s += " @ end()";
  s += modifier;
  if (offsetExpr) s += ` offset ${durationExprString(offsetExpr)}`;
  else if (offsetMs > 0) s += ` offset ${durationString(offsetMs)}`;
  else if (offsetMs < 0) s += ` offset -${durationString(-offsetMs)}`;
  return s;
}

const matcherString = (m: Matcher): string => `${labelName(m.name)}${m.type}${goQuote(m.value)}`;

/** The selector without its @/offset: the name outside the braces when it was written there. */
function selectorBody(sel: VectorSelector): string {
  const named = !sel.text.trimStart().startsWith("{") ? sel.matchers.find((m) => m.name === "__name__" && m.type === "=") : undefined;
  const rest = sel.matchers.filter((m) => m !== named).map(matcherString).sort();
  const name = named?.value ?? "";
  return rest.length === 0 ? name : `${name}{${rest.join(",")}}`;
}

function matchingString(e: Extract<Expr, { kind: "binary" }>): string {
  const m = e.matching;
  let s = "";
  if (m && (m.on || m.labels.length > 0 || m.card !== "one-to-one")) s += ` ${m.on ? "on" : "ignoring"} (${m.labels.join(", ")})`;
  if (m && m.card !== "one-to-one") s += ` group_${m.card === "many-to-one" ? "left" : "right"} (${m.include.join(", ")})`;
  const { lhs, rhs } = e.fill ?? {};
  // One fill() when both sides take the same value (NaN never equals itself, as in Go); Go's %v for the values (its %g).
  if (lhs !== undefined && lhs === rhs) s += ` fill (${goG(lhs)})`;
  else {
    if (lhs !== undefined) s += ` fill_left (${goG(lhs)})`;
    if (rhs !== undefined) s += ` fill_right (${goG(rhs)})`;
  }
  return s;
}

/** ` anchored` / ` smoothed`, printed after `@` and before `offset`. */
const modifierString = (sel: VectorSelector): string => (sel.modifier ? ` ${sel.modifier}` : "");

function aggregatePrefix(e: Extract<Expr, { kind: "aggregate" }>): string {
  if (e.without) return `${e.op} without (${e.grouping.map(labelName).join(", ")}) `;
  if (e.grouping.length > 0) return `${e.op} by (${e.grouping.map(labelName).join(", ")}) `;
  return e.op;
}

export function exprString(e: Expr): string {
  switch (e.kind) {
    case "number":
      return numberString(e.value, isDurationLiteral(e));
    case "string":
      return goQuote(e.value);
    case "vector":
      return selectorBody(e) + atOffset(e.at, e.offsetMs, e.offsetExpr, modifierString(e));
    case "matrix": {
      const range = e.rangeExpr ? durationExprString(e.rangeExpr) : durationString(e.rangeMs);
      // On a range the modifier comes before `@` (Prometheus' MatrixSelector.String).
      return `${selectorBody(e.vector)}[${range}]${modifierString(e.vector)}${atOffset(e.vector.at, e.vector.offsetMs, e.vector.offsetExpr)}`;
    }
    case "subquery":
      return `${exprString(e.expr)}${subquerySuffix(e)}`;
    case "call":
      return `${e.func}(${e.args.map(exprString).join(", ")})`;
    case "aggregate": {
      const param = AGGREGATIONS[e.op]?.param && e.param ? `${exprString(e.param)}, ` : "";
      return `${aggregatePrefix(e)}(${param}${exprString(e.expr)})`;
    }
    case "binary":
      return `${exprString(e.lhs)} ${e.op}${e.bool ? " bool" : ""}${matchingString(e)} ${exprString(e.rhs)}`;
    case "unary":
      return `${e.op}${exprString(e.expr)}`;
    case "paren":
      return `(${exprString(e.expr)})`;
  }
}

function subquerySuffix(e: Extract<Expr, { kind: "subquery" }>): string {
  const step = e.stepExpr ? durationExprString(e.stepExpr) : e.stepMs ? durationString(e.stepMs) : "";
  const range = e.rangeExpr ? durationExprString(e.rangeExpr) : durationString(e.rangeMs);
  return `[${range}:${step}]${atOffset(e.at, e.offsetMs, e.offsetExpr)}`;
}

/** Prometheus' Pretty(level). Its quirks are kept: a subquery short enough is printed without indentation. */
export function pretty(e: Expr, level: number): string {
  const flat = exprString(e);
  const split = tooLong(flat);
  switch (e.kind) {
    case "aggregate": {
      if (!split) return indent(level) + flat;
      let s = `${indent(level)}${aggregatePrefix(e)}(\n`;
      if (AGGREGATIONS[e.op]?.param && e.param) s += `${pretty(e.param, level + 1)},\n`;
      return `${s}${pretty(e.expr, level + 1)}\n${indent(level)})`;
    }
    case "binary":
      if (!split) return indent(level) + flat;
      return `${pretty(e.lhs, level + 1)}\n${indent(level)}${e.op}${e.bool ? " bool" : ""}${matchingString(e)}\n${pretty(e.rhs, level + 1)}`;
    case "call":
      if (!split) return indent(level) + flat;
      return `${indent(level)}${e.func}(\n${e.args.map((a) => pretty(a, level + 1)).join(",\n")}\n${indent(level)})`;
    case "paren":
      if (!split) return indent(level) + flat;
      return `${indent(level)}(\n${pretty(e.expr, level + 1)}\n${indent(level)})`;
    case "subquery":
      if (!split) return flat;
      return `${pretty(e.expr, level)}${subquerySuffix(e)}`;
    case "unary":
      return `${indent(level)}${e.op}${pretty(e.expr, level).trim()}`;
    default:
      return indent(level) + flat;
  }
}

export const formatExpr = (e: Expr): string => pretty(e, 0);
