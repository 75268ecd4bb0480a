import { PromgateError } from "../../errors.js";
import type { NativeHistogram } from "../../model/histogram.js";
import { type CompiledMatcher, compileMatcher, type Labels } from "../matchers.js";
import { validLabelName } from "../selector.js";
import { goQuote } from "./quote.js";
import type { Expr, VectorMatching, VectorSelector } from "./ast.js";
import { Annotations } from "./annotations.js";
import { average, type CallContext, checkUniqueLabelsets, IMPLEMENTATIONS, kahanSum, quantile, variance } from "./functions.js";
import { checkDeadline } from "./deadline.js";
import { kParam, limitK, limitRatio, paramWarnings } from "./limits.js";
import { duplicateOnOneSide, manyToOneNotExplicit, matchLabels } from "./matching.js";
import { positionOf } from "./parse.js";
import { dropName, formatValue, type InstantSample, isNameLabel, labelsKey, NAME_LABELS, nameKey, type RangeSeries, type Value } from "./values.js";
import type { FloatHistogram } from "./histogram/float.js";
import { type BucketSource, PushedCall, PushedPresence } from "./pushdown.js";
import { topK } from "./topk.js";
import { InfoJoin } from "./info.js";
import { LOOKBACK_MS, planLoads, type QueryWindow, resolveAt } from "./plan.js";
import { SeriesWindows } from "./window.js";
import { checkExtendedFunction, extendedReach, extendFloats, refuseHistograms, smoothedAt } from "./extended-range.js";
import { smoothedHistogramAt } from "./histogram/extended.js";
import { histogramString, mul as histogramMul } from "./histogram/float.js";
import { avgHistograms, sumHistograms } from "./histogram/aggregate.js";
import { histogramNotes as notes } from "./histogram/notes.js";
import { histogramBinary } from "./histogram/binary.js";

/**
 * Evaluates a PromQL AST with Prometheus 3 semantics: 5 m lookback and range selectors left-open
 * (t − d, t], a staleness marker ends a series at once, `offset` and `@` (incl. start()/end()), subqueries
 * on a step grid aligned to multiples of the step. Data for each selector is loaded once for the whole
 * query (the union of the windows all steps need), then every step is evaluated in memory.
 */

/** Prometheus' default step for subqueries in instant queries (the default evaluation interval). */
export const DEFAULT_SUBQUERY_STEP_MS = 60_000;

export interface SeriesData {
  labels: Labels;
  ts: number[];
  vs: number[];
  stale: Set<number>;
  /** Native histogram samples aligned with `ts`: where `hs[i]` is set, `vs[i]` is NaN and not a value. */
  hs?: (NativeHistogram | undefined)[];
}

/** Where selectors get their samples from (the ES-backed storage, or in-memory data in tests). */
export interface SampleSource extends Partial<BucketSource> {
  select(matchers: CompiledMatcher[], startMs: number, endMs: number): Promise<SeriesData[]>;
  /** Its series carry `__type__` and `__unit__` from metadata (type-and-unit-labels, type-and-unit.ts). */
  typeAndUnitLabels?: boolean;
}

interface Loaded {
  data: SeriesData[];
  /** Cursors into `data` that advance with the evaluation time (window reuse between steps). */
  windows: SeriesWindows;
  /** A selector pinned with `@` selects the same samples at every step: computed once. */
  pinned?: InstantSample[] | RangeSeries[];
}

export class Evaluator {
  private readonly loaded = new Map<VectorSelector, Loaded>();
  /** Calls computed from Elasticsearch bucket statistics instead of samples (pushdown.ts). */
  private readonly pushed = new Map<Expr, PushedCall>();
  /** Instant selectors under count/group answered from bucket statistics (pushdown.ts). */
  private readonly presence = new Map<VectorSelector, PushedPresence>();
  /** Per info() call: its info series, loaded once for the query (info.ts). */
  private readonly infos = new Map<Expr, InfoJoin>();
  /** The source's series carry `__type__` from metadata: rate() and increase() judge counters by it. */
  private typeAndUnitLabels = false;
  /** Why each range function was or was not pushed down (for tests and debugging). */
  readonly pushdownNotes: string[] = [];

