import { PromgateError } from "../../errors.js";
import { type CompiledMatcher, compileMatcher, type Labels, type Matcher, matchesAll } from "../matchers.js";
import type { At, Expr, VectorSelector } from "./ast.js";
import type { SeriesData } from "./engine.js";
import { checkUniqueLabelsets } from "./functions.js";
import { labelsString } from "./matching.js";
import { typeOf } from "./parse.js";
import type { InstantSample } from "./values.js";

/**
 * The experimental `info(v, [data-label-selector])` of Prometheus 3.16 (promql/info.go): each series of `v`
 * gains the labels of the info series that share its identifying labels `instance` and `job` (those it has;
 * one it lacks must be absent on the info series too).
 * - Which info metrics: the selector's `__name__` matchers, all of them (AND); when they are all negative,
 *   only metrics named `*_info` besides; without any, `target_info`. Input series that are info series by
 *   that rule pass unchanged.
 * - With a selector, only the labels it names are added, and a series that no info series matches is
 *   dropped when one of the selector's matchers refuses the empty value.
 * - The info series are read as of the same time as the input: when every selector in `v` shares one `@`
 *   and `offset` (subqueries' included), the info series are looked up with them too; otherwise at the
 *   evaluation time.
 * - Several info series of one metric for the same series: the newest sample wins, a tie is an error;
 *   labels the series already has are kept; two info metrics disagreeing on a label is an error.
 */

export const IDENTIFYING_LABELS = ["instance", "job"] as const;
const TARGET_INFO: Matcher = { name: "__name__", type: "=", value: "target_info" };
const ANY_INFO: Matcher = { name: "__name__", type: "=~", value: ".+_info" };

export interface InfoPlan {
  /** What Elasticsearch selects: the info metric(s) and every data-label matcher. */
  matchers: Matcher[];
  /** The samples Prometheus fetches for the info series (its select hints), inclusive. */
  startMs: number;
  endMs: number;
  /** The shared `@` and offset of the input's selectors, applied to the info series too. */
  atMs: number | undefined;
  offsetMs: number;
}

/** The selector's matchers, whatever modifiers Prometheus' syntax lets it carry (they do not apply). */
function selectorMatchers(call: Extract<Expr, { kind: "call" }>): Matcher[] | undefined {
  const s = call.args[1] as VectorSelector | undefined;
  return s?.matchers;
}

/** Prometheus' effectiveInfoNameMatchers. */
function effectiveNameMatchers(nameMatchers: Matcher[]): Matcher[] {
  if (nameMatchers.some((m) => m.type === "=" || m.type === "=~")) return nameMatchers;
  if (nameMatchers.length > 0) return [ANY_INFO, ...nameMatchers];
  return [TARGET_INFO];
}

/** The info series' selector and time range, for a call evaluated at times [tmin, tmax]. */
export function planInfo(call: Extract<Expr, { kind: "call" }>, tmin: number, tmax: number, lookbackMs: number, resolveAt: (at: At | undefined) => number | undefined): InfoPlan {
  const given = selectorMatchers(call) ?? [];
  const matchers = [...effectiveNameMatchers(given.filter((m) => m.name === "__name__")), ...given.filter((m) => m.name !== "__name__")];
  const ref = infoReference(call.args[0]!, resolveAt);
  const offsetMs = ref?.offsetMs ?? 0;
  const atMs = ref?.atMs;
  return { matchers, startMs: (atMs ?? tmin) - (lookbackMs - 1) - offsetMs, endMs: (atMs ?? tmax) - offsetMs, atMs, offsetMs };
}

interface Reference {
  atMs: number | undefined;
  offsetMs: number;
}

/**
 * Prometheus' infoSelectTimestampAndOffset: the `@` and offset of the first selector in `e` (a subquery's
 * count for a selector without its own `@`), if every selector agrees on the time it reads and no operand
 * producing a vector is free of selectors; else none. Scalar operands (`scalar(x @ 10)`) are not looked at.
 */
function infoReference(e: Expr, resolveAt: (at: At | undefined) => number | undefined): Reference | undefined {
  let first: Reference | undefined;
  let uniform = true;
  let referenceFree = false;
  const same = (a: Reference, b: Reference): boolean =>
    a.atMs === undefined || b.atMs === undefined ? a.atMs === undefined && b.atMs === undefined && a.offsetMs === b.offsetMs : a.atMs - a.offsetMs === b.atMs - b.offsetMs;
  const inspect = (x: Expr, path: Expr[]): boolean => {
    const t = typeOf(x);
    if (t !== "vector" && t !== "matrix") return false;
    if (x.kind === "vector") {
      const ref: Reference = { atMs: resolveAt(x.at), offsetMs: x.offsetMs };
      for (let i = path.length - 1; ref.atMs === undefined && i >= 0; i--) {
        const sq = path[i]!;
        if (sq.kind !== "subquery") continue;
        ref.offsetMs += sq.offsetMs;
        ref.atMs = resolveAt(sq.at);
      }
      if (!first) first = ref;
      else if (!same(first, ref)) uniform = false;
      return true;
    }
    const inner = [...path, x];
    const children = x.kind === "call" && x.func === "info" ? [x.args[0]!] : childrenOf(x);
    let hasSelector = false;
    for (const c of children) if (inspect(c, inner)) hasSelector = true;
    if (!hasSelector) referenceFree = true;
    return hasSelector;
  };
  inspect(e, []);
  return first && uniform && !referenceFree ? first : undefined;
}

