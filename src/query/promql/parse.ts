import { parser } from "@prometheus-io/lezer-promql";
import type { SyntaxNode } from "@lezer/common";
import { PromgateError } from "../../errors.js";
import type { Matcher, MatchType } from "../matchers.js";
import { labelRegex, RegexError } from "../regex/re2.js";
import { isValidUtf8, unquote, unquoteBytes } from "../selector.js";
import { lineColumn } from "./annotations.js";
import { goQuote } from "./quote.js";
import { MAX_NESTING, tooDeepAt } from "./nesting.js";
import type { At, DurationExpr, Expr, ValueType, VectorMatching, VectorSelector } from "./ast.js";
import { AGGREGATIONS, FUNCTIONS } from "./signatures.js";
import { durationMs, type Literal, numberValue, scanLiterals } from "./literals.js";

/**
 * PromQL text → typed AST, with Prometheus' type rules. The grammar is the Prometheus project's own
 * (`@prometheus-io/lezer-promql`); errors are `bad_data` with the character position, as Prometheus reports
 * them.
 */

export class ParseError extends PromgateError {
  constructor(
    readonly reason: string,
    readonly pos = 0,
    query?: string,
  ) {
    // Positions become line:column once the query text is known (parsePromQL), as Prometheus' ParseErr.
    super("invalid", `${query === undefined ? `1:${pos + 1}` : query === "" ? "unknown position" : lineColumn(query, pos)}: parse error: ${reason}`);
  }
}

const MATCH_OPS: Record<string, MatchType> = { EqlSingle: "=", Neq: "!=", EqlRegex: "=~", NeqRegex: "!~" };
const BIN_OPS: Record<string, string> = {
  Add: "+", Sub: "-", Mul: "*", Div: "/", Mod: "%", Pow: "^", Atan2: "atan2",
  Eql: "==", Neq: "!=", Gtr: ">", Lss: "<", Gte: ">=", Lte: "<=",
  And: "and", Or: "or", Unless: "unless",
};
const COMPARISON = new Set(["==", "!=", ">", "<", ">=", "<="]);
const SET_OPS = new Set(["and", "or", "unless"]);

/** A duration literal's milliseconds, with Prometheus' message when it is not one. */
function literalDurationMs(text: string, pos: number): number {
  try {
    return durationMs(text);
  } catch (e) {
    throw new ParseError((e as Error).message, pos);
  }
}

/** A number literal's value, with Prometheus' message when strconv refuses it. */
function literalNumber(text: string, pos: number): number {
  try {
    return numberValue(text);
  } catch (e) {
    throw new ParseError((e as Error).message, pos);
  }
}

/** Go's `%f` for the @ modifier's bounds error. */
const goFixed = (v: number): string => {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  // toFixed turns to exponent form from 1e21; such floats are integers, written out in full by Go.
  return Math.abs(v) >= 1e21 ? `${BigInt(v)}.000000` : v.toFixed(6);
};

/**
 * The errors Prometheus' lexer reports before its grammar runs (unbalanced brackets), with its texts and
 * positions. Only consulted once the grammar has found the query invalid.
 */
function lexerError(text: string): ParseError | undefined {
  let parens = 0;
  let bracket = false;
  let brace = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === "`") {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === "\\" && c !== "`") i++;
      continue;
    }
    if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    if (c === "(") parens++;
    else if (c === ")") {
      if (parens === 0) return new ParseError("unexpected right parenthesis ')'", i + 1);
      parens--;
    } else if (c === "[") bracket = true;
    else if (c === "]") {
      if (!bracket) return new ParseError("unexpected right bracket ']'", i + 1);
      bracket = false;
    } else if (c === "{") brace = true;
    else if (c === "}") {
      if (!brace) return new ParseError("unexpected character: '}'", i);
      brace = false;
    }
  }
  if (brace) return new ParseError("unexpected end of input inside braces", text.length);
  if (parens > 0) return new ParseError("unclosed left parenthesis", text.length);
  if (bracket) return new ParseError("unclosed left bracket", text.length);
  return undefined;
}

/** A regex matcher must compile, as Prometheus checks while parsing ("error parsing regexp: …"). */
function checkRegexp(value: string, pos: number): void {
  try {
    labelRegex(value);
  } catch (e) {
    if (e instanceof RegexError) throw new ParseError(e.message, pos);
    throw e;
  }
}

