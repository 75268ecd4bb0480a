import type { Expr } from "../promql/ast.js";
import type { SampleSource } from "../promql/engine.js";
import { exprString } from "../promql/printer.js";
import { checkRange, type QueryOptions, type QueryOutcome, rangeQuery, type RangeRunner } from "../promql/query.js";
import { latestRead, splittable, usesAnchor } from "./reach.js";
import { pieceKey, type ScopeKey, scopeHash } from "./keys.js";
import { concatPieces, type MatrixSeries, type PieceAnswer, slicePiece } from "./matrix.js";
import { alignToStep, type Grid, lastStep, phaseOf, type Piece, splitGrid } from "./range.js";
import type { PieceStore } from "./store.js";
import { mergedOverSteps } from "../promql/histogram/notes.js";

/**
 * The query frontend of range queries (what Thanos, Cortex and Mimir put in front of Prometheus): the range is
 * cut into pieces at multiples of a split interval, the pieces are evaluated concurrently and their matrices
 * concatenated, and pieces whose data can no longer change are kept in a results cache.
 *
 * Why splitting gives the same answer. The engine's value at a step t depends on t alone, never on the rest
 * of the range: lookback, ranges and offsets are relative to t; subqueries evaluate on multiples of their own
 * step (absolute, not relative to the query's start); pushed-down aggregations are exact. The exceptions
 * are `@ start()` / `@ end()`, which pieces evaluate anchored to the whole query's range (QueryWindow.anchor),
 * and `info()`, whose lookups Prometheus bounds by the whole range: such queries run whole (splittable).
 * Each step belongs to exactly one piece (splitGrid), so concatenating per series gives every point once.
 * Annotations are the union, as one evaluation deduplicates them; `limit` is applied to the whole answer.
 *
 * What is cached. A piece's steps are stored only where every sample they can read (latestRead: offsets and
 * `@` included) lies before now − settle, the window in which late and out-of-order writes are still
 * expected. A piece still filling up (today's, under a 1d split) keeps the extent of its settled steps, and a
 * later request evaluates only the steps after that extent, growing it (Mimir's results cache does the same
 * with "extents"): a dashboard refreshed every 30 s re-reads minutes, not the day so far. Keys hold the
 * tenant's scope, the printed query, the step and grid phase, the split interval, the piece's index and the
 * anchor if the query uses one (keys.ts). A stored piece may cover more steps than asked for (a moving
 * dashboard's first piece shrinks refresh after refresh): it is then cut to the steps asked for, unless it
 * carries annotations, which cannot be cut by step and are recomputed instead.
 */

export interface FrontendSettings {
  /** Split interval; pieces are aligned to its multiples. */
  splitMs: number;
  /** Align start and end to multiples of the step (changes answers of unaligned ranges; opt-in). */
  alignStep: boolean;
  /** How long after a sample's time writes may still arrive for it (PROMGATE_CACHE_SETTLE). */
  settleMs: number;
  /** The results cache; absent = off. */
  store: PieceStore | undefined;
  /** Part of every key: a new engine never serves an old engine's answers. */
  version: string;
}

export interface CacheEvents {
  hit(): void;
  miss(): void;
  stored(bytes: number, held: number | undefined): void;
}

/** One range request as the frontend gets it (the parameters already checked by request.ts). */
export interface RangeCall {
  expr: Expr;
  startMs: number;
  endMs: number;
  stepMs: number;
  source: SampleSource;
  opts: QueryOptions;
}

/** Pieces evaluated at once per request: enough to overlap Elasticsearch round trips, few enough to share. */
const CONCURRENCY = 4;

/**
 * Beyond this many pieces a query runs whole: each piece reads Elasticsearch on its own, and a long range at a
 * coarse step (11,000 steps of a day under a 1d split) must not turn one request into thousands of searches.
 */
export const MAX_PIECES = 256;

interface StoredPiece extends PieceAnswer {
  startMs: number;
  endMs: number;
  /** The query text as sent: annotation positions refer to it. */
  query: string;
}

export class QueryFrontend {
  constructor(
    private readonly settings: FrontendSettings,
    private readonly events: CacheEvents,
    private readonly now: () => number,
  ) {}

  /** A runner for one request: `cache` false (Cache-Control: no-store, `nocache`) neither reads nor writes. */
  runner(scope: ScopeKey, cache: boolean): RangeRunner {
    return (expr, startMs, endMs, stepMs, source, opts) => this.range({ expr, startMs, endMs, stepMs, source, opts }, cache ? scope : undefined);
  }

  async range(call: RangeCall, scope: ScopeKey | undefined): Promise<QueryOutcome> {
    const { expr, source, opts } = call;
    const asked: Grid = this.settings.alignStep ? alignToStep(call) : { startMs: call.startMs, endMs: call.endMs, stepMs: call.stepMs };
    // Alignment may add a step: the resolution limit holds for the range evaluated.
    checkRange(expr, asked.startMs, asked.endMs, asked.stepMs);
    const anchor = { startMs: asked.startMs, endMs: asked.endMs };
    const grid = lastStep(asked);
    const pieces = splitGrid(grid, this.settings.splitMs);
    // Stats describe one evaluation's work; they are not a sum of pieces' and never come from a cache.
    if (opts.stats || !splittable(expr) || pieces.length > MAX_PIECES) return rangeQuery(expr, asked.startMs, asked.endMs, asked.stepMs, source, opts);
    const store = scope ? this.settings.store : undefined;
    const ctx: PieceContext = {
      call,
      grid,
      anchor,
      store,
      scope: store && scope ? await scopeHash(scope) : "",
      printed: store ? exprString(expr) : "",
      settledBefore: this.now() - this.settings.settleMs,
    };
    const answers = await inOrder(pieces, (p) => this.piece(ctx, p));
    // An annotation that sums up every step (how many, from when to when) cannot be put together from pieces.
    if (answers.some((a) => a.infos.some(mergedOverSteps))) return rangeQuery(expr, asked.startMs, asked.endMs, asked.stepMs, source, opts);
    const merged = concatPieces(answers);
    const warnings = merged.warnings;
    let result: MatrixSeries[] = merged.result;
    if (opts.limit !== undefined && result.length > opts.limit) {
      warnings.push("results truncated due to limit");
      result = result.slice(0, opts.limit);
    }
    return { data: { resultType: "matrix", result }, warnings, infos: merged.infos };
  }

