/**
 * Parser for promgate's conformance scripts, in the spirit of Prometheus' promqltest format:
 *
 *   load 5m                                  series, one value per step from time 0
 *     http_requests{job="api"} 0+10x10       a+bxn: n+1 values a, a+b, …; axn: a repeated; _ missing; _xn
 *     other 1 2 _ stale NaN Inf -Inf         stale = Prometheus' staleness marker
 *     h {{schema:0 sum:5 count:4 buckets:[1 2 1]}}x2   native histograms in promqltest's notation (keys
 *                                            schema sum count z_bucket z_bucket_w buckets offset n_buckets
 *                                            n_offset custom_values counter_reset_hint); {{a}}+{{b}}x3 adds b
 *                                            three times, {{a}}-{{b}}x3 subtracts
 *   clear                                    drop everything loaded so far
 *   eval instant at 50m <expr>               then the expected result, one line per series
 *     {job="api"} 100                        (a bare number for a scalar result; nothing for empty; a
 *                                            histogram in {{…}} notation where one is expected)
 *   eval range from 0 to 10m step 5m <expr>  expected lines carry one value per step (_ = no point)
 *   eval_fail / eval_warn / eval_info / eval_ordered, and below an eval:
 *     expect fail [msg: <text> | regex: <re>]   expect warn|info [msg:|regex:]   expect no_warn|no_info
 *     expect ordered                         the result order matters (instant queries)
 *     expect range vector from 1m to 3m step 1m   an instant query's range vector answer, one value per step
 *     expected_fail_message <text> | expected_fail_regexp <re>
 *   # tolerance 1e-12                        (a comment, so Prometheus' promqltest reads the script too)
 *                                            the next eval compares values with this relative tolerance
 *
 * Times are relative to the Unix epoch, as in promqltest (see conformance.test.ts for why that works here).
 */

import { type NativeHistogram, ResetHint } from "../../src/model/histogram.js";
import { add, sub } from "../../src/query/promql/histogram/arith.js";
import { fromNative, toNative } from "../../src/query/promql/histogram/float.js";

export type Labels = Record<string, string>;
/** A sample value of a load line: a number, the staleness marker, a native histogram, or nothing at that step. */
export type LoadValue = number | "stale" | NativeHistogram | undefined;
/** A value a script expects: a float or a native histogram. */
export type ExpectedValue = number | NativeHistogram;

export interface LoadedSeries {
  labels: Labels;
  samples: [number, number | "stale" | NativeHistogram][];
}

export interface ExpectedSeries {
  labels: Labels;
  /** Instant: one value. Range: one per step (undefined = no point expected). */
  values: (ExpectedValue | undefined)[];
}

export interface Expectation {
  kind: "fail" | "warn" | "info" | "no_warn" | "no_info" | "ordered";
  message?: string;
  regex?: RegExp;
}

export interface EvalCommand {
  file: string;
  line: number;
  expr: string;
  range?: { startMs: number; endMs: number; stepMs: number };
  atMs: number;
  expectations: Expectation[];
  /** An instant query answering a range vector: its points expected on this grid (`expect range vector …`). */
  rangeVector?: { startMs: number; endMs: number; stepMs: number };
  /** Relative tolerance for values; 0 = exact. */
  tolerance: number;
  /** A scalar answer is expected (a bare number line). */
  scalar?: number;
  series: ExpectedSeries[];
}

/** Data loaded together (between two `clear`s) and the evals that read it. */
export interface Section {
  series: LoadedSeries[];
  evals: EvalCommand[];
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/** Prometheus' model.ParseDuration (units in descending order), or plain seconds. */
export function duration(text: string): number {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const m = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(text);
  if (!m || text === "") throw new Error(`bad duration ${JSON.stringify(text)}`);
  return ["y", "w", "d", "h", "m", "s", "ms"].reduce((t, u, i) => t + Number(m[i + 1] ?? 0) * UNITS[u]!, 0);
}

export function number(text: string): number {
  const t = text.toLowerCase();
  if (t === "nan") return Number.NaN;
  if (t === "inf" || t === "+inf") return Infinity;
  if (t === "-inf") return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t) && !/^[+-]?0x[0-9a-f]+$/.test(t)) throw new Error(`bad number ${JSON.stringify(text)}`);
  return /0x/.test(t) ? Number.parseInt(t, 16) : Number(t);
}

/** `name{a="b", c="d"}` → labels, and the rest of the line. */
export function labelsAndRest(line: string): [Labels, string] {
  const labels: Labels = {};
  let i = 0;
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (name) {
    labels.__name__ = name[0];
    i = name[0].length;
  }
  if (line[i] === "{") {
    i++;
    // Label names may be quoted (Prometheus 3: any UTF-8 name, e.g. {"room.name"="a"}).
    const pair = /\s*([a-zA-Z_][a-zA-Z0-9_]*|"(?:[^"\\]|\\.)*")\s*=\s*("(?:[^"\\]|\\.)*")\s*,?\s*/y;
    for (;;) {
      if (/^\s*\}/.test(line.slice(i))) {
        i = line.indexOf("}", i) + 1;
        break;
      }
      pair.lastIndex = i;
      const m = pair.exec(line);
      if (!m) throw new Error(`bad label set in ${JSON.stringify(line)}`);
      labels[m[1]!.startsWith('"') ? (JSON.parse(m[1]!) as string) : m[1]!] = JSON.parse(m[2]!) as string;
      i = pair.lastIndex;
    }
  } else if (!name) throw new Error(`no series in ${JSON.stringify(line)}`);
  return [labels, line.slice(i).trim()];
}