export function typeOf(e: Expr): ValueType {
  switch (e.kind) {
    case "number":
      return "scalar";
    case "string":
      return "string";
    case "vector":
    case "aggregate":
      return "vector";
    case "matrix":
    case "subquery":
      return "matrix";
    case "call":
      return FUNCTIONS[e.func]!.ret;
    case "binary":
      return typeOf(e.lhs) === "scalar" && typeOf(e.rhs) === "scalar" ? "scalar" : "vector";
    case "unary":
    case "paren":
      return typeOf(e.expr);
  }
}

/** Where each node starts in the query text (for annotations and errors, as Prometheus' PositionRange). */
const positions = new WeakMap<Expr, number>();
export const positionOf = (e: Expr): number | undefined => positions.get(e);
/** A node that takes another's place (a folded call) keeps its position. */
export function samePosition(from: Expr, to: Expr): void {
  const p = positions.get(from);
  if (p !== undefined) positions.set(to, p);
}
/** Numbers written as durations (`1m`), which Prometheus prints back as durations. */
const durationLiterals = new WeakSet<Expr>();
export const isDurationLiteral = (e: Expr): boolean => durationLiterals.has(e);

/** Seconds to the engine's milliseconds as Prometheus converts them: rounded to ns, then truncated to ms. */
const secondsToMs = (v: number): number => Math.trunc(Math.round(v * 1e9) / 1e6);
/** Prometheus' durationLiteralOutOfRange: beyond what a time.Duration holds. */
const outOfRange = (seconds: number): boolean => Math.abs(seconds) > 2 ** 63 / 1e9;

/**
 * Prometheus 3.16 syntax promgate keeps behind PROMGATE_PROMQL_EXPERIMENTAL, by Prometheus' feature flag
 * names (`--enable-feature=…`); duration-expressions and query-functions are promgate's earlier names of
 * promql-duration-expr and of the query functions within promql-experimental-functions.
 */
export const EXPERIMENTAL_SYNTAX = [
  "promql-experimental-functions",
  "promql-duration-expr",
  "promql-extended-range-selectors",
  "promql-binop-fill-modifiers",
  "type-and-unit-labels",
  "duration-expressions",
  "query-functions",
] as const;
export type ExperimentalSyntax = (typeof EXPERIMENTAL_SYNTAX)[number];

/** What a list of PROMGATE_PROMQL_EXPERIMENTAL names turns on, each name with the names it implies. */
export function experimentalSyntax(names: readonly string[] | undefined): Set<ExperimentalSyntax> {
  const on = new Set(EXPERIMENTAL_SYNTAX.filter((f) => names?.includes(f)));
  if (on.has("promql-duration-expr")) on.add("duration-expressions");
  if (on.has("promql-experimental-functions")) on.add("query-functions");
  return on;
}

export interface ParseOptions {
  experimental?: ReadonlySet<ExperimentalSyntax>;
}

const DURATION_OPS: Record<string, "+" | "-" | "*" | "/" | "%" | "^"> = { Add: "+", Sub: "-", Mul: "*", Div: "/", Mod: "%", Pow: "^" };

class Builder {
  /** Building info()'s label selector, which may match every series. */
  private infoSelector = false;

  constructor(
    private readonly text: string,
    private readonly literals: Map<number, Literal>,
    private readonly options: ParseOptions,
  ) {}

