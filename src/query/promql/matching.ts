import { PromgateError } from "../../errors.js";
import type { Labels } from "../matchers.js";
import type { VectorMatching } from "./ast.js";
import { compareLabelSets } from "./order.js";
import { goQuote } from "./quote.js";
import { isNameLabel } from "./values.js";

/** Errors of vector matching, worded as Prometheus words them (promql/engine.go). */

/** labels.Labels.String(): `{a="b", c="d"}`, names sorted, values quoted as Go does. */
export function labelsString(l: Labels): string {
  return `{${Object.keys(l).sort().map((k) => `${k}=${goQuote(l[k]!)}`).join(", ")}}`;
}

/** The labels a match group is made of: those of on(…), or all but ignoring(…) and the name (with `__type__`, `__unit__`). */
export function matchLabels(l: Labels, m: VectorMatching): Labels {
  const out: Labels = {};
  for (const k of Object.keys(l)) {
    if (m.on ? m.labels.includes(k) : !isNameLabel(k) && !m.labels.includes(k)) out[k] = l[k]!;
  }
  return out;
}

/** Two series of the "one" side fell into the same match group. */
export function duplicateOnOneSide(m: VectorMatching, oneSide: "left" | "right", a: Labels, b: Labels): PromgateError {
  const [x, y] = compareLabelSets(a, b) <= 0 ? [a, b] : [b, a];
  return new PromgateError("unprocessable",
    `found duplicate series for the match group ${labelsString(matchLabels(a, m))} on the ${oneSide} hand-side of the operation: [${labelsString(x)}, ${labelsString(y)}];many-to-many matching not allowed: matching labels must be unique on one side`,
  );
}

/** One-to-one matching found a second left-hand series for a group. */
export const manyToOneNotExplicit = (): PromgateError =>
  new PromgateError("unprocessable", "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