const HINTS: Record<string, ResetHint> = { unknown: ResetHint.Unknown, reset: ResetHint.Yes, not_reset: ResetHint.No, gauge: ResetHint.Gauge };

/**
 * One histogram in promqltest's notation, `{{schema:0 sum:5 count:4 z_bucket:1 z_bucket_w:0.001
 * buckets:[1 2 1] offset:1 n_buckets:[1] n_offset:0 custom_values:[1 2] counter_reset_hint:gauge}}`: a float
 * histogram with one span per side.
 */
export function histogram(text: string): NativeHistogram {
  const m = /^\{\{(.*)\}\}$/.exec(text.trim());
  if (!m) throw new Error(`bad histogram ${JSON.stringify(text)}`);
  const fields = new Map<string, string>();
  for (const f of m[1]!.matchAll(/(\w+):(\[[^\]]*\]|\S+)/g)) {
    if (fields.has(f[1]!)) throw new Error(`duplicate key ${f[1]} in ${JSON.stringify(text)}`);
    fields.set(f[1]!, f[2]!);
  }
  const list = (k: string) => (fields.get(k) ?? "[]").slice(1, -1).split(/\s+/).filter(Boolean).map(number);
  const num = (k: string) => (fields.has(k) ? number(fields.get(k)!) : 0);
  const spans = (buckets: number[], offset: number) => (buckets.length > 0 ? [{ offset, length: buckets.length }] : []);
  const hint = fields.get("counter_reset_hint") ?? "unknown";
  if (!(hint in HINTS)) throw new Error(`bad counter_reset_hint ${hint}`);
  const known = new Set(["schema", "sum", "count", "z_bucket", "z_bucket_w", "buckets", "offset", "n_buckets", "n_offset", "custom_values", "counter_reset_hint"]);
  for (const k of fields.keys()) if (!known.has(k)) throw new Error(`unknown histogram key ${k}`);
  const buckets = list("buckets");
  const nBuckets = list("n_buckets");
  return {
    float: true,
    schema: num("schema"),
    zeroThreshold: num("z_bucket_w"),
    zeroCount: num("z_bucket"),
    count: num("count"),
    sum: num("sum"),
    positiveSpans: spans(buckets, num("offset")),
    positiveBuckets: buckets,
    negativeSpans: spans(nBuckets, num("n_offset")),
    negativeBuckets: nBuckets,
    resetHint: HINTS[hint]!,
    customValues: list("custom_values"),
  };
}

/** `{{a}}`, `{{a}}xN` (N+1 times a), `{{a}}+{{b}}xN` / `{{a}}-{{b}}xN` (a, then b added or taken N times). */
function histogramSeries(tok: string): NativeHistogram[] {
  const m = /^(\{\{[^}]*\}\})(?:([+-])(\{\{[^}]*\}\}))?(?:x(\d+))?$/.exec(tok);
  if (!m) throw new Error(`bad histogram value ${JSON.stringify(tok)}`);
  const base = histogram(m[1]!);
  if (m[4] === undefined) {
    if (m[2]) throw new Error(`${JSON.stringify(tok)} needs xN`);
    return [base];
  }
  const n = Number(m[4]);
  if (!m[2]) return Array.from({ length: n + 1 }, () => base);
  // Repeated addition (subtraction), as promqltest builds such series with FloatHistogram.Add (Sub).
  const step = fromNative(histogram(m[3]!));
  const out = [base];
  let cur = fromNative(base);
  for (let i = 0; i < n; i++) {
    const r = m[2] === "+" ? add(cur, step) : sub(cur, step);
    if (!r) throw new Error(`cannot combine histograms in ${JSON.stringify(tok)}`);
    cur = r.h;
    out.push({ ...toNative(cur), resetHint: base.resetHint });
  }
  return out;
}

/** Whitespace-separated tokens, a histogram's `{{…}}` (with its +{{…}} and xN) kept as one. */
function tokens(text: string): string[] {
  return [...text.matchAll(/\{\{[^}]*\}\}(?:[+-]\{\{[^}]*\}\})?(?:x\d+)?|\S+/g)].map((m) => m[0]);
}

const NUM = String.raw`(?:inf|nan|\d+\.?\d*(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?)`;
const ITEM = new RegExp(String.raw`^(?<v>stale|[+-]?${NUM})(?:(?<step>[+-]${NUM})?x(?<n>\d+))?$`, "i");