  /**
   * A range, step or offset (the grammar's DurationExpr / OffsetDurationExpr) as Prometheus' parser builds
   * it: a number literal (a sign folded in), or a duration expression.
   */
  durationNode(n: SyntaxNode): DurationExpr {
    if (n.name === "NumberDurationLiteralInDurationContext") {
      // Inside brackets Prometheus' lexer reads only digits and duration keywords; after `offset`, Inf and
      // NaN are numbers (out of range as offsets).
      let context = n.parent;
      while (context && (context.name === "DurationExpr" || context.name === "OffsetDurationExpr")) context = context.parent;
      const inBrackets = context?.name !== "OffsetExpr";
      if (inBrackets && !this.literals.has(n.to)) throw new ParseError(`unexpected character in duration expression: '${this.src(n)[0]}'`, n.from);
      const { value, duration } = this.literal(n);
      // A signed offset is checked once its sign is applied (at the sign), as Prometheus' offset rule does.
      const signedOffset = !inBrackets && n.parent?.name === "OffsetDurationExpr" && n.parent.prevSibling?.name === "UnaryOp";
      if (outOfRange(value) && !signedOffset) throw new ParseError("duration out of range", n.from);
      return { kind: "literal", seconds: value, duration, start: n.from, end: n.to };
    }
    const cs = this.children(n);
    const first = cs[0];
    if (!first) throw new ParseError(`unexpected end of duration expression`, n.from);
    if (first.name === "UnaryOp") {
      const operand = this.durationNode(cs[1]!);
      const minus = this.src(first) === "-";
      if (operand.kind === "literal") {
        const seconds = minus ? -operand.seconds : operand.seconds;
        if (outOfRange(seconds)) throw new ParseError("duration out of range", first.from);
        return { ...operand, seconds, start: first.from };
      }
      return minus ? { kind: "op", op: "-", rhs: operand, wrapped: false, start: first.from, end: operand.end } : operand;
    }
    if (first.name === "DurationStep" || first.name === "DurationRange") {
      return { kind: "op", op: first.name === "DurationStep" ? "step" : "range", wrapped: false, start: first.from, end: n.to };
    }
    if (first.name === "DurationMinOf" || first.name === "DurationMaxOf") {
      const [lhs, rhs] = [this.durationNode(cs[1]!), this.durationNode(cs[2]!)];
      return { kind: "op", op: first.name === "DurationMinOf" ? "min_of" : "max_of", lhs, rhs, wrapped: false, start: first.from, end: n.to };
    }
    if (cs.length === 1 && (first.name === "DurationExpr" || first.name === "OffsetDurationExpr")) {
      // In parentheses: printed so; a literal inside becomes a unary plus that carries them.
      const inner = this.durationNode(first);
      if (this.text[n.from] !== "(") return inner;
      return inner.kind === "op" ? { ...inner, wrapped: true } : { kind: "op", op: "+", rhs: inner, wrapped: true, start: n.from, end: inner.end };
    }
    if (cs.length === 1) return this.durationNode(first);
    const op = DURATION_OPS[cs[1]?.name ?? ""];
    if (!op || cs.length !== 3) throw new ParseError(`unexpected ${this.src(n)} in duration expression`, n.from);
    const [lhs, rhs] = [this.durationNode(first), this.durationNode(cs[2]!)];
    if ((op === "/" || op === "%") && rhs.kind === "literal" && rhs.seconds === 0) throw new ParseError(op === "/" ? "division by zero" : "modulo by zero", cs[1]!.from);
    return { kind: "op", op, lhs, rhs, wrapped: false, start: lhs.start, end: rhs.end };
  }

  /** A duration expression beyond a literal is experimental in promgate (stable in Prometheus 3.16). */
  private durationExpression(d: DurationExpr, n: SyntaxNode): DurationExpr {
    if (!this.options.experimental?.has("duration-expressions")) {
      throw new ParseError("duration expressions are experimental: set PROMGATE_PROMQL_EXPERIMENTAL=duration-expressions", n.from);
    }
    return d;
  }

  /**
   * A number literal, signed or not (`-1m`, `0x1f`, `Inf`): its value in seconds and whether it was written
   * as a duration. The value comes from the literal scan (the grammar saw digits in its place).
   */
  literal(n: SyntaxNode): { value: number; duration: boolean } {
    const src = this.src(n);
    const sign = src.startsWith("-") ? -1 : 1;
    const lit = this.literals.get(n.to);
    if (!lit || lit.start < n.from) return { value: sign * literalNumber(src.replace(/^[-+]\s*/, ""), n.from), duration: false };
    const value = lit.duration ? literalDurationMs(lit.text, lit.start) / 1000 : literalNumber(lit.text, lit.start);
    return { value: sign * value, duration: lit.duration };
  }

  /**
   * A range or a subquery step: a positive duration or number of seconds, or (experimental) a duration
   * expression, whose value the query sets (durations.ts).
   */
  positiveDuration(n: SyntaxNode): { ms: number; expr?: DurationExpr } {
    const d = this.durationNode(n);
    if (d.kind !== "literal") return { ms: 0, expr: this.durationExpression(d, n) };
    if (!(d.seconds > 0)) throw new ParseError("duration must be greater than 0", d.start);
    return { ms: secondsToMs(d.seconds) };
  }

  /** An offset: a signed duration or number of seconds (`offset -5m`, `offset 90`), or a duration expression. */
  offsetDuration(n: SyntaxNode): { ms: number; expr?: DurationExpr } {
    const d = this.durationNode(n);
    if (d.kind !== "literal") return { ms: 0, expr: this.durationExpression(d, n) };
    if (Number.isNaN(d.seconds)) throw new ParseError("duration out of range", d.start);
    return { ms: secondsToMs(d.seconds) };
  }

  src(n: SyntaxNode): string {
    return this.text.slice(n.from, n.to);
  }

  children(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
    return out;
  }

  expect(e: Expr, want: ValueType, n: SyntaxNode, what: string): void {
    const got = typeOf(e);
    if (got !== want) throw new ParseError(`expected type ${typeName(want)} in ${what}, got ${typeName(got)}`, n.from);
  }