  /** Warnings and infos of this query (Prometheus' annotations). */
  readonly annotations: Annotations;
  /** Epoch ms after which evaluation gives up with a timeout error. */
  private readonly deadline: number;

  constructor(
    private readonly q: QueryWindow,
    private readonly subqueryDefaultStep: number,
    options: { annotations?: Annotations; deadline?: number } = {},
  ) {
    this.annotations = options.annotations ?? new Annotations();
    this.deadline = options.deadline ?? Infinity;
  }

  /** Loads every selector's data for the evaluation times [tmin, tmax] of the query (plan.ts decides what). */
  async load(expr: Expr, source: SampleSource): Promise<void> {
    this.typeAndUnitLabels = source.typeAndUnitLabels === true;
    const plan = planLoads(expr, this.q, source.selectBuckets !== undefined);
    this.pushdownNotes.push(...plan.notes);
    // Selectors load concurrently: Elasticsearch runs their searches side by side.
    const raw = [...plan.windows].map(async ([sel, [lo, hi]]) => {
      const data = await source.select(sel.matchers.map(compileMatcher), lo, hi);
      this.loaded.set(sel, { data, windows: new SeriesWindows(data) });
    });
    const pushed = [...plan.pushdowns].map(async ([call, p]) => {
      const data = await source.selectBuckets!(p.selector.matchers.map(compileMatcher), p.startMs, p.endMs, p.request);
      if (call.kind === "vector") this.presence.set(call, new PushedPresence(p, data));
      else this.pushed.set(call, new PushedCall(p, data, this.annotations, positionOf((call as Extract<Expr, { kind: "call" }>).args[0]!)));
    });
    const infos = [...plan.infos].map(async ([call, p]) => {
      // One millisecond wider than the plan: the source's lower bound may be exclusive; InfoJoin cuts exactly.
      const data = await source.select(p.matchers.map(compileMatcher), p.startMs - 1, p.endMs);
      this.infos.set(call, new InfoJoin(call, p, data, LOOKBACK_MS));
    });
    await Promise.all([...raw, ...pushed, ...infos]);
  }

  eval(e: Expr, t: number): Value {
    switch (e.kind) {
      case "number":
        return { type: "scalar", v: e.value };
      case "string":
        return { type: "string", v: e.value };
      case "paren":
        return this.eval(e.expr, t);
      case "vector":
        return { type: "vector", v: e.modifier === "smoothed" ? this.smoothedInstant(e, t) : this.instant(e, t) };
      case "matrix":
        return { type: "matrix", v: e.vector.modifier ? this.extendedMatrix(e.vector, e.rangeMs, t) : this.range(e.vector, e.rangeMs, t) };
      case "subquery":
        return { type: "matrix", v: this.subquery(e, t) };
      case "unary": {
        const v = this.eval(e.expr, t);
        if (e.op === "+") return v;
        if (v.type === "scalar") return { type: "scalar", v: -v.v };
        if (v.type === "vector") {
          const out = v.v.map((s): InstantSample => (s.h ? { labels: dropName(s.labels), value: Number.NaN, h: histogramMul(s.h, -1) } : { labels: dropName(s.labels), value: -s.value }));
          if (distinctNames([v]) > 1) checkUniqueLabelsets(out);
          return { type: "vector", v: out };
        }
        return v;
      }
      case "call":
        return this.call(e, t);
      case "aggregate":
        return { type: "vector", v: this.aggregate(e, t) };
      case "binary":
        return this.binary(e, t);
    }
  }

  private instant(sel: VectorSelector, t: number): InstantSample[] {
    const presence = this.presence.get(sel);
    if (presence) return presence.at((resolveAt(sel.at, this.q) ?? t) - sel.offsetMs);
    const loaded = this.loaded.get(sel);
    if (!loaded) return [];
    const at = resolveAt(sel.at, this.q);
    if (at !== undefined && loaded.pinned) return loaded.pinned as InstantSample[];
    const out = loaded.windows.instant((at ?? t) - sel.offsetMs, LOOKBACK_MS);
    if (at !== undefined) loaded.pinned = out;
    return out;
  }

