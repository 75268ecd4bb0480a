import { parser } from "@prometheus-io/lezer-promql";
import { badData, type Matcher, type MatchType } from "./matchers.js";
import { MAX_NESTING, tooDeepAt } from "./promql/nesting.js";

/**
 * Series selectors (`up{job="api"}`, `{__name__=~"x|y"}`, `{"utf8.name", a="b"}`) as the `match[]`
 * parameter carries them, parsed with the Prometheus project's own grammar.
 */

const OPS: Record<string, MatchType> = { EqlSingle: "=", Neq: "!=", EqlRegex: "=~", NeqRegex: "!~" };

export function parseSelector(text: string): Matcher[] {
  const deep = tooDeepAt(text);
  if (deep !== undefined) throw badData(`invalid series selector at character ${deep + 1}: nested deeper than ${MAX_NESTING} levels`);
  let tree: ReturnType<typeof parser.parse>;
  try {
    tree = parser.parse(text);
  } catch (e) {
    // Long operator chains (`1+1+1…`) can exhaust the stack in the grammar's tree building.
    if (e instanceof RangeError) throw badData("invalid series selector: nested too deeply");
    throw e;
  }
  const top = tree.topNode.firstChild;
  let error: { from: number } | undefined;
  tree.iterate({
    enter: (n) => {
      if (n.type.isError && !error) error = { from: n.from };
    },
  });
  if (error || !top || top.name !== "VectorSelector" || top.nextSibling) {
    const at = error ? ` at character ${error.from + 1}` : "";
    // The selector is quoted back shortened: a megabyte of bad input must not come back as a megabyte of error.
    const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    throw badData(`invalid series selector${at}: ${JSON.stringify(shown)} (expected e.g. up{job="api"})`);
  }
  const matchers: Matcher[] = [];
  for (let c = top.firstChild; c; c = c.nextSibling) {
    if (c.name === "Identifier") matchers.push({ name: "__name__", type: "=", value: text.slice(c.from, c.to) });
    if (c.name !== "LabelMatchers") continue;
    for (let m = c.firstChild; m; m = m.nextSibling) {
      if (m.name === "QuotedLabelName") {
        // {"name"} alone names the metric (UTF-8 metric names).
        matchers.push({ name: "__name__", type: "=", value: unquote(text.slice(m.from, m.to)) });
      } else if (m.name === "UnquotedLabelMatcher" || m.name === "QuotedLabelMatcher") {
        const nameNode = m.firstChild!;
        const name = nameNode.name === "LabelName" ? text.slice(nameNode.from, nameNode.to) : unquote(text.slice(nameNode.from, nameNode.to));
        const op = nameNode.nextSibling!;
        const type = OPS[op.firstChild?.name ?? ""];
        const lit = op.nextSibling!;
        if (!type) throw badData(`invalid matcher operator in ${JSON.stringify(text)}`);
        matchers.push({ name, type, value: unquote(text.slice(lit.from, lit.to)) });
      }
    }
  }
  return matchers;
}

const SIMPLE: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\", "'": "'", '"': '"' };

/**
 * A PromQL string literal (Go syntax): "…" and '…' with escapes, `…` raw. Go strings are bytes: `\xc3\xa9`
 * is "é", and `\xff` a byte that is not UTF-8. Such bytes come back as lone surrogates U+DC80–U+DCFF (so
 * `isValidUtf8` can tell, as Prometheus' label name checks do); `unquote` turns each into U+FFFD, as Go's
 * JSON encoder writes them.
 */
export function unquoteBytes(lit: string): string {
  const q = lit[0];
  if (lit.length < 2 || lit[lit.length - 1] !== q || (q !== '"' && q !== "'" && q !== "`")) {
    throw badData(`invalid string literal ${lit}`);
  }
  const body = lit.slice(1, -1);
  if (q === "`") return body;
  const bytes: number[] = [];
  const text = (s: string) => bytes.push(...encoder.encode(s));
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== "\\") {
      const cp = body.codePointAt(i)!;
      if (cp > 0xffff) i++;
      text(String.fromCodePoint(cp));
      continue;
    }
    const e = body[++i];
    if (e === undefined) throw badData(`invalid escape at the end of ${lit}`);
    if (e in SIMPLE) text(SIMPLE[e]!);
    else if (e === "x" || e === "u" || e === "U") {
      const n = e === "x" ? 2 : e === "u" ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw badData(`invalid \\${e} escape in ${lit}`);
      const v = parseInt(hex, 16);
      if (e === "x") bytes.push(v);
      else if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) throw badData(`escape sequence is an invalid Unicode code point in ${lit}`);
      else text(String.fromCodePoint(v));
      i += n;
    } else if (e >= "0" && e <= "7") {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) throw badData(`invalid octal escape in ${lit}`);
      bytes.push(parseInt(oct, 8));
      i += 2;
    } else throw badData(`unknown escape \\${e} in ${lit}`);
  }
  return decodeGoBytes(bytes);
}

export const unquote = (lit: string): string => wellFormed(unquoteBytes(lit));

const encoder = new TextEncoder();
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Whether a string from `unquoteBytes` was valid UTF-8 (Go's utf8.ValidString). */
export const isValidUtf8 = (s: string): boolean => s.search(LONE_SURROGATE) < 0;

/** Prometheus 3's label name rule (model.UTF8Validation): any UTF-8 text but the empty one. */
export const validLabelName = (s: string): boolean => s !== "" && isValidUtf8(s);

/** Each byte that was not UTF-8 as U+FFFD. */
export const wellFormed = (s: string): string => s.replace(LONE_SURROGATE, "\uFFFD");

/** UTF-8 bytes to text, Go's way: each byte of an invalid sequence on its own, here as U+DC80 + byte. */
function decodeGoBytes(bytes: number[]): string {
  let out = "";
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const [n, min] = b < 0x80 ? [1, 0] : b >= 0xc2 && b < 0xe0 ? [2, 0x80] : b >= 0xe0 && b < 0xf0 ? [3, 0x800] : b >= 0xf0 && b < 0xf5 ? [4, 0x10000] : [0, 0];
    let cp = n === 1 ? b : n === 2 ? b & 0x1f : n === 3 ? b & 0x0f : b & 0x07;
    let ok = n > 0 && i + n <= bytes.length;
    for (let k = 1; ok && k < n; k++) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) ok = false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))) ok = false;
    if (ok) {
      out += String.fromCodePoint(cp);
      i += n;
    } else {
      out += String.fromCharCode(0xdc00 + b);
      i++;
    }
  }
  return out;
}
