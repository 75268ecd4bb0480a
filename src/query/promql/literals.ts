/**
 * Number and duration literals as Prometheus' lexer reads them (promql/parser/lex.go: scanNumber,
 * acceptRemainingDuration; parse.go: number, parseDuration), for the forms the editor grammar
 * (`@prometheus-io/lezer-promql`) does not tokenise: `2.`, `5.e3`, `0X1f`, `0x_1f`, and the bad ones
 * Prometheus names ("bad number or duration syntax"). parse.ts hands the grammar a copy of the query in which
 * every literal is replaced by digits of the same length, so positions stay those of the query, and reads
 * each literal's value from here.
 */

export interface Literal {
  /** Offsets in the query text: [start, end). */
  start: number;
  end: number;
  text: string;
  /** A duration (`1m30s`) rather than a number; its value is in seconds either way. */
  duration: boolean;
}

export interface LiteralScan {
  /** The query with each literal replaced by as many `1`s (and bad ones likewise, so the grammar runs on). */
  normalized: string;
  /** Literals by their end offset (a signed literal's node ends where its number does). */
  byEnd: Map<number, Literal>;
  /** The first literal the lexer refuses or whose value does not parse, with Prometheus' message; the position is its start. */
  error?: { pos: number; message: string };
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isAlpha = (c: string | undefined): boolean => c !== undefined && (c === "_" || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z"));
const isAlnum = (c: string | undefined): boolean => isAlpha(c) || isDigit(c);

/** One literal from `start`: its end, or where the lexer gave up (its error text is text[start, end)). */
function scanLiteral(text: string, start: number): { end: number; ok: boolean; duration: boolean } {
  let pos = start;
  const peek = (): string | undefined => text[pos];
  const accept = (valid: string): boolean => {
    const c = text[pos];
    if (c !== undefined && valid.includes(c)) {
      pos++;
      return true;
    }
    return false;
  };
  // scanNumber: [0x][.][d][d._eE]* with the lexer's rules on what may follow what.
  const number = (): boolean => {
    let digits = "0123456789";
    // As in the lexer, a leading 0 is taken here even when no x follows (so `0..5` reads on as one token).
    if (accept("0") && accept("xX")) {
      accept("_");
      digits = "0123456789abcdefABCDEF";
    }
    accept(".");
    accept(digits);
    let dot = false;
    let exponent = false;
    while (peek() !== undefined && (digits + "._eE").includes(peek()!)) {
      if (peek() === "." && dot) return accept("."), false;
      if ((peek() === "e" || peek() === "E") && exponent) return accept("eE"), false;
      if (accept(".")) {
        dot = true;
        if (accept("_.")) return false;
        if (digits.length > 10) return false; // no fractional hexadecimal literals
        continue;
      }
      if (accept("eE")) {
        exponent = true;
        accept("+-");
        if (accept("._eE") || peek() === undefined) return false;
        continue;
      }
      if (accept("_")) {
        if (accept("._eE") || peek() === undefined) return false;
        continue;
      }
      while (accept(digits));
    }
    return pos !== start && !isAlnum(peek());
  };
  if (number()) return { end: pos, ok: true, duration: false };
  // acceptRemainingDuration: the digits read so far, then units (`ms` included), more digits and units.
  if (!accept("smhdwy")) return { end: pos, ok: false, duration: false };
  accept("s");
  while (accept("0123456789")) {
    while (accept("0123456789"));
    if (!accept("smhdw")) return { end: pos, ok: false, duration: false };
    accept("s");
  }
  if (isAlnum(peek())) return { end: pos + 1, ok: false, duration: false };
  return { end: pos, ok: true, duration: true };
}

/**
 * Every number and duration literal outside strings, comments, braces and names, in query order. The lexer
 * stops at the first bad one; so does this scan.
 */
export function scanLiterals(text: string): LiteralScan {
  const byEnd = new Map<number, Literal>();
  let out = "";
  let copied = 0;
  let brace = false;
  let bracket = false;
  let error: LiteralScan["error"];
  for (let i = 0; i < text.length && !error; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === "`") {
      for (i++; i < text.length && text[i] !== c && !(c !== "`" && text[i] === "\n"); i++) if (text[i] === "\\" && c !== "`") i++;
    } else if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "{") brace = true;
    else if (c === "}") brace = false;
    else if (brace) continue;
    else if (c === "[") bracket = true;
    else if (c === "]") bracket = false;
    else if (isAlpha(c) || (c === ":" && !bracket)) {
      // A name (`rate`, `x1m`, `job:rate5m`): digits inside it are not literals.
      while (i + 1 < text.length && (isAlnum(text[i + 1]) || (text[i + 1] === ":" && !bracket))) i++;
    } else if (isDigit(c) || (c === "." && isDigit(text[i + 1]))) {
      const r = scanLiteral(text, i);
      if (!r.ok) error = { pos: i, message: `bad number or duration syntax: ${JSON.stringify(text.slice(i, Math.min(r.end, text.length)))}` };
      const end = r.ok ? r.end : Math.max(r.end, i + 1);
      if (r.ok) {
        const lit = { start: i, end, text: text.slice(i, end), duration: r.duration };
        byEnd.set(end, lit);
        // The parser reads the value as soon as it takes the token: an error there comes before any later one.
        error = valueError(lit);
      }
      out += text.slice(copied, i) + "1".repeat(end - i);
      copied = end;
      i = end - 1;
    }
  }
  return { normalized: out + text.slice(copied), byEnd, ...(error ? { error } : {}) };
}

