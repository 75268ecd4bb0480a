import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, defaultDeps } from "../../src/app.js";
import { Compactor } from "../../src/chunks/compactor.js";
import { chunksTemplate } from "../../src/elastic/templates.js";
import { basic, PRW1_HEADERS } from "../helpers/config.js";
import { es, integrationConfig, uniquePart } from "../helpers/es.js";
import { type SeriesSpec, writeBody } from "../helpers/payload.js";
import { type Answer, checkResult } from "./check.js";
import { type EvalCommand, type LoadedSeries, parseScript, scriptSettings, type Section } from "./script.js";

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
/** One app per distinct set of promgate settings that scripts ask for (`# promgate setting: …`). */
const apps = new Map<string, ReturnType<typeof createApp>>();
function appFor(settings: Record<string, string>): ReturnType<typeof createApp> {
  const key = JSON.stringify(settings);
  let app = apps.get(key);
  if (!app) apps.set(key, (app = createApp(integrationConfig(settings), defaultDeps())));
  return app;
}
/**
 * The same data through the range query frontend: split at every 150 s (boundaries between steps and on
 * them) with the results cache on. Script data lies at the epoch, long settled, so every piece is cached.
 */
const frontendFor = (settings: Record<string, string>) => appFor({ ...settings, PROMGATE_QUERY_SPLIT_INTERVAL: "150s", PROMGATE_CACHE: "true" });
const run = uniquePart("cf");
/**
 * The same data from the chunk index: every script's streams compacted (script data lies at the epoch, long
 * settled), read by an app with PROMGATE_CHUNKS on; its answers must equal the raw ones byte for byte.
 */
const chunkIndex = `promgate-chunks-${run.replace(/_/g, "-")}`;
const chunksFor = (settings: Record<string, string>) => appFor({ ...settings, PROMGATE_CHUNKS: "true", PROMGATE_CHUNKS_INDEX: chunkIndex });

interface Loaded {
  file: string;
  settings: Record<string, string>;
  sections: (Section & { prefix: string })[];
}

/** CONFORMANCE_ONLY=a.test,b.test runs (and loads) those scripts alone, for work on one feature. */
const only = process.env.CONFORMANCE_ONLY?.split(",").filter((f) => f !== "");
const scripts: Loaded[] = readdirSync(SCRIPTS)
  .filter((f) => f.endsWith(".test") && (!only || only.includes(f)))
  .sort()
  .map((file, fi) => {
    const text = readFileSync(join(SCRIPTS, file), "utf8");
    return {
      file,
      settings: scriptSettings(text),
      sections: parseScript(text, file).map((s, si) => ({
        ...s,
        prefix: `/metrics/conformance/${run}_${fi}_${si}`,
      })),
    };
  });

/** A script's series as a remote write 1.0 series: floats and staleness markers, native histograms apart. */
function toSpec(s: LoadedSeries): SeriesSpec {
  const samples: SeriesSpec["samples"] = [];
  const histograms: NonNullable<SeriesSpec["histograms"]> = [];
  for (const [t, v] of s.samples) {
    if (typeof v === "object") histograms.push([t, v]);
    else samples.push([t, v]);
  }
  return { labels: s.labels, samples, ...(histograms.length > 0 ? { histograms } : {}) };
}

/** Requests stay well below the ingest limits (10,000 series, 100,000 samples). */
function batches(series: SeriesSpec[]): SeriesSpec[][] {
  const out: SeriesSpec[][] = [[]];
  let samples = 0;
  for (const s of series) {
    const n = s.samples.length + (s.histograms?.length ?? 0);
    if (samples + n > 20_000 && out[out.length - 1]!.length > 0) {
      out.push([]);
      samples = 0;
    }
    out[out.length - 1]!.push(s);
    samples += n;
  }
  return out;
}