  /** Samples in (end − range − before, end + after] with end = t − offset (or the `@` time − offset). */
  private range(sel: VectorSelector, rangeMs: number, t: number, reach = { before: 0, after: 0 }): RangeSeries[] {
    const loaded = this.loaded.get(sel);
    if (!loaded) return [];
    const at = resolveAt(sel.at, this.q);
    if (at !== undefined && loaded.pinned) return loaded.pinned as RangeSeries[];
    const end = (at ?? t) - sel.offsetMs;
    const out = loaded.windows.range(end - rangeMs - reach.before, end + reach.after);
    if (at !== undefined) loaded.pinned = out;
    return out;
  }

  /** An anchored or smoothed range selector's own value: each series' samples with its values at the bounds. */
  private extendedMatrix(sel: VectorSelector, rangeMs: number, t: number): RangeSeries[] {
    const end = (resolveAt(sel.at, this.q) ?? t) - sel.offsetMs;
    const out: RangeSeries[] = [];
    for (const s of this.range(sel, rangeMs, t, extendedReach(sel, LOOKBACK_MS))) {
      if (s.hs?.length) refuseHistograms(sel.modifier!);
      const r = extendFloats(s, end - rangeMs, end, sel.modifier === "smoothed");
      if (r) out.push(r);
    }
    return out;
  }

  /** A smoothed instant selector: each series' value interpolated at the evaluation time (extended-range.ts). */
  private smoothedInstant(sel: VectorSelector, t: number): InstantSample[] {
    const loaded = this.loaded.get(sel);
    if (!loaded) return [];
    const ref = (resolveAt(sel.at, this.q) ?? t) - sel.offsetMs;
    const out: InstantSample[] = [];
    // The samples within the lookback on either side of the evaluation time.
    for (const s of loaded.windows.range(ref - LOOKBACK_MS, ref + LOOKBACK_MS)) {
      if (s.hs?.length) {
        const c = { name: s.labels.__name__ ?? "", annotations: this.annotations, pos: positionOf(sel) };
        if (s.vs.length > 0) notes.mixedFloatsHistograms(this.annotations, c.name, c.pos);
        else {
          const h = smoothedHistogramAt(s.hts!, s.hs, ref, c);
          if (h) out.push({ labels: s.labels, value: Number.NaN, t, h });
        }
        continue;
      }
      const v = smoothedAt(s.ts, s.vs, ref);
      if (v !== undefined) out.push({ labels: s.labels, value: v, t });
    }
    return out;
  }

  private subquery(e: Extract<Expr, { kind: "subquery" }>, t: number): RangeSeries[] {
    const at = resolveAt(e.at, this.q);
    const end = (at ?? t) - e.offsetMs;
    const step = e.stepMs ?? this.subqueryDefaultStep;
    const series = new Map<string, RangeSeries>();
    // Steps on multiples of `step`, within (end − range, end]. Counted by index and checked against the
    // deadline before anything else: with a range like 9999999999999999999h, `ts + step` rounds back to `ts`,
    // and a loop that skipped before checking never ended.
    const first = Math.floor((end - e.rangeMs) / step) * step + step;
    for (let k = 0, ts = first; ts <= end; k++, ts = first + k * step) {
      checkDeadline(this.deadline);
      if (ts <= end - e.rangeMs) continue;
      const v = this.eval(e.expr, ts);
      if (v.type !== "vector") continue;
      for (const s of v.v) {
        const k = labelsKey(s.labels);
        let r = series.get(k);
        if (!r) series.set(k, (r = { labels: s.labels, ts: [], vs: [] }));
        if (s.h) {
          (r.hts ??= []).push(ts);
          (r.hs ??= []).push(s.h);
          continue;
        }
        r.ts.push(ts);
        r.vs.push(s.value);
      }
    }
    return [...series.values()];
  }

