import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { es, integrationConfig, uniquePart } from "../helpers/es.js";
import { type SeriesSpec, writeBody } from "../helpers/payload.js";
import { type EvalCommand, type Labels, parseScript, type Section } from "./script.js";

/**
 * promgate's PromQL conformance suite: every script in ./scripts is loaded through remote_write into the
 * real Elasticsearch (one data stream per script section, i.e. per `clear`), then each `eval` runs through
 * the HTTP API and its answer is compared with the expected series: labels, timestamps and values exactly
 * (NaN equals NaN), the order where the script says it matters, errors where it names them, and annotations:
 * each expected one must come, and none that the script does not expect.
 *
 * Time 0 of a script is the Unix epoch, as in Prometheus' promqltest, so `time()`, `timestamp()` and the date
 * functions give the same numbers as there. That works because the test distribution's TSDS has no time window
 * (no data-streams module sets one), so Elasticsearch accepts samples from 1970.
 */

const here = dirname(fileURLToPath(import.meta.url));
const SCRIPTS = join(here, "scripts");
const DEV = basic("dev", "promgate-dev");
const app = createApp(integrationConfig(), defaultDeps());
const run = uniquePart("cf");

interface Loaded {
  file: string;
  sections: (Section & { prefix: string })[];
}

const scripts: Loaded[] = readdirSync(SCRIPTS)
  .filter((f) => f.endsWith(".test"))
  .sort()
  .map((file, fi) => ({
    file,
    sections: parseScript(readFileSync(join(SCRIPTS, file), "utf8"), file).map((s, si) => ({
      ...s,
      prefix: `/metrics/conformance/${run}_${fi}_${si}`,
    })),
  }));

/** Requests stay well below the ingest limits (10,000 series, 100,000 samples). */
function batches(series: SeriesSpec[]): SeriesSpec[][] {
  const out: SeriesSpec[][] = [[]];
  let samples = 0;
  for (const s of series) {
    if (samples + s.samples.length > 20_000 && out[out.length - 1]!.length > 0) {
      out.push([]);
      samples = 0;
    }
    out[out.length - 1]!.push(s);
    samples += s.samples.length;
  }
  return out;
}