function valueError(lit: Literal): LiteralScan["error"] {
  try {
    if (lit.duration) durationMs(lit.text);
    else numberValue(lit.text);
    return undefined;
  } catch (e) {
    return { pos: lit.start, message: (e as Error).message };
  }
}

const UNITS: [string, number][] = [["y", 31_536_000_000], ["w", 604_800_000], ["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000], ["ms", 1]];
const MAX_NS = 2n ** 63n - 1n;

/** Prometheus' model.ParseDuration, in ms: units from the largest down, each at most once. */
export function durationMs(text: string): number {
  if (text === "0") return 0;
  if (text === "") throw new Error("empty duration string");
  let last = -1;
  let totalNs = 0n;
  for (const m of text.matchAll(/(\d*)(\D*)/g)) {
    if (m[0] === "") continue;
    if (m[1] === "" || m[2] === "") throw new Error(`not a valid duration string: ${JSON.stringify(text)}`);
    const unit = UNITS.findIndex(([u]) => u === m[2]);
    if (unit < 0) throw new Error(`unknown unit ${JSON.stringify(m[2])} in duration ${JSON.stringify(text)}`);
    if (unit <= last) throw new Error(`not a valid duration string: ${JSON.stringify(text)}`);
    last = unit;
    const v = BigInt(m[1]!);
    // strconv.ParseUint's limit first, then time.Duration's.
    if (v >= 2n ** 64n) throw new Error(`not a valid duration string: ${JSON.stringify(text)}`);
    const mult = BigInt(UNITS[unit]![1]) * 1_000_000n;
    if (v > 2n ** 63n / mult) throw new Error("duration out of range");
    totalNs += v * mult;
    if (totalNs > MAX_NS) throw new Error("duration out of range");
  }
  return Number(totalNs / 1_000_000n);
}

/**
 * A number literal's value as Go's strconv reads it (ParseInt with base 0, then ParseFloat): `017` is octal,
 * `0x1f` hexadecimal, `_` may separate digits, `Inf`/`NaN` in any case.
 */
export function numberValue(text: string): number {
  const t = text.replaceAll("_", "");
  const lower = t.toLowerCase();
  if (lower === "inf" || lower === "+inf" || lower === "infinity") return Infinity;
  if (lower === "-inf" || lower === "-infinity") return -Infinity;
  if (lower === "nan") return Number.NaN;
  if (/^0x[0-9a-f]+$/i.test(t)) {
    const v = BigInt(t);
    // Beyond int64, ParseFloat refuses a hexadecimal mantissa without a `p` exponent.
    if (v >= 2n ** 63n) throw new Error(`error parsing number: strconv.ParseFloat: parsing ${JSON.stringify(text)}: invalid syntax`);
    return Number(v);
  }
  if (/^0[0-7]+$/.test(t)) return Number.parseInt(t, 8);
  if (underscoresOk(text) && /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return Number(t);
  throw new Error(`error parsing number: strconv.ParseFloat: parsing ${JSON.stringify(text)}: invalid syntax`);
}

/** Go's rule for `_` in numbers: only between digits (or after a base prefix). */
function underscoresOk(text: string): boolean {
  return !/(^|[^0-9a-fA-FxX])_|_($|[^0-9a-fA-F])/.test(text);
}