beforeAll(async () => {
  const writes: { prefix: string; body: SeriesSpec[] }[] = [];
  for (const s of scripts) {
    for (const sec of s.sections) {
      const series = sec.series.filter((x) => x.samples.length > 0).map(toSpec);
      for (const b of batches(series)) if (b.length > 0) writes.push({ prefix: sec.prefix, body: b });
    }
  }
  const queue = [...writes];
  const worker = async () => {
    for (let w = queue.shift(); w; w = queue.shift()) {
      const res = await appFor({}).request(`${w.prefix}/api/v1/write`, { method: "POST", body: writeBody(w.body), headers: { ...PRW1_HEADERS, authorization: DEV } });
      if (res.status !== 204) throw new Error(`loading ${w.prefix}: ${res.status} ${await res.text()}`);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  await es("POST", `/metrics-conformance.prometheus-${run}_*/_refresh?ignore_unavailable=true&allow_no_indices=true`);
  const { template } = chunksTemplate(chunkIndex);
  await es("PUT", `/${chunkIndex}`, { settings: template.settings, mappings: template.mappings });
  const compactor = new Compactor({ ...integrationConfig(), chunks: { index: chunkIndex, settleMs: 3_600_000 } }, (i, init) => fetch(i, init), undefined, Date.now, `metrics-conformance.prometheus-${run}_*`);
  while ((await compactor.step()).kind !== "idle");
}, 600_000);

afterAll(async () => {
  await es("DELETE", `/${chunkIndex}`);
});

async function evaluate(cmd: EvalCommand, prefix: string, settings: Record<string, string>): Promise<Answer> {
  const res = await appFor(settings).request(path(cmd, prefix), { headers: { authorization: DEV } });
  const body = (await res.json()) as Answer;
  if (body.status === "error" && res.status >= 500 && !/timed out/.test(body.error ?? "")) throw new Error(`${res.status}: ${body.error}`);
  return body;
}

/** The answer as sent, status line included: what the frontend's answers must equal byte for byte. */
async function raw(target: ReturnType<typeof createApp>, cmd: EvalCommand, prefix: string): Promise<string> {
  const res = await target.request(path(cmd, prefix), { headers: { authorization: DEV } });
  return `${res.status} ${await res.text()}`;
}

function path(cmd: EvalCommand, prefix: string): string {
  const params = new URLSearchParams({ query: cmd.expr });
  if (cmd.range) {
    params.set("start", String(cmd.range.startMs / 1000));
    params.set("end", String(cmd.range.endMs / 1000));
    params.set("step", String(cmd.range.stepMs / 1000));
  } else params.set("time", String(cmd.atMs / 1000));
  return `${prefix}/api/v1/${cmd.range ? "query_range" : "query"}?${params}`;
}

for (const script of scripts) {
  describe(script.file, () => {
    for (const section of script.sections) {
      for (const cmd of section.evals) {
        it(`${cmd.line}: ${cmd.expr}`, async () => {
          const got = await evaluate(cmd, section.prefix, script.settings);
          expect(checkResult(cmd, got), `${script.file}:${cmd.line} ${cmd.expr}`).toEqual([]);
          const plain = await raw(appFor(script.settings), cmd, section.prefix);
          expect(await raw(chunksFor(script.settings), cmd, section.prefix), "from the chunk index").toBe(plain);
          if (cmd.range) {
            const want = await raw(appFor(script.settings), cmd, section.prefix);
            expect(await raw(frontendFor(script.settings), cmd, section.prefix), "split, cold cache").toBe(want);
            expect(await raw(frontendFor(script.settings), cmd, section.prefix), "split, warm cache").toBe(want);
          }
        });
      }
    }
  });
}

describe("chunk index", () => {
  it("served the answers above from chunk documents", async () => {
    const text = await (await chunksFor({}).request("/metrics", { headers: { authorization: DEV } })).text();
    const served = Number(/^promgate_chunks_read_windows_total\{source="chunks"\} (\S+)$/m.exec(text)?.[1] ?? 0);
    expect(served).toBeGreaterThan(100);
  });
});