  private call(e: Extract<Expr, { kind: "call" }>, t: number): Value {
    const pushed = this.pushed.get(e);
    if (pushed && e.args[0]?.kind === "matrix") {
      const sel = e.args[0].vector;
      return { type: "vector", v: pushed.at((resolveAt(sel.at, this.q) ?? t) - sel.offsetMs) };
    }
    const info = this.infos.get(e);
    if (info) {
      const base = this.eval(e.args[0]!, t);
      return { type: "vector", v: info.at(base.type === "vector" ? base.v : [], t) };
    }
    const impl = IMPLEMENTATIONS[e.func];
    if (!impl) throw new PromgateError("unprocessable", `function ${e.func} is not supported`);
    const rangeArg = e.args.find((a) => a.kind === "matrix" || a.kind === "subquery");
    const modifier = rangeArg?.kind === "matrix" ? rangeArg.vector.modifier : undefined;
    if (modifier) checkExtendedFunction(modifier, e.func);
    // An anchored or smoothed range reaches the function with the samples around it (extended-range.ts).
    const args = e.args.map((a) => (modifier && a === rangeArg && a.kind === "matrix" ? { type: "matrix" as const, v: this.range(a.vector, a.rangeMs, t, extendedReach(a.vector, LOOKBACK_MS)) } : this.eval(a, t)));
    const ctx: CallContext = { t, rangeStart: t, rangeEnd: t, absentLabels: {}, annotations: this.annotations, argPos: e.args.map(positionOf), ...(modifier ? { extended: modifier } : {}), ...(this.typeAndUnitLabels ? { typeAndUnitLabels: true } : {}) };
    if (rangeArg?.kind === "matrix") {
      const at = resolveAt(rangeArg.vector.at, this.q);
      ctx.rangeEnd = (at ?? t) - rangeArg.vector.offsetMs;
      ctx.rangeStart = ctx.rangeEnd - rangeArg.rangeMs;
    } else if (rangeArg?.kind === "subquery") {
      const at = resolveAt(rangeArg.at, this.q);
      ctx.rangeEnd = (at ?? t) - rangeArg.offsetMs;
      ctx.rangeStart = ctx.rangeEnd - rangeArg.rangeMs;
    }
    if (e.func === "absent" || e.func === "absent_over_time") ctx.absentLabels = absentLabels(e.args[0]!);
    const result = impl(args, ctx);
    // Dropping __name__ can only merge series that differed in nothing else: check when names differed.
    if (result.type === "vector" && !KEEPS_NAME.has(e.func) && distinctNames(args) > 1) checkUniqueLabelsets(result.v);
    // label_replace/label_join may rewrite any label, so their output can collide whatever the names.
    if (result.type === "vector" && (e.func === "label_replace" || e.func === "label_join")) checkUniqueLabelsets(result.v);
    return result;
  }

  /** Per aggregation node: input label set → its group's labels (stable objects, so keys are cached). */
  private readonly groupCache = new WeakMap<Expr, WeakMap<Labels, Labels>>();

