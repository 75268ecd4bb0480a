import type { Labels } from "../matchers.js";

/** Orderings Prometheus uses: label sets (labels.Compare) and the natural order of sort_by_label. */

/** labels.Compare: name by name in sorted order, then value; a prefix sorts first. */
export function compareLabelSets(a: Labels, b: Labels): number {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
    const va = a[ka[i]!]!;
    const vb = b[kb[i]!]!;
    if (va !== vb) return va < vb ? -1 : 1;
  }
  return ka.length - kb.length;
}

/**
 * The same labels with their names in order, as Prometheus writes every label set: functions and
 * aggregations here add labels in the order they come (label_replace's destination last, `by (b, a)` as
 * written), and clients that print the object as given (legends) would show that order.
 */
export function labelsByName(labels: Labels): Labels {
  const names = Object.keys(labels);
  if (names.every((n, i) => i === 0 || names[i - 1]! < n)) return labels;
  return Object.fromEntries(names.sort().map((n) => [n, labels[n]!]));
}

const INT64_MAX = 9223372036854775807n;
const asInt = (chunk: string): bigint | undefined => {
  if (!/^\d+$/.test(chunk)) return undefined;
  const n = BigInt(chunk);
  return n > INT64_MAX ? undefined : n; // Go's strconv.Atoi fails on overflow: the chunk compares as text
};

/**
 * "a < b" in the natural order sort_by_label uses (Prometheus takes it from facette/natsort): strings are
 * cut into runs of digits and non-digits; two numeric runs compare as integers, others as text. Its quirk
 * is kept on purpose: equal strings compare "less", which only matters when the caller checked equality.
 */
export function naturalLess(a: string, b: string): boolean {
  const ca = a.match(/\d+|\D+/g) ?? [];
  const cb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < ca.length; i++) {
    if (i >= cb.length) return false;
    const x = asInt(ca[i]!);
    const y = asInt(cb[i]!);
    const same = x !== undefined && y !== undefined ? x === y : ca[i] === cb[i];
    if (!same) return x !== undefined && y !== undefined ? x < y : ca[i]! < cb[i]!;
    if (i === ca.length - 1) return true;
    if (i === cb.length - 1) return false;
  }
  return false;
}
