import { RE2JS } from "re2js";
import { compileLabelRegex, compileRe2, dfaOf, labelRegex } from "../src/query/regex/re2.js";

/**
 * Label regexes in one process and one run: promgate's engine (re2js, a linear-time RE2, behind the set
 * lookup for lists of literals and the compiled-pattern cache) against JavaScript's own RegExp on the same
 * anchored pattern `^(?:re)$` with flags `su` — the engine promgate used before, here without the
 * RE2 → JavaScript translation it needed in front (which cost more again: ~0.2 ms for a `(?i)` pattern).
 *
 * Typical patterns: compile (uncached), a cached lookup, and one match per label value. Pathological
 * patterns: one match against a value of n characters, where RegExp's time grows exponentially with n
 * and re2js' linearly.
 */

const VALUES = [
  "api",
  "node_cpu_seconds_total",
  "PRODUCTION-eu-west-1",
  "abc-123",
  "10.0.3.4:9100",
  "host-150.example.com:9100",
  "host-4999.example.com:9100",
  "no-match-value-here",
];

const hosts = (n: number) => Array.from({ length: n }, (_, i) => `host-${i}\\.example\\.com:9100`).join("|");

export const TYPICAL: [name: string, pattern: string][] = [
  ["short alternation", "api|web|db"],
  ["prefix", "node_.*"],
  ["contains", ".*-eu-.*"],
  ["class and repeat", "[a-z]+-[0-9]{1,3}"],
  ["escaped dots", "10\\.0\\..*"],
  ["case-insensitive", "(?i)production.*"],
  ["151 hosts (Grafana)", `(${hosts(151)})`],
  ["5,000 hosts", `(${hosts(5000)})`],
  ["151 hosts, not literal", `(${hosts(151)}).*`],
];

export const PATHOLOGICAL: [pattern: string, char: string, jsLengths: number[]][] = [
  ["(a|aa)*b", "a", [20, 25, 30, 35]],
  ["(x+x+)+y", "x", [14, 18, 22]],
];

function timePerOp(fn: () => unknown, minMs: number): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (n === 0 || t - t0 < minMs) {
    fn();
    n++;
    t = performance.now();
  }
  return (t - t0) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median of alternating rounds (a shared machine: one long run is at the mercy of its neighbours). */
function rounds(fns: (() => number)[], n = 3): number[] {
  const samples: number[][] = fns.map(() => []);
  for (let r = 0; r < n; r++) fns.forEach((f, i) => samples[i]!.push(f()));
  return samples.map(median);
}

/** A leading `(?i)` becomes the `i` flag (JavaScript in Node 20 has no inline flags). */
const jsRegExp = (pattern: string) =>
  pattern.startsWith("(?i)") ? new RegExp(`^(?:${pattern.slice(4)})$`, "sui") : new RegExp(`^(?:${pattern})$`, "su");

export interface TypicalRow {
  name: string;
  length: number;
  compileJsUs: number;
  compileOursUs: number;
  cachedUs: number;
  matchJsUs: number;
  matchOursUs: number;
}

export function benchTypical(): TypicalRow[] {
  return TYPICAL.map(([name, pattern]) => {
    // Both engines must agree before their speed is compared.
    const js = jsRegExp(pattern);
    const ours = labelRegex(pattern);
    for (const v of VALUES) if (js.test(v) !== ours.test(v)) throw new Error(`engines disagree on ${name} / ${v}`);
    const ms = Math.max(100, Math.min(400, pattern.length / 100));
    const [compileJs, compileOurs, cached, matchJs, matchOurs] = rounds([
      () => timePerOp(() => jsRegExp(pattern), ms),
      () => timePerOp(() => compileLabelRegex(pattern), ms),
      () => timePerOp(() => labelRegex(pattern), ms),
      () => timePerOp(() => VALUES.forEach((v) => js.test(v)), ms) / VALUES.length,
      () => timePerOp(() => VALUES.forEach((v) => ours.test(v)), ms) / VALUES.length,
    ]);
    return {
      name,
      length: pattern.length,
      compileJsUs: compileJs! * 1000,
      compileOursUs: compileOurs! * 1000,
      cachedUs: cached! * 1000,
      matchJsUs: matchJs! * 1000,
      matchOursUs: matchOurs! * 1000,
    };
  });
}

export interface PathologicalRow {
  pattern: string;
  length: number;
  jsMs: number | undefined;
  oursMs: number;
}

export function benchPathological(): PathologicalRow[] {
  const rows: PathologicalRow[] = [];
  for (const [pattern, char, jsLengths] of PATHOLOGICAL) {
    const js = jsRegExp(pattern);
    const ours = labelRegex(pattern);
    for (const n of [...jsLengths, 10_000, 100_000]) {
      const value = char.repeat(n);
      if (ours.test(value)) throw new Error(`${pattern} must not match ${n} × ${char}`);
      const jsMs = jsLengths.includes(n) ? median([0, 1, 2].map(() => timePerOp(() => js.test(value), 0))) : undefined;
      const oursMs = median([0, 1, 2].map(() => timePerOp(() => ours.test(value), 50)));
      rows.push({ pattern, length: n, jsMs, oursMs });
    }
  }
  return rows;
}

export interface DfaRow {
  what: string;
  ms: number;
  dfaBytes: number;
}

/**
 * A pattern whose DFA has up to 2^21 states, against 100 random a/b values of 4,000 characters: re2js as
 * shipped (its DFA grows to 8 MB) and as promgate compiles it (DFA capped, see DFA_BYTES). Same answers.
 */
export function benchDfaCap(): DfaRow[] {
  const pattern = "(?:a|b)*a(?:a|b){20}";
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const values = Array.from({ length: 100 }, () => Array.from({ length: 4000 }, () => (random() < 0.5 ? "a" : "b")).join(""));
  const run = (what: string, re: RE2JS): DfaRow & { answers: string } => {
    const t0 = performance.now();
    const answers = values.map((v) => (re.testExact(v) ? 1 : 0)).join("");
    const ms = performance.now() - t0;
    const dfa = dfaOf(re);
    return { what, ms, dfaBytes: dfa ? dfa.stateBudget - dfa.memBudget : Number.NaN, answers };
  };
  const shipped = run("re2js as shipped", RE2JS.compile(pattern, RE2JS.DOTALL));
  const capped = run("promgate (DFA capped)", compileRe2(pattern, RE2JS.DOTALL));
  if (shipped.answers !== capped.answers) throw new Error("capping the DFA changed an answer");
  return [shipped, capped].map(({ what, ms, dfaBytes }) => ({ what, ms, dfaBytes }));
}