  private aggregate(e: Extract<Expr, { kind: "aggregate" }>, t: number): InstantSample[] {
    const input = this.eval(e.expr, t);
    const samples = input.type === "vector" ? input.v : [];
    const param = e.param ? this.eval(e.param, t) : undefined;
    const groups = new Map<string, { labels: Labels; members: InstantSample[] }>();
    let cache = this.groupCache.get(e);
    if (!cache) this.groupCache.set(e, (cache = new WeakMap()));
    for (const s of samples) {
      let labels = cache.get(s.labels);
      if (!labels) cache.set(s.labels, (labels = groupLabels(s.labels, e.grouping, e.without)));
      const k = labelsKey(labels);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { labels, members: [] }));
      g.members.push(s);
    }
    const out: InstantSample[] = [];
    const p = param?.type === "scalar" ? param.v : Number.NaN;
    if (param?.type === "scalar") paramWarnings(e.op, p, this.annotations, positionOf(e.param!));
    const exprPos = positionOf(e.expr);
    for (const g of groups.values()) {
      let members = g.members;
      if (members.some((m) => m.h)) {
        if (e.op === "sum" || e.op === "avg") {
          const h = this.histogramGroup(e.op, members, exprPos);
          if (h) out.push({ labels: g.labels, value: Number.NaN, h });
          continue;
        }
        if (IGNORE_HISTOGRAMS.has(e.op)) {
          notes.ignoredInAggregation(this.annotations, e.op, e.op === "topk" || e.op === "bottomk" ? positionOf(e) : exprPos);
          members = members.filter((m) => !m.h);
          if (members.length === 0) continue;
        }
      }
      const vs = members.map((m) => m.value);
      switch (e.op) {
        case "sum":
          out.push({ labels: g.labels, value: kahanSum(vs) });
          break;
        case "avg":
          out.push({ labels: g.labels, value: average(vs) });
          break;
        case "min":
          out.push({ labels: g.labels, value: vs.reduce((m, v) => (v < m || Number.isNaN(m) ? v : m)) });
          break;
        case "max":
          out.push({ labels: g.labels, value: vs.reduce((m, v) => (v > m || Number.isNaN(m) ? v : m)) });
          break;
        case "count":
          out.push({ labels: g.labels, value: vs.length });
          break;
        case "group":
          out.push({ labels: g.labels, value: 1 });
          break;
        case "stddev":
          out.push({ labels: g.labels, value: Math.sqrt(variance(vs)) });
          break;
        case "stdvar":
          out.push({ labels: g.labels, value: variance(vs) });
          break;
        case "quantile":
          out.push({ labels: g.labels, value: quantile(p, vs) });
          break;
        case "limitk":
          out.push(...limitK(g.members, p));
          break;
        case "limit_ratio":
          out.push(...limitRatio(g.members, p));
          break;
        case "topk":
        case "bottomk": {
          const k = kParam(p);
          if (!(k >= 1)) break;
          for (const m of topK(members, k, e.op === "topk")) out.push({ labels: m.labels, value: m.value });
          break;
        }
        case "count_values": {
          const name = param?.type === "string" ? param.v : "";
          // Prometheus 3 takes any UTF-8 label name but the empty one.
          if (!validLabelName(name)) throw new PromgateError("unprocessable", `invalid label name ${goQuote(name)}`);
          const counts = new Map<string, number>();
          for (const m of members) {
            // A histogram's value is its text form, as Prometheus' FloatHistogram.String writes it.
            const v = m.h ? histogramString(m.h) : formatValue(m.value);
            counts.set(v, (counts.get(v) ?? 0) + 1);
          }
          for (const [value, n] of counts) out.push({ labels: { ...g.labels, [name]: value }, value: n });
          break;
        }
        default:
          throw new PromgateError("unprocessable", `aggregation ${e.op} is not supported`);
      }
    }
    return out;
  }

  /**
   * sum / avg of a group holding histograms: their compensated sum or mean, or nothing (with Prometheus'
   * warning) when the group also holds floats or mixes exponential and custom buckets.
   */
  private histogramGroup(op: "sum" | "avg", members: InstantSample[], pos: number | undefined): FloatHistogram | undefined {
    if (members.some((m) => !m.h)) {
      notes.mixedFloatsHistogramsAgg(this.annotations, pos);
      return undefined;
    }
    const r = (op === "sum" ? sumHistograms : avgHistograms)(members.map((m) => m.h!));
    if (r.reconciled) notes.mismatchedCustomBuckets(this.annotations, "aggregation", pos);
    if (!r.value) {
      notes.mixedExponentialCustom(this.annotations, members[r.failedAt!]!.labels.__name__ ?? "", pos);
      return undefined;
    }
    if (r.collision) notes.counterResetCollision(this.annotations, "aggregation", pos);
    return r.value;
  }

  private binary(e: Extract<Expr, { kind: "binary" }>, t: number): Value {
    const lhs = this.eval(e.lhs, t);
    const rhs = this.eval(e.rhs, t);
    const comparison = COMPARISON.has(e.op);
    if (lhs.type === "scalar" && rhs.type === "scalar") {
      const r = apply(e.op, lhs.v, rhs.v);
      return { type: "scalar", v: comparison ? (r ? 1 : 0) : (r as number) };
    }
    if (lhs.type === "vector" && rhs.type === "vector") return { type: "vector", v: this.vectorBinary(e, lhs.v, rhs.v) };
    // vector ⊕ scalar or scalar ⊕ vector
    const vectorOnLeft = lhs.type === "vector";
    const samples = vectorOnLeft ? (lhs as { v: InstantSample[] }).v : (rhs as { v: InstantSample[] }).v;
    const s = vectorOnLeft ? (rhs as { v: number }).v : (lhs as { v: number }).v;
    const out: InstantSample[] = [];
    for (const x of samples) {
      if (x.h) {
        const pos = positionOf(e);
        const r = vectorOnLeft ? histogramBinary(e.op, x.value, x.h, s, undefined, this.annotations, pos) : histogramBinary(e.op, s, undefined, x.value, x.h, this.annotations, pos);
        if (!r) continue;
        if (e.bool) out.push({ labels: dropName(x.labels), value: r.keep ? 1 : 0 });
        else if (r.keep) out.push({ labels: comparison ? x.labels : dropName(x.labels), value: Number.NaN, h: r.h });
        continue;
      }
      const [a, b] = vectorOnLeft ? [x.value, s] : [s, x.value];
      const r = apply(e.op, a, b);
      if (comparison) {
        if (e.bool) out.push({ labels: dropName(x.labels), value: r ? 1 : 0 });
        else if (r) out.push({ labels: x.labels, value: x.value });
      } else out.push({ labels: dropName(x.labels), value: r as number });
    }
    // Dropping the name can merge series that differed only in it: an error, as in Prometheus.
    if ((!comparison || e.bool) && distinctNames([vectorOnLeft ? lhs : rhs]) > 1) checkUniqueLabelsets(out);
    return { type: "vector", v: out };
  }

  private vectorBinary(e: Extract<Expr, { kind: "binary" }>, lhs: InstantSample[], rhs: InstantSample[]): InstantSample[] {
    const m: VectorMatching = e.matching ?? { on: false, labels: [], card: "one-to-one", include: [] };
    const sig = (l: Labels) => signature(l, m);
    if (e.op === "and" || e.op === "unless") {
      const right = new Set(rhs.map((s) => sig(s.labels)));
      return lhs.filter((s) => right.has(sig(s.labels)) === (e.op === "and"));
    }
    if (e.op === "or") {
      const left = new Set(lhs.map((s) => sig(s.labels)));
      return [...lhs, ...rhs.filter((s) => !left.has(sig(s.labels)))];
    }
    // One side is the "one" side: at most one sample per signature there.
    const [many, one, swapped] = m.card === "one-to-many" ? [rhs, lhs, true] : [lhs, rhs, false];
    const oneBySig = new Map<string, InstantSample>();
    for (const s of one) {
      const k = sig(s.labels);
      const dup = oneBySig.get(k);
      if (dup) throw duplicateOnOneSide(m, swapped ? "left" : "right", s.labels, dup.labels);
      oneBySig.set(k, s);
    }
    const comparison = COMPARISON.has(e.op);
    // fill modifiers, seen from the "many" side: the value a missing "one" side takes, and the other way round.
    const fillOne = swapped ? e.fill?.lhs : e.fill?.rhs;
    const fillMany = swapped ? e.fill?.rhs : e.fill?.lhs;
    /** Match groups that produced a pair (one-to-one: at most one each); a filled-in side is only for the others. */
    const matched = new Set<string>();
    const out: InstantSample[] = [];
    const pair = (s: InstantSample, other: InstantSample, k: string): void => {
      const [l, r] = swapped ? [other, s] : [s, other];
      // With a histogram on either side: its own rules, and a pair they refuse counts as no match.
      const hist = l.h || r.h ? histogramBinary(e.op, l.value, l.h, r.value, r.h, this.annotations, positionOf(e)) : undefined;
      if ((l.h || r.h) && !hist) return;
      if (m.card === "one-to-one" && matched.has(k)) throw manyToOneNotExplicit();
      matched.add(k);
      if (hist) {
        if (comparison && !e.bool && !hist.keep) return;
        const labels = resultLabels(s.labels, other.labels, e.op, m, e.bool);
        if (e.bool) out.push({ labels, value: hist.keep ? 1 : 0 });
        else if (comparison) out.push({ labels, value: Number.NaN, h: (swapped ? r : l).h ?? hist.h });
        else out.push({ labels, value: Number.NaN, h: hist.h });
        return;
      }
      const res = apply(e.op, l.value, r.value);
      if (comparison && !e.bool && !res) return;
      const labels = resultLabels(s.labels, other.labels, e.op, m, e.bool);
      const value = comparison ? (e.bool ? (res ? 1 : 0) : swapped ? r.value : l.value) : (res as number);
      out.push({ labels, value });
    };
    for (const s of many) {
      const k = sig(s.labels);
      const other = oneBySig.get(k);
      if (other) pair(s, other, k);
      else if (fillOne !== undefined) pair(s, { labels: matchLabels(s.labels, m), value: fillOne }, k);
    }
    // "one" side series no "many" side series matched: paired with the filled-in value, labelled by the group.
    if (fillMany !== undefined) {
      for (const [k, other] of oneBySig) if (!matched.has(k)) pair({ labels: matchLabels(other.labels, m), value: fillMany }, other, k);
    }
    if (m.card !== "one-to-one") {
      const keys = new Set<string>();
      for (const s of out) {
        const k = labelsKey(s.labels);
        if (keys.has(k)) throw new PromgateError("unprocessable", "multiple matches for labels: grouping labels must ensure unique matches");
        keys.add(k);
      }
    }
    return out;
  }
}