  build(n: SyntaxNode): Expr {
    const e = this.node(n);
    if (!positions.has(e)) positions.set(e, n.from);
    return e;
  }

  private node(n: SyntaxNode): Expr {
    switch (n.name) {
      case "PromQL": {
        const c = n.firstChild;
        if (!c) throw new ParseError("no expression found in input");
        return this.build(c);
      }
      case "NumberDurationLiteral": {
        const { value, duration } = this.literal(n);
        const e: Expr = { kind: "number", value };
        if (duration) durationLiterals.add(e);
        return e;
      }
      case "StringLiteral":
        return { kind: "string", value: unquoteBytes(this.src(n)) };
      case "ParenExpr":
        return { kind: "paren", expr: this.build(n.firstChild!) };
      case "VectorSelector":
        return this.vectorSelector(n);
      case "MatrixSelector": {
        const [vs, dur] = this.children(n);
        // The grammar reads "-foo[5m]" as (-foo)[5m]; Prometheus as -(foo[5m]), a unary on a range vector.
        if (vs!.name === "UnaryExpr" && vs!.lastChild?.name === "VectorSelector") {
          throw new ParseError('unary expression only allowed on expressions of type scalar or instant vector, got "range vector"', n.from);
        }
        const inner = this.build(vs!);
        if (inner.kind !== "vector") throw new ParseError("ranges only allowed for vector selectors", dur!.from - 1);
        if (inner.offsetMs !== 0 || inner.offsetExpr || inner.at !== undefined) throw new ParseError("no offset modifiers allowed before range", n.from);
        const range = this.positiveDuration(dur!);
        return { kind: "matrix", vector: inner, rangeMs: range.ms, ...(range.expr ? { rangeExpr: range.expr } : {}) };
      }
      case "SubqueryExpr": {
        const [inner, range, step] = this.children(n);
        const expr = this.build(inner!);
        this.expect(expr, "vector", inner!, "subquery");
        const r = this.positiveDuration(range!);
        const s = step ? this.positiveDuration(step) : undefined;
        return {
          kind: "subquery",
          expr,
          rangeMs: r.ms,
          stepMs: s?.ms,
          offsetMs: 0,
          at: undefined,
          ...(r.expr ? { rangeExpr: r.expr } : {}),
          ...(s?.expr ? { stepExpr: s.expr } : {}),
        };
      }
      case "AnchoredExpr":
      case "SmoothedExpr":
        return this.extendedRange(n);
      case "OffsetExpr":
        return this.offset(n);
      case "StepInvariantExpr":
        return this.at(n);
      case "UnaryExpr": {
        const [op, operand] = this.children(n);
        const expr = this.build(operand!);
        const t = typeOf(expr);
        if (t !== "scalar" && t !== "vector") throw new ParseError(`unary expression only allowed on expressions of type scalar or instant vector, got ${JSON.stringify(typeName(t))}`, n.from);
        if (expr.kind === "number") {
          const folded: Expr = { kind: "number", value: this.src(op!) === "-" ? -expr.value : expr.value };
          if (durationLiterals.has(expr)) durationLiterals.add(folded);
          return folded;
        }
        return { kind: "unary", op: this.src(op!) as "-" | "+", expr };
      }
      case "BinaryExpr":
        return this.binary(n);
      case "FunctionCall":
        return this.call(n);
      case "AggregateExpr":
        return this.aggregate(n);
      default:
        throw new ParseError(`unexpected ${n.name}`, n.from);
    }
  }

  /** `bypassEmptyCheck`: info()'s label selector may match every series (Prometheus' BypassEmptyMatcherCheck). */
  vectorSelector(n: SyntaxNode, bypassEmptyCheck = this.infoSelector): VectorSelector {
    const matchers: Matcher[] = [];
    for (const c of this.children(n)) {
      if (c.name === "Identifier") matchers.push({ name: "__name__", type: "=", value: this.src(c) });
      if (c.name !== "LabelMatchers") continue;
      for (const m of this.children(c)) {
        if (m.name === "QuotedLabelName") matchers.push({ name: "__name__", type: "=", value: unquote(this.src(m)) });
        else if (m.name === "UnquotedLabelMatcher" || m.name === "QuotedLabelMatcher") {
          const [nameNode, op, lit] = this.children(m);
          const name = nameNode!.name === "LabelName" ? this.src(nameNode!) : unquote(this.src(nameNode!));
          const type = MATCH_OPS[op!.firstChild?.name ?? ""];
          if (!type || !lit) throw new ParseError("invalid label matcher", m.from);
          const value = unquote(this.src(lit));
          if (type === "=~" || type === "!~") checkRegexp(value, m.from);
          matchers.push({ name, type, value });
        }
      }
    }
    if (matchers.filter((m) => m.name === "__name__").length > 1 && this.children(n).some((c) => c.name === "Identifier")) {
      const names = matchers.filter((m) => m.name === "__name__").map((m) => JSON.stringify(m.value));
      if (matchers.some((m, i) => i > 0 && m.name === "__name__")) throw new ParseError(`metric name must not be set twice: ${names[0]} or ${names[1]}`, n.from);
    }
    const nonEmpty = matchers.some((m) => {
      if (m.type === "=") return m.value !== "";
      if (m.type === "!=") return m.value === "";
      try {
        const re = labelRegex(m.value);
        return m.type === "=~" ? !re.test("") : re.test("");
      } catch {
        return true; // reported when compiled
      }
    });
    if (!nonEmpty && !bypassEmptyCheck) throw new ParseError("vector selector must contain at least one non-empty matcher", n.from);
    return { kind: "vector", matchers, offsetMs: 0, at: undefined, text: this.src(n) };
  }