beforeAll(async () => {
  const writes: { prefix: string; body: SeriesSpec[] }[] = [];
  for (const s of scripts) {
    for (const sec of s.sections) {
      const series = sec.series.filter((x) => x.samples.length > 0);
      for (const b of batches(series)) if (b.length > 0) writes.push({ prefix: sec.prefix, body: b });
    }
  }
  const queue = [...writes];
  const worker = async () => {
    for (let w = queue.shift(); w; w = queue.shift()) {
      const res = await app.request(`${w.prefix}/api/v1/write`, { method: "POST", body: writeBody(w.body), headers: { ...PRW1_HEADERS, authorization: DEV } });
      if (res.status !== 204) throw new Error(`loading ${w.prefix}: ${res.status} ${await res.text()}`);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  await es("POST", `/metrics-conformance.prometheus-${run}_*/_refresh?ignore_unavailable=true&allow_no_indices=true`);
}, 300_000);

const num = (s: string): number => (s === "+Inf" ? Infinity : s === "-Inf" ? -Infinity : Number(s));
/** Exact (0 and -0 differ, as in Prometheus' output), NaN equal to NaN; a script may allow a relative tolerance for one eval (`# tolerance 1e-12`). */
const same = (a: number, b: number, tolerance = 0): boolean =>
  Object.is(a, b) || (a === b && a !== 0) || (Number.isNaN(a) && Number.isNaN(b)) || (tolerance > 0 && Math.abs(a - b) <= tolerance * Math.max(Math.abs(a), Math.abs(b)));
const key = (l: Labels): string => JSON.stringify(Object.keys(l).sort().map((k) => [k, l[k]]));
const show = (l: Labels): string => `${l.__name__ ?? ""}{${Object.keys(l).filter((k) => k !== "__name__").sort().map((k) => `${k}=${JSON.stringify(l[k])}`).join(", ")}}`;
/** Annotations carry the position of what they are about; scripts name the text only, as promqltest does. */
const withoutPosition = (a: string): string => a.replace(/ \(\d+:\d+\)$/, "");

interface Answer {
  status: string;
  error?: string;
  data?: { resultType: string; result: unknown };
  warnings?: string[];
  infos?: string[];
}

async function evaluate(cmd: EvalCommand, prefix: string): Promise<Answer> {
  const params = new URLSearchParams({ query: cmd.expr });
  if (cmd.range) {
    params.set("start", String(cmd.range.startMs / 1000));
    params.set("end", String(cmd.range.endMs / 1000));
    params.set("step", String(cmd.range.stepMs / 1000));
  } else params.set("time", String(cmd.atMs / 1000));
  const res = await app.request(`${prefix}/api/v1/${cmd.range ? "query_range" : "query"}?${params}`, { headers: { authorization: DEV } });
  const body = (await res.json()) as Answer;
  if (body.status === "error" && res.status >= 500 && !/timed out/.test(body.error ?? "")) throw new Error(`${res.status}: ${body.error}`);
  return body;
}

function checkAnnotations(cmd: EvalCommand, got: Answer): string[] {
  const problems: string[] = [];
  for (const [kind, none, list] of [["warn", "no_warn", got.warnings ?? []], ["info", "no_info", got.infos ?? []]] as const) {
    const texts = list.map(withoutPosition);
    for (const e of cmd.expectations.filter((x) => x.kind === kind)) {
      if (texts.length === 0) problems.push(`expected ${kind} annotations, got none`);
      else if (e.message !== undefined && !texts.includes(e.message)) problems.push(`expected ${kind} ${JSON.stringify(e.message)}, got ${JSON.stringify(texts)}`);
      else if (e.regex && !texts.some((t) => e.regex!.test(t))) problems.push(`expected ${kind} matching ${e.regex}, got ${JSON.stringify(texts)}`);
    }
    // Stricter than promqltest: an annotation the script does not expect is a failure, `no_warn` or not.
    const expected = cmd.expectations.some((x) => x.kind === kind);
    if ((!expected || cmd.expectations.some((x) => x.kind === none)) && texts.length > 0) problems.push(`unexpected ${kind} annotations ${JSON.stringify(texts)}`);
  }
  return problems;
}

function checkResult(cmd: EvalCommand, got: Answer): string[] {
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
  if (resultType !== "vector") return [...problems, `expected a vector, got ${resultType} ${JSON.stringify(result)}`];
  const actual = result as { metric: Labels; value: [number, string] }[];
  if (actual.length !== cmd.series.length) {
    problems.push(`expected ${cmd.series.length} series, got ${actual.length}: ${actual.map((s) => `${show(s.metric)} ${s.value[1]}`).join("; ")}`);
  }
  const byKey = new Map(actual.map((s, i) => [key(s.metric), { s, i }]));
  cmd.series.forEach((exp, i) => {
    const hit = byKey.get(key(exp.labels));
    if (!hit) return problems.push(`missing ${show(exp.labels)} ${exp.values[0]}`);
    if (hit.s.value[0] !== cmd.atMs / 1000) problems.push(`${show(exp.labels)} at ${hit.s.value[0]}, expected at ${cmd.atMs / 1000}`);
    if (!same(num(hit.s.value[1]), exp.values[0]!, cmd.tolerance)) problems.push(`${show(exp.labels)}: got ${hit.s.value[1]}, expected ${exp.values[0]}`);
    if (cmd.expectations.some((x) => x.kind === "ordered") && hit.i !== i) problems.push(`${show(exp.labels)} at position ${hit.i}, expected ${i}`);
    return undefined;
  });
  return problems;
}

function checkMatrix(cmd: EvalCommand, actual: { metric: Labels; values: [number, string][] }[]): string[] {
  const problems: string[] = [];
  const { startMs, endMs, stepMs } = cmd.range!;
  const byKey = new Map(actual.map((s) => [key(s.metric), s]));
  const expectedKeys = new Set(cmd.series.map((s) => key(s.labels)));
  for (const s of actual) if (!expectedKeys.has(key(s.metric))) problems.push(`unexpected series ${show(s.metric)} ${JSON.stringify(s.values)}`);
  for (const exp of cmd.series) {
    const got = byKey.get(key(exp.labels));
    if (!got) {
      problems.push(`missing series ${show(exp.labels)}`);
      continue;
    }
    const points = new Map(got.values.map(([t, v]) => [Math.round(t * 1000), num(v)]));
    for (let t = startMs, k = 0; t <= endMs; t += stepMs, k++) {
      const want = exp.values[k];
      const have = points.get(t);
      points.delete(t);
      if (want === undefined && have !== undefined) problems.push(`${show(exp.labels)} @${t / 1000}: got ${have}, expected no point`);
      else if (want !== undefined && have === undefined) problems.push(`${show(exp.labels)} @${t / 1000}: no point, expected ${want}`);
      else if (want !== undefined && !same(have!, want, cmd.tolerance)) problems.push(`${show(exp.labels)} @${t / 1000}: got ${have}, expected ${want}`);
    }
    for (const [t] of points) problems.push(`${show(exp.labels)}: point off the step grid at ${t / 1000}`);
  }
  return problems;
}

for (const script of scripts) {
  describe(script.file, () => {
    for (const section of script.sections) {
      for (const cmd of section.evals) {
        it(`${cmd.line}: ${cmd.expr}`, async () => {
          const got = await evaluate(cmd, section.prefix);
          expect(checkResult(cmd, got), `${script.file}:${cmd.line} ${cmd.expr}`).toEqual([]);
        });
      }
    }
  });
}
