import type { NativeHistogram } from "../../src/model/histogram.js";
import { compact, fromNative } from "../../src/query/promql/histogram/float.js";
import { histogramJSON, type HistogramJSON } from "../../src/query/promql/histogram/json.js";
import type { EvalCommand, ExpectedValue, Labels } from "./script.js";

/**
 * Checks one eval's answer (the HTTP API's JSON body) against what the script expects: labels, timestamps and
 * values exactly (NaN equals NaN), native histograms by their count, sum and buckets, the order where the
 * script says it matters, errors where it names them, and annotations: each expected one must come, and none
 * that the script does not expect. Shared by the Elasticsearch-backed conformance suite and the engine's
 * in-memory run of the same scripts.
 */

const num = (s: string): number => (s === "+Inf" ? Infinity : s === "-Inf" ? -Infinity : Number(s));
/** Exact (0 and -0 differ, as in Prometheus' output), NaN equal to NaN; a script may allow a relative tolerance for one eval (`# tolerance 1e-12`). */
const same = (a: number, b: number, tolerance = 0): boolean =>
  Object.is(a, b) || (a === b && a !== 0) || (Number.isNaN(a) && Number.isNaN(b)) || (tolerance > 0 && Math.abs(a - b) <= tolerance * Math.max(Math.abs(a), Math.abs(b)));
const key = (l: Labels): string => JSON.stringify(Object.keys(l).sort().map((k) => [k, l[k]]));
const show = (l: Labels): string => `${l.__name__ ?? ""}{${Object.keys(l).filter((k) => k !== "__name__").sort().map((k) => `${k}=${JSON.stringify(l[k])}`).join(", ")}}`;
/** Annotations carry the position of what they are about; scripts name the text only, as promqltest does. */
const POSITION = / \(\d+:\d+\)$/;
const withoutPosition = (a: string): string => a.replace(POSITION, "");

export interface Answer {
  status: string;
  error?: string;
  data?: { resultType: string; result: unknown };
  warnings?: string[];
  infos?: string[];
}


function checkAnnotations(cmd: EvalCommand, got: Answer): string[] {
  const problems: string[] = [];
  for (const [kind, none, list] of [["warn", "no_warn", got.warnings ?? []], ["info", "no_info", got.infos ?? []]] as const) {
    const texts = list.map(withoutPosition);
    for (const e of cmd.expectations.filter((x) => x.kind === kind)) {
      // An expected message that names its position (Prometheus 3.16's promqltest compares them too) is
      // compared with it; one without, with the text alone.
      const candidates = e.message !== undefined && POSITION.test(e.message) ? list : texts;
      if (texts.length === 0) problems.push(`expected ${kind} annotations, got none`);
      else if (e.message !== undefined && !candidates.includes(e.message)) problems.push(`expected ${kind} ${JSON.stringify(e.message)}, got ${JSON.stringify(list)}`);
      else if (e.regex && !texts.some((t) => e.regex!.test(t))) problems.push(`expected ${kind} matching ${e.regex}, got ${JSON.stringify(texts)}`);
    }
    // Stricter than promqltest: an annotation the script does not expect is a failure, `no_warn` or not.
    const expected = cmd.expectations.some((x) => x.kind === kind);
    if ((!expected || cmd.expectations.some((x) => x.kind === none)) && texts.length > 0) problems.push(`unexpected ${kind} annotations ${JSON.stringify(texts)}`);
  }
  return problems;
}

export function checkResult(cmd: EvalCommand, got: Answer): string[] {
  const failing = cmd.expectations.find((x) => x.kind === "fail");
  if (failing) {
    if (got.status !== "error") return [`expected an error, got ${JSON.stringify(got.data)}`];
    // The API names the parameter at fault; promqltest sees the engine's message alone.
    const message = (got.error ?? "").replace(/^invalid parameter "query": /, "");
    if (failing.message !== undefined && message !== failing.message) return [`expected error ${JSON.stringify(failing.message)}, got ${JSON.stringify(message)}`];
    if (failing.regex && !failing.regex.test(message)) return [`expected error matching ${failing.regex}, got ${JSON.stringify(message)}`];
    return [];
  }
  if (got.status !== "success" || !got.data) return [`error: ${got.error}`];
  const problems = checkAnnotations(cmd, got);
  const { resultType, result } = got.data;
  if (cmd.scalar !== undefined) {
    if (resultType !== "scalar") return [...problems, `expected a scalar, got ${resultType}`];
    const [t, v] = result as [number, string];
    if (t !== cmd.atMs / 1000) problems.push(`scalar at ${t}, expected at ${cmd.atMs / 1000}`);
    if (!same(num(v), cmd.scalar, cmd.tolerance)) problems.push(`scalar ${v}, expected ${cmd.scalar}`);
    return problems;
  }
  if (cmd.range) return [...problems, ...checkMatrix(cmd, result as { metric: Labels; values: [number, string][] }[])];
  if (cmd.rangeVector) {
    if (resultType !== "matrix") return [...problems, `expected a range vector, got ${resultType}`];
    return [...problems, ...checkMatrix(cmd, result as { metric: Labels; values: [number, string][] }[], cmd.rangeVector)];
  }
  if (resultType !== "vector") return [...problems, `expected a vector, got ${resultType} ${JSON.stringify(result)}`];
  const actual = result as { metric: Labels; value?: [number, string]; histogram?: [number, HistogramJSON] }[];
  if (actual.length !== cmd.series.length) {
    problems.push(`expected ${cmd.series.length} series, got ${actual.length}: ${actual.map((s) => `${show(s.metric)} ${s.value?.[1] ?? JSON.stringify(s.histogram?.[1])}`).join("; ")}`);
  }
  const byKey = new Map(actual.map((s, i) => [key(s.metric), { s, i }]));
  cmd.series.forEach((exp, i) => {
    const hit = byKey.get(key(exp.labels));
    if (!hit) return problems.push(`missing ${show(exp.labels)} ${describe(exp.values[0])}`);
    const [t, got] = hit.s.value ?? hit.s.histogram!;
    if (t !== cmd.atMs / 1000) problems.push(`${show(exp.labels)} at ${t}, expected at ${cmd.atMs / 1000}`);
    const wrong = compareValue(got, exp.values[0]!, cmd.tolerance);
    if (wrong) problems.push(`${show(exp.labels)}: ${wrong}`);
    if (cmd.expectations.some((x) => x.kind === "ordered") && hit.i !== i) problems.push(`${show(exp.labels)} at position ${hit.i}, expected ${i}`);
    return undefined;
  });
  return problems;
}

