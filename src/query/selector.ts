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

/** A PromQL string literal (Go syntax): "…" and '…' with escapes, `…` raw. */
export function unquote(lit: string): string {
  const q = lit[0];
  if (lit.length < 2 || lit[lit.length - 1] !== q || (q !== '"' && q !== "'" && q !== "`")) {
    throw badData(`invalid string literal ${lit}`);
  }
  const body = lit.slice(1, -1);
  if (q === "`") return body;
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== "\\") {
      out += ch;
      continue;
    }
    const e = body[++i];
    if (e === undefined) throw badData(`invalid escape at the end of ${lit}`);
    if (e in SIMPLE) out += SIMPLE[e];
    else if (e === "x" || e === "u" || e === "U") {
      const n = e === "x" ? 2 : e === "u" ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw badData(`invalid \\${e} escape in ${lit}`);
      out += e === "x" ? String.fromCharCode(parseInt(hex, 16)) : String.fromCodePoint(parseInt(hex, 16));
      i += n;
    } else if (e >= "0" && e <= "7") {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) throw badData(`invalid octal escape in ${lit}`);
      out += String.fromCharCode(parseInt(oct, 8));
      i += 2;
    } else throw badData(`unknown escape \\${e} in ${lit}`);
  }
  return out;
}