  offset(n: SyntaxNode): Expr {
    const [target, , dur] = this.children(n);
    const expr = this.build(target!);
    const { ms, expr: offsetExpr } = this.offsetDuration(dur!);
    const withExpr = offsetExpr ? { offsetExpr } : {};
    const set = (e: Expr): Expr => {
      if (e.kind === "vector") {
        if (e.offsetMs !== 0 || e.offsetExpr) throw new ParseError("offset may not be set multiple times", n.from);
        return { ...e, offsetMs: ms, ...withExpr };
      }
      if (e.kind === "matrix") return { ...e, vector: set(e.vector) as VectorSelector };
      if (e.kind === "subquery") {
        if (e.offsetMs !== 0 || e.offsetExpr) throw new ParseError("offset may not be set multiple times", n.from);
        return { ...e, offsetMs: ms, ...withExpr };
      }
      // The editor grammar hangs `offset` on the whole `a - b`; Prometheus binds it to the right-most operand.
      if (e.kind === "binary") return { ...e, rhs: set(e.rhs) };
      if (e.kind === "unary") return { ...e, expr: set(e.expr) };
      throw new ParseError("offset modifier must be preceded by an instant vector selector or range vector selector or a subquery", n.from);
    };
    return set(expr);
  }

  /** `… anchored` / `… smoothed`: on a selector only, one of the two (Prometheus' setAnchored/setSmoothed). */
  extendedRange(n: SyntaxNode): Expr {
    const [target] = this.children(n);
    const modifier = n.name === "AnchoredExpr" ? "anchored" : "smoothed";
    if (!this.options.experimental?.has("promql-extended-range-selectors")) {
      throw new ParseError(`${modifier} modifier is experimental: set PROMGATE_PROMQL_EXPERIMENTAL=promql-extended-range-selectors`, n.lastChild!.from);
    }
    const expr = this.build(target!);
    const set = (sel: VectorSelector): VectorSelector => {
      if (sel.modifier && sel.modifier !== modifier) throw new ParseError("anchored and smoothed modifiers cannot be used together", n.from);
      return { ...sel, modifier };
    };
    if (expr.kind === "vector") return set(expr);
    if (expr.kind === "matrix") return { ...expr, vector: set(expr.vector) };
    if (expr.kind === "subquery") throw new ParseError(`${modifier} modifier is not supported for subqueries`, n.from);
    throw new ParseError(`${modifier} modifier not implemented`, n.from);
  }

  at(n: SyntaxNode): Expr {
    const [target, , value] = this.children(n);
    const expr = this.build(target!);
    let at: At;
    if (value!.name === "AtModifierPreprocessors") at = value!.firstChild?.name === "AtStart" ? "start" : "end";
    else {
      const v = this.literal(value!).value;
      if (!Number.isFinite(v) || Math.abs(v) >= 2 ** 63) throw new ParseError(`timestamp out of bounds for @ modifier: ${goFixed(v)}`, n.from);
      at = Math.round(v * 1000);
    }
    const set = (e: Expr): Expr => {
      if (e.kind === "vector") {
        if (e.at !== undefined) throw new ParseError("@ <timestamp> may not be set multiple times", n.from);
        return { ...e, at };
      }
      if (e.kind === "matrix") return { ...e, vector: set(e.vector) as VectorSelector };
      if (e.kind === "subquery") {
        if (e.at !== undefined) throw new ParseError("@ <timestamp> may not be set multiple times", n.from);
        return { ...e, at };
      }
      if (e.kind === "binary") return { ...e, rhs: set(e.rhs) }; // as for offset: the right-most operand
      if (e.kind === "unary") return { ...e, expr: set(e.expr) };
      throw new ParseError("@ modifier must be preceded by an instant vector selector or range vector selector or a subquery", n.from);
    };
    return set(expr);
  }

