import type { At, Expr, VectorSelector } from "./ast.js";
import { extendedReach } from "./extended-range.js";
import { type InfoPlan, planInfo } from "./info.js";
import { type PushdownPlan, planPresence, planPushdown } from "./pushdown.js";

/**
 * Load planning: which selectors a query reads and over which time ranges, which calls are answered from
 * bucket statistics instead (pushdown.ts) and which info() joins need their info series (info.ts). The
 * evaluator fetches what the plan lists once for the whole query and then evaluates every step in memory.
 */

/** Prometheus' default lookback delta: an instant selector sees samples up to 5 m old. */
export const LOOKBACK_MS = 5 * 60_000;

export interface QueryWindow {
  startMs: number;
  endMs: number;
  stepMs: number;
  /**
   * What `start()` and `end()` in `@` mean when this window is one piece of a longer range query (the query
   * frontend's split): the whole query's start and end, so every piece pins to the same time. Absent: this
   * window's own.
   */
  anchor?: { startMs: number; endMs: number };
}

export interface LoadPlan {
  /** Per selector to load as samples: [lo, hi] in ms, the union of the windows all steps need. */
  windows: Map<VectorSelector, [number, number]>;
  /** Calls (and instant selectors under count/group) answered from bucket statistics. */
  pushdowns: Map<Expr, PushdownPlan>;
  /** Per info() call: the info series to load for the join. */
  infos: Map<Extract<Expr, { kind: "call" }>, InfoPlan>;
  /** Why each range function was or was not pushed down. */
  notes: string[];
}

/** The time `@` pins a selector to (start()/end() are the window's, or its anchor's), if any. */
export function resolveAt(at: At | undefined, q: QueryWindow): number | undefined {
  if (at === undefined) return undefined;
  return at === "start" ? (q.anchor ?? q).startMs : at === "end" ? (q.anchor ?? q).endMs : at;
}

/** What `expr` needs loaded to be evaluated at every step of `q`; `canPushDown` when the source has buckets. */
export function planLoads(expr: Expr, q: QueryWindow, canPushDown: boolean): LoadPlan {
  const notes: string[] = [];
  const windows = new Map<VectorSelector, [number, number]>();
  const plans = new Map<Expr, PushdownPlan>();
  const infoPlans = new Map<Extract<Expr, { kind: "call" }>, InfoPlan>();
  let subqueries = 0;
  const windowEnds = (sel: VectorSelector) => {
    const at = resolveAt(sel.at, q);
    return { firstEnd: (at ?? q.startMs) - sel.offsetMs, lastEnd: (at ?? q.endMs) - sel.offsetMs };
  };
  const walk = (e: Expr, tmin: number, tmax: number): void => {
    switch (e.kind) {
      case "vector": {
        const at = resolveAt(e.at, q);
        const lo = (at ?? tmin) - e.offsetMs - LOOKBACK_MS;
        const hi = (at ?? tmax) - e.offsetMs + extendedReach(e, LOOKBACK_MS).after;
        widen(windows, e, lo, hi);
        return;
      }
      case "matrix": {
        const at = resolveAt(e.vector.at, q);
        // anchored / smoothed ranges also read the lookback before them (smoothed: and after them).
        const reach = extendedReach(e.vector, LOOKBACK_MS);
        widen(windows, e.vector, (at ?? tmin) - e.vector.offsetMs - e.rangeMs - reach.before, (at ?? tmax) - e.vector.offsetMs + reach.after);
        return;
      }
      case "subquery": {
        const at = resolveAt(e.at, q);
        subqueries++;
        walk(e.expr, (at ?? tmin) - e.offsetMs - e.rangeMs, (at ?? tmax) - e.offsetMs);
        subqueries--;
        return;
      }
      case "call": {
        if (e.func === "info") {
          // The second argument selects the info series, loaded for the join rather than evaluated.
          const plan = planInfo(e, tmin, tmax, LOOKBACK_MS, (at) => resolveAt(at, q));
          const seen = infoPlans.get(e);
          infoPlans.set(e, seen ? { ...plan, startMs: Math.min(seen.startMs, plan.startMs), endMs: Math.max(seen.endMs, plan.endMs) } : plan);
          walk(e.args[0]!, tmin, tmax);
          return;
        }
        const decision = planPushdown(e, windowEnds, q.stepMs, subqueries > 0, canPushDown);
        if (decision.note) notes.push(decision.note);
        if (decision.plan) plans.set(e, decision.plan);
        else e.args.forEach((a) => walk(a, tmin, tmax));
        return;
      }
      case "aggregate": {
        let inner = e.expr;
        while (inner.kind === "paren") inner = inner.expr;
        if ((e.op === "count" || e.op === "group") && inner.kind === "vector") {
          const decision = planPresence(e.op, inner, windowEnds, LOOKBACK_MS, q.stepMs, subqueries > 0, canPushDown);
          if (decision.note) notes.push(decision.note);
          if (decision.plan) {
            plans.set(inner, decision.plan);
            return;
          }
        }
        walk(e.expr, tmin, tmax);
        if (e.param) walk(e.param, tmin, tmax);
        return;
      }
      case "binary":
        walk(e.lhs, tmin, tmax);
        walk(e.rhs, tmin, tmax);
        return;
      case "unary":
      case "paren":
        walk(e.expr, tmin, tmax);
        return;
      default:
        return;
    }
  };
  walk(expr, q.startMs, q.endMs);
  return { windows, pushdowns: plans, infos: infoPlans, notes };
}

function widen(map: Map<VectorSelector, [number, number]>, sel: VectorSelector, lo: number, hi: number): void {
  const w = map.get(sel);
  map.set(sel, w ? [Math.min(w[0], lo), Math.max(w[1], hi)] : [lo, hi]);
}