/** How many different names (with `__type__` and `__unit__`, dropped with them) the arguments' series carry. */
function distinctNames(args: Value[]): number {
  const names = new Set<string>();
  for (const a of args) {
    if (a.type === "vector") for (const s of a.v) names.add(nameKey(s.labels));
    else if (a.type === "matrix") for (const s of a.v) names.add(nameKey(s.labels));
  }
  return names.size;
}

/** Aggregations that leave histogram samples out, with Prometheus' info. */
const IGNORE_HISTOGRAMS = new Set(["min", "max", "stddev", "stdvar", "quantile", "topk", "bottomk"]);
const KEEPS_NAME = new Set(["last_over_time", "sort", "sort_desc", "label_replace", "label_join"]);
const COMPARISON = new Set(["==", "!=", ">", "<", ">=", "<="]);

function apply(op: string, a: number, b: number): number | boolean {
  switch (op) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      return a / b;
    case "%":
      return a % b;
    case "^":
      return a ** b;
    case "atan2":
      return Math.atan2(a, b);
    case "==":
      return a === b;
    case "!=":
      return a !== b;
    case ">":
      return a > b;
    case "<":
      return a < b;
    case ">=":
      return a >= b;
    case "<=":
      return a <= b;
    default:
      throw new PromgateError("unprocessable", `operator ${op} is not supported here`);
  }
}