  binary(n: SyntaxNode): Expr {
    const parts = this.children(n);
    const op = BIN_OPS[parts[1]!.name];
    if (!op) throw new ParseError(`unknown binary operator ${this.src(parts[1]!)}`, parts[1]!.from);
    // The grammar reads "-2" as one signed number, so "-2 ^ 2" arrives as (-2) ^ 2. In Prometheus the sign
    // is a unary operator, which binds looser than ^: -(2 ^ 2) = -4.
    const first = this.src(parts[0]!);
    if (op === "^" && parts[0]!.name === "NumberDurationLiteral" && /^[-+]/.test(first)) {
      const base: Expr = { kind: "number", value: Math.abs(this.literal(parts[0]!).value) };
      if (this.literal(parts[0]!).duration) durationLiterals.add(base);
      positions.set(base, parts[0]!.from + 1);
      const pow = this.combine(n, parts, base, this.build(parts[parts.length - 1]!), op);
      positions.set(pow, parts[0]!.from + 1);
      return first.startsWith("-") ? { kind: "unary", op: "-", expr: pow } : pow;
    }
    return this.combine(n, parts, this.build(parts[0]!), this.build(parts[parts.length - 1]!), op);
  }

  private combine(n: SyntaxNode, parts: SyntaxNode[], lhs: Expr, rhs: Expr, op: string): Expr {
    const on = parts.find((p) => p.name === "MatchingModifierClause");
    const m = on ? this.matching(on) : undefined;
    const both = m?.on ? m.include.find((l) => m.labels.includes(l)) : undefined;
    if (both !== undefined) throw new ParseError(`label ${JSON.stringify(both)} must not occur in ON and GROUP clause at once`, parts[1]!.from);
    let bool = false;
    let matching: VectorMatching | undefined;
    let fill: { lhs?: number; rhs?: number } | undefined;
    for (const p of parts.slice(2, -1)) {
      if (p.name === "BoolModifier") bool = true;
      if (p.name === "MatchingModifierClause") matching = this.matching(p);
      if (p.name === "FillModifier") fill = this.fill(p, n);
    }
    const lt = typeOf(lhs);
    const rt = typeOf(rhs);
    for (const [t, side] of [[lt, parts[0]!], [rt, parts[parts.length - 1]!]] as const) {
      if (t !== "scalar" && t !== "vector") throw new ParseError(`binary expression must contain only scalar and instant vector types`, side.from);
    }
    // Prometheus places these two at the operator.
    if (bool && !COMPARISON.has(op)) throw new ParseError("bool modifier can only be used on comparison operators", parts[1]!.from);
    if (COMPARISON.has(op) && lt === "scalar" && rt === "scalar" && !bool) throw new ParseError("comparisons between scalars must use BOOL modifier", parts[1]!.from);
    if (SET_OPS.has(op)) {
      if (lt === "scalar" || rt === "scalar") throw new ParseError(`set operator "${op}" not allowed in binary scalar expression`, n.from);
      if (matching && matching.card !== "one-to-one") throw new ParseError(`no grouping allowed for "${op}" operation`, n.from);
      if (fill) throw new ParseError("filling in missing series not allowed for set operators", n.from);
      matching = matching ? { ...matching, card: "one-to-one" } : undefined;
    }
    if (matching && (lt === "scalar" || rt === "scalar")) throw new ParseError("vector matching only allowed between instant vectors", n.from);
    if (fill && (lt === "scalar" || rt === "scalar")) throw new ParseError("filling in missing series only allowed between instant vectors", n.from);
    return { kind: "binary", op, lhs, rhs, bool, matching, ...(fill ? { fill } : {}) };
  }

  /** `fill(v)`, `fill_left(v)`, `fill_right(v)` or both of the last two: a number literal each. */
  fill(p: SyntaxNode, binary: SyntaxNode): { lhs?: number; rhs?: number } {
    if (!this.options.experimental?.has("promql-binop-fill-modifiers")) throw new ParseError("binop fill modifiers are experimental and not enabled", binary.from);
    const out: { lhs?: number; rhs?: number } = {};
    for (const clause of this.children(p)) {
      const value = this.literal(clause.getChild("NumberDurationLiteral")!).value;
      if (clause.name !== "FillRightClause") out.lhs = value;
      if (clause.name !== "FillLeftClause") out.rhs = value;
    }
    return out;
  }