/** The values of a series line: `0+10x3 _ stale 1x2 _x2 NaN`. */
export function values(text: string): LoadValue[] {
  const out: LoadValue[] = [];
  for (const tok of tokens(text)) {
    if (tok.startsWith("{{")) {
      out.push(...histogramSeries(tok));
      continue;
    }
    const blank = /^_(?:x(\d+))?$/.exec(tok);
    if (blank) {
      for (let i = 0; i < (blank[1] === undefined ? 1 : Number(blank[1])); i++) out.push(undefined);
      continue;
    }
    const m = ITEM.exec(tok);
    if (!m) throw new Error(`bad value ${JSON.stringify(tok)}`);
    const first: LoadValue = m.groups!.v === "stale" ? "stale" : number(m.groups!.v!);
    if (m.groups!.n === undefined) {
      out.push(first);
      continue;
    }
    // axn: n+1 times a; a+bxn: n+1 values, accumulated by repeated addition exactly as Prometheus does.
    const step = m.groups!.step === undefined ? 0 : number(m.groups!.step);
    let v = first;
    for (let i = 0; i <= Number(m.groups!.n); i++) {
      out.push(v);
      if (typeof v === "number") v += step;
    }
  }
  return out;
}

function parseExpect(line: string): Expectation {
  const m = /^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$/.exec(line.trim());
  if (!m) throw new Error(`bad expect line ${JSON.stringify(line)}`);
  const e: Expectation = { kind: m[1] as Expectation["kind"] };
  if (m[2] === "msg") e.message = m[3]!.trim();
  if (m[2] === "regex") e.regex = new RegExp(m[3]!.trim());
  return e;
}

const EVAL_INSTANT = /^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(\S+)\s+)?(.+)$/;
const EVAL_RANGE = /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$/;

/**
 * The promgate settings a script needs (`# promgate setting: NAME=value` lines), e.g. experimental syntax that
 * Prometheus 3.16 has on by default.
 */
export function scriptSettings(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^# promgate setting: ([A-Z_]+)=(.*)$/gm)) out[m[1]!] = m[2]!.trim();
  return out;
}

export function parseScript(text: string, file: string): Section[] {
  const lines = text.split("\n");
  const sections: Section[] = [{ series: [], evals: [] }];
  const current = () => sections[sections.length - 1]!;
  let i = 0;
  let tolerance = 0;
  const fail = (msg: string): never => {
    throw new Error(`${file}:${i + 1}: ${msg}`);
  };
  while (i < lines.length) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) {
      const t = /^#\s*tolerance\s+(\S+)/.exec(line);
      if (t) tolerance = Number(t[1]);
      i++;
      continue;
    }
    if (line === "clear") {
      sections.push({ series: [], evals: [] });
      i++;
      continue;
    }
    const load = /^load\s+(\S+)$/.exec(line);
    if (load) {
      const step = duration(load[1]!);
      for (i++; i < lines.length && lines[i]!.trim() !== "" && !lines[i]!.trim().startsWith("#"); i++) {
        const [labels, rest] = labelsAndRest(lines[i]!.trim());
        const samples: [number, number | "stale" | NativeHistogram][] = [];
        values(rest).forEach((v, k) => {
          if (v !== undefined) samples.push([k * step, v]);
        });
        current().series.push({ labels, samples });
      }
      continue;
    }
    const inst = EVAL_INSTANT.exec(line);
    const range = EVAL_RANGE.exec(line);
    if (!inst && !range) fail(`not a command: ${line}`);
    const mod = (inst ? inst[1] : range![1]) as "fail" | "warn" | "ordered" | "info" | undefined;
    const cmd: EvalCommand = {
      file,
      line: i + 1,
      expr: inst ? inst[3]! : range![5]!,
      atMs: inst ? duration(inst[2] ?? "0") : 0,
      tolerance,
      expectations: mod ? [{ kind: mod }] : [],
      series: [],
    };
    if (range) cmd.range = { startMs: duration(range[2]!), endMs: duration(range[3]!), stepMs: duration(range[4]!) };
    for (i++; i < lines.length && lines[i]!.trim() !== ""; i++) {
      const l = lines[i]!.trim();
      if (l.startsWith("#")) continue;
      if (l.startsWith("expected_fail_message")) cmd.expectations.push({ kind: "fail", message: l.slice("expected_fail_message".length).trim() });
      else if (l.startsWith("expected_fail_regexp")) cmd.expectations.push({ kind: "fail", regex: new RegExp(l.slice("expected_fail_regexp".length).trim()) });
      else if (l.startsWith("expect range vector")) {
        const grid = /^expect range vector from (\S+) to (\S+) step (\S+)$/.exec(l) ?? fail(`bad expect line ${JSON.stringify(l)}`);
        cmd.rangeVector = { startMs: duration(grid[1]!), endMs: duration(grid[2]!), stepMs: duration(grid[3]!) };
      } else if (l.split(" ")[0] === "expect") cmd.expectations.push(parseExpect(l));
      else if (/^[-+]?(\d|\.\d|nan|inf)/i.test(l) && !/[{\s]/.test(l)) cmd.scalar = number(l);
      else {
        const [labels, rest] = labelsAndRest(l);
        cmd.series.push({ labels, values: values(rest).map((v) => (v === "stale" ? fail("stale in an expected value") : v)) });
      }
    }
    current().evals.push(cmd);
    tolerance = 0;
  }
  return sections;
}