function signature(labels: Labels, m: VectorMatching): string {
  if (m.on) return JSON.stringify([...m.labels].sort().map((n) => [n, labels[n] ?? ""]));
  const skip = new Set([...m.labels, ...NAME_LABELS]);
  return JSON.stringify(Object.keys(labels).filter((n) => !skip.has(n)).sort().map((n) => [n, labels[n]]));
}

function resultLabels(many: Labels, one: Labels, op: string, m: VectorMatching, bool: boolean): Labels {
  let out: Labels = { ...many };
  if (!COMPARISON.has(op) || bool) out = dropName(out);
  if (m.card === "one-to-one") {
    if (m.on) out = Object.fromEntries(Object.entries(out).filter(([k]) => m.labels.includes(k)));
    else for (const l of m.labels) delete out[l];
  }
  for (const l of m.include) {
    if (one[l] !== undefined) out[l] = one[l]!;
    else delete out[l];
  }
  return out;
}

function groupLabels(labels: Labels, grouping: string[], without: boolean): Labels {
  if (without) {
    const out: Labels = {};
    for (const [k, v] of Object.entries(labels)) if (!isNameLabel(k) && !grouping.includes(k)) out[k] = v;
    return out;
  }
  const out: Labels = {};
  for (const k of grouping) if (labels[k] !== undefined) out[k] = labels[k]!;
  return out;
}

/** absent(): the equality matchers of the argument's selector become the labels of the answer. */
function absentLabels(arg: Expr): Labels {
  const sel = arg.kind === "vector" ? arg : arg.kind === "matrix" ? arg.vector : undefined;
  if (!sel) return {};
  const out: Labels = {};
  const seen = new Set<string>();
  for (const m of sel.matchers) {
    if (isNameLabel(m.name)) continue;
    if (m.type === "=" && !seen.has(m.name)) out[m.name] = m.value;
    else delete out[m.name];
    seen.add(m.name);
  }
  return out;
}
