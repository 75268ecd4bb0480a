import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { PromgateError } from "../../src/errors.js";
import type { NativeHistogram } from "../../src/model/histogram.js";
import { type CompiledMatcher, matchesAll } from "../../src/query/matchers.js";
import type { SampleSource, SeriesData } from "../../src/query/promql/engine.js";
import { EXPERIMENTAL_SYNTAX, type ParseOptions, parsePromQL } from "../../src/query/promql/parse.js";
import { instantQuery, rangeQuery } from "../../src/query/promql/query.js";
import { type Answer, checkResult } from "../conformance/check.js";
import { type EvalCommand, parseScript, scriptSettings, type Section } from "../conformance/script.js";

/**
 * Conformance scripts run straight against the engine, with their data in memory instead of Elasticsearch:
 * the same expectations (checked through Prometheus' own engine by scripts/conformance-reference.sh), the
 * same checks of the API's JSON answer. conformance.test.ts runs them through the write path and the real
 * Elasticsearch; this run needs neither, so the unit suite sees a regression too.
 */

const here = dirname(fileURLToPath(import.meta.url));
const DIR = join(here, "../conformance/scripts");
/** Every script (SCRIPTS=a.test,b.test picks some): a regression shows here without Elasticsearch. */
const SCRIPTS = process.env.SCRIPTS ? process.env.SCRIPTS.split(",") : readdirSync(DIR).filter((f) => f.endsWith(".test")).sort();

function memorySource(section: Section): SampleSource {
  const data: SeriesData[] = section.series.map((s) => {
    const d: SeriesData = { labels: s.labels, ts: [], vs: [], stale: new Set() };
    for (const [t, v] of s.samples) {
      if (v === "stale") d.stale.add(d.ts.length);
      if (typeof v === "object") {
        (d.hs ??= new Array<NativeHistogram | undefined>(d.ts.length).fill(undefined)).push(v);
      } else d.hs?.push(undefined);
      d.ts.push(t);
      d.vs.push(typeof v === "number" ? v : Number.NaN);
    }
    return d;
  });
  return {
    async select(matchers: CompiledMatcher[], startMs: number, endMs: number) {
      const out: SeriesData[] = [];
      for (const s of data) {
        if (!matchesAll(s.labels, matchers)) continue;
        const keep = s.ts.flatMap((t, i) => (t >= startMs && t <= endMs ? [i] : []));
        if (keep.length === 0) continue;
        const stale = new Set<number>();
        keep.forEach((i, j) => s.stale.has(i) && stale.add(j));
        out.push({
          labels: s.labels,
          ts: keep.map((i) => s.ts[i]!),
          vs: keep.map((i) => s.vs[i]!),
          stale,
          ...(s.hs ? { hs: keep.map((i) => s.hs![i]) } : {}),
        });
      }
      return out;
    },
  };
}

async function answer(cmd: EvalCommand, source: SampleSource, options: ParseOptions): Promise<Answer> {
  try {
    const expr = parsePromQL(cmd.expr, options);
    const outcome = cmd.range
      ? await rangeQuery(expr, cmd.range.startMs, cmd.range.endMs, cmd.range.stepMs, source, { query: cmd.expr })
      : await instantQuery(expr, cmd.atMs, source, { query: cmd.expr });
    // Through JSON, as the API sends it.
    return JSON.parse(JSON.stringify({ status: "success", ...outcome })) as Answer;
  } catch (e) {
    if (e instanceof PromgateError) return { status: "error", error: e.message };
    throw e;
  }
}

for (const file of SCRIPTS) {
  const text = readFileSync(join(DIR, file), "utf8");
  const sections = parseScript(text, file);
  // The parser options the script's promgate settings turn on (as loadConfig and the API would).
  const experimental = (scriptSettings(text).PROMGATE_PROMQL_EXPERIMENTAL ?? "").split(",");
  const options: ParseOptions = { experimental: new Set(EXPERIMENTAL_SYNTAX.filter((f) => experimental.includes(f))) };
  describe(`${file} (in memory)`, () => {
    for (const section of sections) {
      const source = memorySource(section);
      for (const cmd of section.evals) {
        it(`${cmd.line}: ${cmd.expr}`, async () => {
          expect(checkResult(cmd, await answer(cmd, source, options)), `${file}:${cmd.line} ${cmd.expr}`).toEqual([]);
        });
      }
    }
  });
}