  matching(n: SyntaxNode): VectorMatching {
    const parts = this.children(n);
    const labels = (g: SyntaxNode | undefined) => (g ? this.groupingLabels(g) : []);
    const m: VectorMatching = { on: parts[0]!.name === "On", labels: labels(parts[1]), card: "one-to-one", include: [] };
    const group = parts.find((p) => p.name === "GroupLeft" || p.name === "GroupRight");
    if (group) {
      m.card = group.name === "GroupLeft" ? "many-to-one" : "one-to-many";
      const idx = parts.indexOf(group);
      m.include = labels(parts[idx + 1]?.name === "GroupingLabels" ? parts[idx + 1] : undefined);
    }
    return m;
  }

  /** `by (a, "b.c")`, `on (…)`: names, quoted ones UTF-8 and not empty (Prometheus' grouping_label). */
  groupingLabels(n: SyntaxNode): string[] {
    return this.children(n).map((l) => {
      if (l.name === "LabelName") return this.src(l);
      const name = unquoteBytes(this.src(l));
      if (name === "" || !isValidUtf8(name)) throw new ParseError(`invalid label name for grouping: ${goQuote(name)}`, l.from);
      return name;
    });
  }

  call(n: SyntaxNode): Expr {
    const [ident, body] = this.children(n);
    const func = this.src(ident!);
    const def = FUNCTIONS[func];
    if (!def) throw new ParseError(`unknown function with name "${func}"`, n.from);
    if (def.feature === "promql-experimental-functions" && !this.options.experimental?.has(def.feature)) throw new ParseError(`function "${func}" is not enabled`, n.from);
    if (def.feature && !this.options.experimental?.has(def.feature)) {
      throw new ParseError(`function "${func}" is experimental: set PROMGATE_PROMQL_EXPERIMENTAL=${def.feature}`, n.from);
    }
    const argNodes = body ? this.children(body) : [];
    const args = argNodes.map((c, i) => (func === "info" && i === 1 ? this.infoLabelSelector(c) : this.build(c)));
    const nargs = def.args.length;
    const variadic = def.variadic ?? 0;
    if (variadic === 0 && args.length !== nargs) {
      throw new ParseError(`expected ${nargs} argument(s) in call to "${func}", got ${args.length}`, n.from);
    }
    if (variadic !== 0 && args.length < nargs - 1) {
      throw new ParseError(`expected at least ${nargs - 1} argument(s) in call to "${func}", got ${args.length}`, n.from);
    }
    if (variadic > 0 && args.length > nargs - 1 + variadic) {
      throw new ParseError(`expected at most ${nargs - 1 + variadic} argument(s) in call to "${func}", got ${args.length}`, n.from);
    }
    if (func === "info" && args.length > 1) {
      this.expect(args[1]!, "vector", n, `call to function "${func}"`);
      // Only a label selector: `{k="v"}` (its @ and offset are syntax only), not `metric{…}` nor another expression.
      let inner = argNodes[1]!;
      while (inner.name === "OffsetExpr" || inner.name === "StepInvariantExpr") inner = inner.firstChild!;
      if (inner.name !== "VectorSelector") throw new ParseError("expected label selectors only", argNodes[1]!.from);
      if (this.children(inner).some((c) => c.name === "Identifier")) throw new ParseError("expected label selectors only, got vector selector instead", argNodes[1]!.from);
    }
    args.forEach((a, i) => {
      const want = def.args[Math.min(i, nargs - 1)]!;
      this.expect(a, want, argNodes[i]!, `call to function "${func}"`);
    });
    return { kind: "call", func, args };
  }

  infoLabelSelector(n: SyntaxNode): Expr {
    this.infoSelector = true;
    try {
      return this.build(n);
    } finally {
      this.infoSelector = false;
    }
  }

  aggregate(n: SyntaxNode): Expr {
    const parts = this.children(n);
    // Keywords are case-insensitive in Prometheus' lexer (`SUM BY (job) (x)`); the grammar already agrees.
    const op = this.src(parts[0]!).toLowerCase();
    if (!AGGREGATIONS[op]) throw new ParseError(`unknown aggregation "${op}"`, n.from);
    let grouping: string[] = [];
    let without = false;
    let body: SyntaxNode | undefined;
    for (const p of parts.slice(1)) {
      if (p.name === "AggregateModifier") {
        const [kind, labels] = this.children(p);
        without = kind!.name === "Without";
        grouping = labels ? this.groupingLabels(labels) : [];
      } else if (p.name === "FunctionCallBody") body = p;
    }
    const argNodes = body ? this.children(body) : [];
    const args = argNodes.map((c) => this.build(c));
    const def = AGGREGATIONS[op]!;
    const want = def.param ? 2 : 1;
    if (args.length !== want) throw new ParseError(`wrong number of arguments for aggregate expression provided, expected ${want}, got ${args.length}`, n.from);
    const expr = args[args.length - 1]!;
    this.expect(expr, "vector", argNodes[argNodes.length - 1]!, "aggregation expression");
    const param = def.param ? args[0] : undefined;
    if (param) this.expect(param, def.param!, argNodes[0]!, `aggregation parameter`);
    return { kind: "aggregate", op, expr, param, grouping, without };
  }
}