  private async piece(ctx: PieceContext, p: Piece): Promise<PieceAnswer> {
    const { call, anchor } = ctx;
    const evaluate = async (fromMs: number, toMs: number): Promise<PieceAnswer> => {
      const opts: QueryOptions = { ...(call.opts.query !== undefined ? { query: call.opts.query } : {}), ...(call.opts.deadline !== undefined ? { deadline: call.opts.deadline } : {}), anchor };
      const r = await rangeQuery(call.expr, fromMs, toMs, call.stepMs, call.source, opts);
      return { result: r.data.result as MatrixSeries[], warnings: r.warnings, infos: r.infos };
    };
    const store = ctx.store;
    const settledEnd = store ? lastSettledStep(ctx, p) : undefined;
    if (!store || settledEnd === undefined) return evaluate(p.startMs, p.endMs);
    const key = await pieceKey(ctx.scope, {
      version: this.settings.version,
      query: ctx.printed,
      stepMs: call.stepMs,
      phaseMs: phaseOf(ctx.grid),
      splitMs: this.settings.splitMs,
      index: p.index,
      anchor: usesAnchor(call.expr) ? anchor : undefined,
    });
    const text = await store.get(key);
    const stored = text === undefined ? undefined : (JSON.parse(text) as StoredPiece);
    const query = call.opts.query ?? "";
    const save = async (piece: StoredPiece): Promise<void> => {
      const value = JSON.stringify(piece);
      await store.put(key, value);
      this.events.stored(2 * value.length, store.bytes());
    };
    if (stored && stored.startMs <= p.startMs && stored.endMs >= p.startMs) {
      const annotated = stored.warnings.length > 0 || stored.infos.length > 0;
      if (stored.startMs === p.startMs && stored.endMs === p.endMs && (!annotated || stored.query === query)) {
        this.events.hit();
        return stored;
      }
      if (!annotated) {
        this.events.hit();
        const head: PieceAnswer = { result: slicePiece(stored.result, p.startMs, Math.min(stored.endMs, p.endMs)), warnings: [], infos: [] };
        if (stored.endMs >= p.endMs) return head;
        // The stored extent ends inside the piece (it was stored while the piece was still filling up): only
        // the steps after it are evaluated, and the extent grows by those of them that have settled since.
        const tail = await evaluate(stored.endMs + call.stepMs, p.endMs);
        if (settledEnd > stored.endMs && tail.warnings.length === 0 && tail.infos.length === 0) {
          const grown = concatPieces([{ result: stored.result, warnings: [], infos: [] }, { result: slicePiece(tail.result, stored.endMs + call.stepMs, settledEnd), warnings: [], infos: [] }]);
          await save({ ...grown, startMs: stored.startMs, endMs: settledEnd, query });
        }
        return concatPieces([head, tail]);
      }
    }
    this.events.miss();
    const fresh = await evaluate(p.startMs, p.endMs);
    if (settledEnd === p.endMs) await save({ ...fresh, startMs: p.startMs, endMs: p.endMs, query });
    // Only the settled steps of a piece still filling up are kept; annotations cannot be cut by step, so an
    // annotated answer is kept only whole.
    else if (fresh.warnings.length === 0 && fresh.infos.length === 0) await save({ result: slicePiece(fresh.result, p.startMs, settledEnd), warnings: [], infos: [], startMs: p.startMs, endMs: settledEnd, query });
    return fresh;
  }
}

/**
 * The last step of the piece whose every read lies before now − settle, or undefined when even its first
 * step may still change. latestRead grows with the step's time, so a binary search over the steps finds it.
 */
function lastSettledStep(ctx: PieceContext, p: Piece): number | undefined {
  const settled = (t: number) => latestRead(ctx.call.expr, t, ctx.anchor) < ctx.settledBefore;
  const step = ctx.call.stepMs;
  if (!settled(p.startMs)) return undefined;
  let lo = 0; // settled
  let hi = Math.floor((p.endMs - p.startMs) / step); // the last step
  if (settled(p.startMs + hi * step)) return p.endMs;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (settled(p.startMs + mid * step)) lo = mid;
    else hi = mid;
  }
  return p.startMs + lo * step;
}

interface PieceContext {
  call: RangeCall;
  grid: Grid;
  anchor: { startMs: number; endMs: number };
  store: PieceStore | undefined;
  scope: string;
  printed: string;
  settledBefore: number;
}

/**
 * Runs `work` over the items, CONCURRENCY at a time, and returns the results in the items' order. When
 * pieces fail, the earliest piece's error is thrown: the error one evaluation of the whole range would have
 * stopped at.
 */
async function inOrder<T, R>(items: T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    // After a failure no new piece starts; the ones running finish (their results are discarded).
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = { status: "fulfilled", value: await work(items[i]!) };
      } catch (reason) {
        results[i] = { status: "rejected", reason };
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
  const out: R[] = [];
  for (const r of results) {
    if (!r) continue;
    if (r.status === "rejected") throw r.reason;
    out.push(r.value);
  }
  return out;
}