function childrenOf(e: Expr): Expr[] {
  switch (e.kind) {
    case "matrix":
      return [e.vector];
    case "subquery":
    case "paren":
    case "unary":
      return [e.expr];
    case "call":
      return e.args;
    case "aggregate":
      return e.param ? [e.expr, e.param] : [e.expr];
    case "binary":
      return [e.lhs, e.rhs];
    default:
      return [];
  }
}

/** A call's loaded info series and the matchers that shape the join. */
export class InfoJoin {
  /** The effective `__name__` matchers: they decide which input series are info series themselves. */
  private readonly nameMatchers: CompiledMatcher[];
  /** The selector's other matchers by label name: the data labels to add. */
  private readonly dataMatchers = new Map<string, CompiledMatcher[]>();
  private readonly infoMatchers: CompiledMatcher[];
  /** Info series in label order, so which of two tied series is "existing" is as stable as Prometheus'. */
  private readonly data: SeriesData[];

  constructor(
    call: Extract<Expr, { kind: "call" }>,
    private readonly plan: InfoPlan,
    data: SeriesData[],
    private readonly lookbackMs: number,
  ) {
    const given = selectorMatchers(call) ?? [];
    this.nameMatchers = effectiveNameMatchers(given.filter((m) => m.name === "__name__")).map(compileMatcher);
    this.infoMatchers = plan.matchers.map(compileMatcher);
    for (const m of given) {
      if (m.name === "__name__") continue;
      const list = this.dataMatchers.get(m.name) ?? [];
      list.push(compileMatcher(m));
      this.dataMatchers.set(m.name, list);
    }
    this.data = data.filter((s) => matchesAll(s.labels, this.infoMatchers)).sort((a, b) => labelsString(a.labels).localeCompare(labelsString(b.labels)));
  }

  /** The index of the info series' sample read at evaluation time t: the newest within the lookback, not stale. */
  private sampleAt(s: SeriesData, t: number): number | undefined {
    const ref = (this.plan.atMs ?? t) - this.plan.offsetMs;
    const lo = Math.max(ref - this.lookbackMs, this.plan.startMs - 1);
    const hi = Math.min(ref, this.plan.endMs);
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
    return k;
  }

  at(base: InstantSample[], t: number): InstantSample[] {
    if (base.length === 0) return [];
    const ignored = base.map((s) => this.nameMatchers.every((m) => m.matches(s.labels.__name__ ?? "")));
    const groups = identifyingGroups(base.filter((_, i) => !ignored[i]));
    const bySig = new Map<string, { labels: Labels; ts: number }>();
    const names = new Set<string>();
    for (const s of this.data) {
      if (!groups.some((g) => g(s.labels))) continue;
      const name = s.labels.__name__ ?? "";
      names.add(name);
      const k = this.sampleAt(s, t);
      if (k === undefined) continue;
      if (s.hs?.[k]) throw new PromgateError("unprocessable", `this should be an info metric, with float samples: ${labelsString(s.labels)}`);
      const ts = s.ts[k]!;
      const sig = signature(name, s.labels);
      const seen = bySig.get(sig);
      if (seen && seen.ts === ts) {
        throw new PromgateError("unprocessable", `found duplicate series for info metric: existing ${labelsString(seen.labels)} @ ${seen.ts}, new ${labelsString(s.labels)} @ ${ts}`);
      }
      if (!seen || seen.ts < ts) bySig.set(sig, { labels: s.labels, ts });
    }
    const needsData = [...this.dataMatchers.values()].some((ms) => ms.some((m) => !m.matches("")));
    const out: InstantSample[] = [];
    base.forEach((s, i) => {
      if (ignored[i]) {
        out.push(s);
        return;
      }
      const added: Labels = {};
      let matched = false;
      for (const name of names) {
        const info = bySig.get(signature(name, s.labels));
        if (!info) continue;
        matched = true;
        for (const [l, v] of Object.entries(info.labels)) {
          if (l === "__name__" || l === "__type__" || l === "__unit__") continue;
          if (this.dataMatchers.size > 0 && !this.dataMatchers.has(l)) continue;
          if (added[l] !== undefined && added[l] !== v) throw new PromgateError("unprocessable", `conflicting label: ${l}`);
          if (s.labels[l] !== undefined) continue;
          added[l] = v;
        }
      }
      if (!matched && needsData) return;
      out.push(Object.keys(added).length > 0 ? { ...s, labels: { ...s.labels, ...added } } : s);
    });
    checkUniqueLabelsets(out);
    return out;
  }
}

/**
 * Prometheus' infoIdentifyingMatcherSets: the input series grouped by which identifying labels they have;
 * an info series is fetched for a group when it has one of the group's values for each label the group
 * has, and lacks the others.
 */
function identifyingGroups(base: InstantSample[]): ((labels: Labels) => boolean)[] {
  const groups = new Map<string, Map<string, Set<string>>>();
  for (const s of base) {
    const present = IDENTIFYING_LABELS.filter((l) => (s.labels[l] ?? "") !== "");
    if (present.length === 0) continue;
    const key = present.join(",");
    let g = groups.get(key);
    if (!g) groups.set(key, (g = new Map(present.map((l) => [l, new Set<string>()]))));
    for (const l of present) g.get(l)!.add(s.labels[l]!);
  }
  return [...groups.values()].map((g) => (labels: Labels) => IDENTIFYING_LABELS.every((l) => (g.has(l) ? g.get(l)!.has(labels[l] ?? "") : (labels[l] ?? "") === "")));
}

/** An info metric's name with the identifying labels a series has. */
function signature(name: string, labels: Labels): string {
  return JSON.stringify([name, ...IDENTIFYING_LABELS.map((l) => labels[l] ?? "")]);
}
