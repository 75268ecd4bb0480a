import type { Fetch } from "../elastic/http.js";
import { streamPattern } from "../http/auth.js";
import { Storage } from "../query/storage/storage.js";
import { chunkDocument } from "./documents.js";
import { type ChunkConfig, ChunkIndex } from "./index-io.js";
import { METRIC_STREAMS, nextSampleTime, rawCounts, rawStreams, streamScope } from "./raw-streams.js";
import { settledEnd, WINDOW_MS, windowStart } from "./window.js";

/**
 * The compactor: turns settled two-hour windows of each metric data stream into chunk documents
 * (documents.ts), one window of one stream per step, so a step stays small enough for a Workers Cron
 * Trigger's CPU limit and any run can stop between steps. Where it got to is kept per stream in the chunk
 * index (`progress`), so a run resumes where the last one stopped, on any runtime; a window is rewritten
 * whole with deterministic ids, so redoing one (a crash between writing and recording progress, or a
 * recompaction) is harmless. Windows a read found to differ from their raw documents (`dirty`) go first.
 */

export interface CompactorEvents {
  /** A window of a stream was compacted: its series and raw samples, and how long it took. */
  window(series: number, samples: number, seconds: number): void;
  /** How far the least advanced stream lags behind the settled horizon, in seconds (0: up to date). */
  lag(seconds: number): void;
}

export type StepOutcome =
  | { kind: "window"; stream: string; start: number; series: number; samples: number }
  | { kind: "skipped"; stream: string; from: number; to: number }
  | { kind: "dirty"; start: number; streams: string[] }
  | { kind: "idle" };

export class Compactor {
  private readonly index: ChunkIndex;
  private readonly storage: Storage;

  constructor(
    private readonly config: ChunkConfig,
    private readonly fetchFn: Fetch,
    private readonly events?: CompactorEvents,
    private readonly now: () => number = Date.now,
    /** Which data streams to compact (comma-separated patterns); every metric data stream by default. */
    private readonly streams = METRIC_STREAMS,
  ) {
    this.index = new ChunkIndex(config, fetchFn);
    this.storage = new Storage(config, fetchFn);
  }

  /** Steps until there is nothing left to do or `budgetMs` has passed; returns what each step did. */
  async run(budgetMs: number): Promise<StepOutcome[]> {
    const until = this.now() + budgetMs;
    const out: StepOutcome[] = [];
    while (this.now() < until) {
      const step = await this.step();
      out.push(step);
      if (step.kind === "idle") break;
    }
    return out;
  }

  /** One unit of work: a dirty window, else the next settled window of the least advanced stream. */
  async step(): Promise<StepOutcome> {
    const [dirty] = await this.index.dirty(1);
    if (dirty !== undefined) return this.recompact(dirty.start, dirty.corrupt === true);
    const settled = settledEnd(this.now(), this.config.chunks.settleMs);
    const [streams, progress] = await Promise.all([rawStreams(this.config, this.fetchFn, this.streams), this.index.progress()]);
    let next: { stream: string; start: number } | undefined;
    for (const [stream, first] of streams) {
      const start = progress.get(stream) ?? windowStart(first);
      if (start < settled && (!next || start < next.start)) next = { stream, start };
    }
    this.events?.lag(next ? (settled - next.start) / 1000 : 0);
    if (!next) return { kind: "idle" };
    const { stream, start } = next;
    const r = await this.compactWindow(stream, start);
    if (r.samples > 0) {
      await this.index.setProgress(stream, start + WINDOW_MS);
      return { kind: "window", stream, start, ...r };
    }
    // No data in the window: jump to the window of the next sample (never past the settled horizon).
    const t = await nextSampleTime(this.config, this.fetchFn, stream, start);
    const to = Math.min(settled, t === undefined ? settled : Math.max(start + WINDOW_MS, windowStart(t)));
    await this.index.setProgress(stream, to);
    return { kind: "skipped", stream, from: start, to };
  }

  /**
   * Redoes window `start` for every stream whose compacted count differs from its raw count (late writes
   * that bypassed promgate, deleted documents or indices), among the windows already compacted; with
   * `corrupt`, every compacted stream of the window.
   */
  private async recompact(start: number, corrupt: boolean): Promise<StepOutcome> {
    const [raw, compacted, progress] = await Promise.all([rawCounts(this.config, this.fetchFn, this.streams, start, start + WINDOW_MS), this.index.compactedCounts(start), this.index.progress()]);
    // Only streams this compactor owns: the chunk index may hold others' (compacted under other patterns).
    const mine = (s: string) => this.streams.split(",").some((g) => streamPattern(g).test(s));
    const streams = new Set([...raw.keys(), ...compacted.keys()].filter(mine));
    const redo = [...streams].filter((s) => (corrupt || (raw.get(s) ?? 0) !== (compacted.get(s) ?? 0)) && start < (progress.get(s) ?? -Infinity)).sort();
    for (const stream of redo) await this.compactWindow(stream, start);
    await this.index.clearDirty(start);
    return { kind: "dirty", start, streams: redo };
  }

  /** Reads one stream-window's raw samples and writes its chunk documents in their place. */
  async compactWindow(stream: string, start: number): Promise<{ series: number; samples: number }> {
    const t0 = performance.now();
    const scope = streamScope(stream);
    const range = { startMs: start, endMs: start + WINDOW_MS - 1 };
    const samples = await this.storage.snapshot(scope, async (at) => this.storage.samples(at, [], range, await this.storage.series(at, [], range), Number.MAX_SAFE_INTEGER));
    const run = `${this.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const docs = samples.map((s) => chunkDocument(stream, start, s, run));
    await this.index.replaceWindow(stream, start, run, docs);
    const n = docs.reduce((a, d) => a + d.docs, 0);
    this.events?.window(docs.length, n, (performance.now() - t0) / 1000);
    return { series: docs.length, samples: n };
  }
}
