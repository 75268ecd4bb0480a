import { HttpError } from "../../http/errors.js";
import { type CompiledMatcher, compileMatcher, type Labels, type Matcher } from "../matchers.js";
import type { At, Expr, VectorSelector } from "./ast.js";
import type { SeriesData } from "./engine.js";
import { checkUniqueLabelsets } from "./functions.js";
import type { InstantSample } from "./values.js";

/**
 * The experimental `info(v, [data-label-selector])` of Prometheus 3.5: each series of `v` gains the labels of
 * the info series (`target_info` unless the selector names others with `__name__`) that share its
 * identifying labels `instance` and `job` (those it has; a missing one must be missing on the info series
 * too). With a selector, only the labels it names are added, and a series whose info series offer none of
 * them is dropped when one of the selector's matchers refuses the empty value. Several info series of one
 * metric for the same series: the one with the newest sample wins, a tie is an error. Labels the series
 * already has are kept; two info metrics disagreeing on a label is an error. Series of the info metric
 * itself pass unchanged.
 */

export const IDENTIFYING_LABELS = ["instance", "job"] as const;
const TARGET_INFO: Matcher = { name: "__name__", type: "=", value: "target_info" };

export interface InfoPlan {
  /** What Elasticsearch selects: the info metric(s) and every matcher of the data-label selector. */
  matchers: Matcher[];
  /** The samples Prometheus fetches for the info series (its select hints), inclusive. */
  startMs: number;
  endMs: number;
}

/** The info series' selector and time range, for a call evaluated at times [tmin, tmax]. */
export function planInfo(call: Extract<Expr, { kind: "call" }>, tmin: number, tmax: number, lookbackMs: number, resolveAt: (at: At | undefined) => number | undefined): InfoPlan {
  const selector = call.args[1] as VectorSelector | undefined;
  const given = selector?.matchers ?? [];
  const matchers = given.some((m) => m.name === "__name__") ? given : [TARGET_INFO, ...given];
  // Prometheus takes offset and `@` from the first selector inside the first argument, and shifts the
  // fetched range by them while still evaluating the info series at the unshifted times.
  const first = firstSelector(call.args[0]!);
  const at = resolveAt(first?.at);
  const offset = first?.offsetMs ?? 0;
  return { matchers, startMs: (at ?? tmin) - (lookbackMs - 1) - offset, endMs: (at ?? tmax) - offset };
}

function firstSelector(e: Expr): VectorSelector | undefined {
  switch (e.kind) {
    case "vector":
      return e;
    case "matrix":
      return e.vector;
    case "subquery":
    case "paren":
    case "unary":
      return firstSelector(e.expr);
    case "call":
      for (const a of e.args) {
        const s = firstSelector(a);
        if (s) return s;
      }
      return undefined;
    case "aggregate":
      return (e.param && firstSelector(e.param)) ?? firstSelector(e.expr);
    case "binary":
      return firstSelector(e.lhs) ?? firstSelector(e.rhs);
    default:
      return undefined;
  }
}

/** A call's loaded info series and the matchers that shape the join. */
export class InfoJoin {
  /** Matchers on `__name__` (they decide which input series are info series themselves). */
  private readonly nameMatchers: CompiledMatcher[];
  /** The selector's other matchers by label name: the data labels to add. */
  private readonly dataMatchers = new Map<string, CompiledMatcher[]>();

  constructor(
    call: Extract<Expr, { kind: "call" }>,
    private readonly plan: InfoPlan,
    private readonly data: SeriesData[],
    private readonly lookbackMs: number,
  ) {
    const selector = call.args[1] as VectorSelector | undefined;
    const compiled = (selector?.matchers ?? []).map(compileMatcher);
    // Without a selector the info metric is target_info; with one that names no metric, no input series
    // counts as an info series (as in Prometheus).
    this.nameMatchers = selector ? compiled.filter((m) => m.name === "__name__") : [compileMatcher(TARGET_INFO)];
    for (const m of compiled) {
      if (m.name === "__name__") continue;
      const list = this.dataMatchers.get(m.name) ?? [];
      list.push(m);
      this.dataMatchers.set(m.name, list);
    }
  }

  /** The info series' sample time at t: the newest within the lookback and the fetched range, not stale. */
  private sampleTime(s: SeriesData, t: number): number | undefined {
    const lo = Math.max(t - this.lookbackMs, this.plan.startMs - 1);
    const hi = Math.min(t, this.plan.endMs);
    // Binary search for the last sample at or before hi.
    let a = 0;
    let b = s.ts.length - 1;
    let k = -1;
    while (a <= b) {
      const mid = (a + b) >> 1;
      if (s.ts[mid]! <= hi) {
        k = mid;
        a = mid + 1;
      } else b = mid - 1;
    }
    if (k < 0 || s.ts[k]! <= lo || s.stale.has(k)) return undefined;
    return s.ts[k];
  }

  at(base: InstantSample[], t: number): InstantSample[] {
    const ignored = base.map((s) => this.nameMatchers.some((m) => m.matches(s.labels.__name__ ?? "")));
    // The identifying label values among the input: info series must carry one of them (Prometheus
    // fetches them with `instance=~"v1|v2"`, `job=~"…"`).
    const wanted = new Map<string, Set<string>>();
    base.forEach((s, i) => {
      if (ignored[i]) return;
      for (const l of IDENTIFYING_LABELS) {
        const v = s.labels[l];
        if (!v) continue;
        if (!wanted.has(l)) wanted.set(l, new Set());
        wanted.get(l)!.add(v);
      }
    });
    const bySig = new Map<string, { labels: Labels; ts: number }>();
    const names = new Set<string>();
    if (wanted.size > 0) {
      for (const s of this.data) {
        if (![...wanted].every(([l, vs]) => vs.has(s.labels[l] ?? ""))) continue;
        const ts = this.sampleTime(s, t);
        if (ts === undefined) continue;
        const name = s.labels.__name__ ?? "";
        const sig = signature(name, s.labels);
        const seen = bySig.get(sig);
        if (seen && seen.ts === ts) throw new HttpError(422, `found duplicate series for info metric ${name}`);
        if (!seen || seen.ts < ts) bySig.set(sig, { labels: s.labels, ts });
        names.add(name);
      }
    }
    const needsData = [...this.dataMatchers.values()].some((ms) => ms.some((m) => !m.matches("")));
    const out: InstantSample[] = [];
    base.forEach((s, i) => {
      if (ignored[i]) {
        out.push(s);
        return;
      }
      const added: Labels = {};
      let any = false;
      for (const name of names) {
        const info = bySig.get(signature(name, s.labels));
        if (!info) continue;
        for (const [l, v] of Object.entries(info.labels)) {
          if (l === "__name__") continue;
          if (this.dataMatchers.size > 0 && !this.dataMatchers.has(l)) continue;
          if (added[l] !== undefined && added[l] !== v) throw new HttpError(422, `conflicting label: ${l}`);
          if (s.labels[l] !== undefined) continue;
          added[l] = v;
          any = true;
        }
      }
      if (!any && needsData) return;
      out.push(any ? { ...s, labels: { ...s.labels, ...added } } : s);
    });
    checkUniqueLabelsets(out);
    return out;
  }
}

/** An info metric's name with the identifying labels a series has. */
function signature(name: string, labels: Labels): string {
  return JSON.stringify([name, ...IDENTIFYING_LABELS.map((l) => labels[l] ?? "")]);
}