function checkMatrix(cmd: EvalCommand, actual: { metric: Labels; values?: [number, string][]; histograms?: [number, HistogramJSON][] }[], grid = cmd.range!): string[] {
  const problems: string[] = [];
  const { startMs, endMs, stepMs } = grid;
  const byKey = new Map(actual.map((s) => [key(s.metric), s]));
  const expectedKeys = new Set(cmd.series.map((s) => key(s.labels)));
  for (const s of actual) if (!expectedKeys.has(key(s.metric))) problems.push(`unexpected series ${show(s.metric)} ${JSON.stringify(s.values ?? s.histograms)}`);
  for (const exp of cmd.series) {
    const got = byKey.get(key(exp.labels));
    if (!got) {
      problems.push(`missing series ${show(exp.labels)}`);
      continue;
    }
    const points = new Map<number, string | HistogramJSON>([...(got.values ?? []), ...(got.histograms ?? [])].map(([t, v]) => [Math.round(t * 1000), v]));
    for (let t = startMs, k = 0; t <= endMs; t += stepMs, k++) {
      const want = exp.values[k];
      const have = points.get(t);
      points.delete(t);
      if (want === undefined && have !== undefined) problems.push(`${show(exp.labels)} @${t / 1000}: got ${JSON.stringify(have)}, expected no point`);
      else if (want !== undefined && have === undefined) problems.push(`${show(exp.labels)} @${t / 1000}: no point, expected ${describe(want)}`);
      else if (want !== undefined) {
        const wrong = compareValue(have!, want, cmd.tolerance);
        if (wrong) problems.push(`${show(exp.labels)} @${t / 1000}: ${wrong}`);
      }
    }
    for (const [t] of points) problems.push(`${show(exp.labels)}: point off the step grid at ${t / 1000}`);
  }
  return problems;
}


const isHistogram = (v: ExpectedValue | undefined): v is NativeHistogram => typeof v === "object";
const expectedJSON = (h: NativeHistogram): HistogramJSON => histogramJSON(compact(fromNative(h)));
const describe = (v: ExpectedValue | undefined): string => (isHistogram(v) ? JSON.stringify(expectedJSON(v)) : String(v));

/**
 * A float (as the API's string) or a histogram (as its JSON) against the expected value; undefined when
 * they agree. Histograms agree when count, sum and every non-empty bucket's bounds and count agree (the
 * bounds pin the schema and the layout), each number within the eval's tolerance.
 */
function compareValue(got: string | HistogramJSON, want: ExpectedValue, tolerance: number): string | undefined {
  if (!isHistogram(want)) {
    if (typeof got !== "string") return `got histogram ${JSON.stringify(got)}, expected ${want}`;
    return same(num(got), want, tolerance) ? undefined : `got ${got}, expected ${want}`;
  }
  const exp = expectedJSON(want);
  if (typeof got === "string") return `got ${got}, expected histogram ${JSON.stringify(exp)}`;
  const eq = (a: string, b: string) => same(num(a), num(b), tolerance);
  const gb = got.buckets ?? [];
  const eb = exp.buckets ?? [];
  const ok =
    eq(got.count, exp.count) &&
    eq(got.sum, exp.sum) &&
    gb.length === eb.length &&
    gb.every((b, i) => b[0] === eb[i]![0] && eq(b[1], eb[i]![1]) && eq(b[2], eb[i]![2]) && eq(b[3], eb[i]![3]));
  return ok ? undefined : `got histogram ${JSON.stringify(got)}, expected ${JSON.stringify(exp)}`;
}