function typeName(t: ValueType): string {
  return t === "vector" ? "instant vector" : t === "matrix" ? "range vector" : t;
}

/**
 * `holt_winters` (Prometheus 2.x's name of double_exponential_smoothing) is unknown to the grammar: parse with
 * a known function name of the same length in its place, so every position stays the same; the builder reads
 * names from the original text.
 */
const HOLT_WINTERS = /\bholt_winters(?=\s*\()/g;
/** `integral` (Prometheus 3.16) is newer than the grammar: parsed as a known name of the same length. */
const INTEGRAL = /\bintegral(?=\s*\()/g;

/**
 * min_of and max_of as functions of scalars (outside brackets, where they are duration functions) are unknown
 * to the grammar: parse them as a known function of the same length; the builder reads the name from the text.
 */
const MIN_MAX_OF = /\b(min_of|max_of)(?=\s*\()/g;
function scalarMinMaxOf(name: string, _: string, offset: number, text: string): string {
  const before = text.slice(0, offset);
  const inBrackets = before.lastIndexOf("[") > before.lastIndexOf("]");
  return inBrackets || inOffsetDuration(before) ? name : "minute";
}

/**
 * Whether text ending here is inside the duration after an `offset`: the offset's operand itself (only a
 * sign since `offset`), or within its parentheses; `offset 5m * min_of(1, 2)` is past it.
 */
function inOffsetDuration(before: string): boolean {
  const m = /\boffset\b([-+\s(\w.,*/%^)]*)$/i.exec(before);
  if (!m) return false;
  const rest = m[1]!.replace(/^[\s+-]*/, "");
  if (rest === "") return true;
  let depth = 0;
  for (const c of rest) depth += c === "(" ? 1 : c === ")" ? -1 : 0;
  return depth > 0;
}

/** Keywords (any case) that a `(` may follow without being a function call. */
const KEYWORDS_BEFORE_PAREN = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless", "atan2"]);

export function parsePromQL(text: string, options: ParseOptions = {}): Expr {
  try {
    return parseTree(text, options);
  } catch (e) {
    if (e instanceof ParseError) throw new ParseError(e.reason, e.pos, text);
    // Chains without brackets (`x offset 1m offset 1m …`) nest the tree as deep as they are long.
    if (e instanceof RangeError) throw new ParseError("expression nested too deeply", 0, text);
    throw e;
  }
}

function parseTree(text: string, options: ParseOptions): Expr {
  if (text.trim() === "") throw new ParseError("no expression found in input", 0);
  const deep = tooDeepAt(text);
  if (deep !== undefined) throw new ParseError(`expression nested deeper than ${MAX_NESTING} levels`, deep);
  const literals = scanLiterals(text);
  const tree = parser.parse(literals.normalized.replace(HOLT_WINTERS, "day_of_month").replace(INTEGRAL, "increase").replace(MIN_MAX_OF, scalarMinMaxOf));
  let error: number | undefined;
  tree.iterate({
    enter: (n) => {
      if (n.type.isError && error === undefined) error = n.from;
    },
  });
  // Prometheus' lexer stops at a bad literal: that is the error unless the grammar failed before it.
  if (literals.error && (error === undefined || literals.error.pos <= error)) throw new ParseError(literals.error.message, literals.error.pos);
  if (error !== undefined) {
    // The grammar knows the function names; name an unknown one the way Prometheus does.
    for (const m of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*\(/g)) {
      const name = m[1]!;
      const keyword = KEYWORDS_BEFORE_PAREN.has(name.toLowerCase());
      if (!keyword && !FUNCTIONS[name] && !AGGREGATIONS[name.toLowerCase()]) throw new ParseError(`unknown function with name "${name}"`, m.index);
    }
    const lexical = lexerError(text);
    if (lexical) throw lexical;
    if (text.slice(error).trim() === "") throw new ParseError("unexpected end of input", error);
    throw new ParseError(`unexpected character or end of input near ${JSON.stringify(text.slice(error, error + 10))}`, error);
  }
  return new Builder(text, literals.byEnd, options).build(tree.topNode);
}
