import type { CompiledMatcher, Labels } from "./matchers.js";
import { matchesAll } from "./matchers.js";
import type { MetadataEntry } from "./metadata.js";
import type { SampleSource, SeriesData } from "./promql/engine.js";
import { compareLabelSets } from "./promql/order.js";

/**
 * Prometheus' type-and-unit-labels feature at query time (PROMGATE_PROMQL_EXPERIMENTAL=type-and-unit-labels):
 * each series PromQL selects carries `__type__` and `__unit__` from the metadata remote_write sent for its
 * metric family (ingest/metadata.ts), so selectors may match on them and PromQL drops them with the name.
 * Prometheus puts them on the stored series at ingestion; promgate stores metadata apart and adds them when
 * reading: a family's latest type and unit apply to all of its series.
 */

/** Family name → the type and unit its metadata says (the first entry when streams disagree). */
export type Families = ReadonlyMap<string, MetadataEntry>;

export function familiesOf(metadata: Record<string, MetadataEntry[]>): Families {
  const out = new Map<string, MetadataEntry>();
  for (const [name, entries] of Object.entries(metadata)) if (entries[0]) out.set(name, entries[0]);
  return out;
}

/** Series names a family's samples take beyond its own name (classic histograms and summaries, counters, info). */
const SUFFIXES = ["_bucket", "_count", "_sum", "_total", "_created", "_info", "_gcount", "_gsum"];

/** The metadata of the family a series name belongs to: the name itself, else the name without a suffix. */
export function familyOf(name: string, families: Families): MetadataEntry | undefined {
  const own = families.get(name);
  if (own) return own;
  for (const s of SUFFIXES) {
    if (!name.endsWith(s)) continue;
    const m = families.get(name.slice(0, -s.length));
    if (m) return m;
  }
  return undefined;
}

/**
 * A series' labels with `__type__` and `__unit__` from its family's metadata, as Prometheus sets them (no
 * `__type__` for an unknown type, no `__unit__` for an empty unit); labels it already has are kept when its
 * family has no metadata.
 */
export function withMetadataLabels(labels: Labels, families: Families): Labels {
  const m = familyOf(labels.__name__ ?? "", families);
  if (!m) return labels;
  const { __type__: _t, __unit__: _u, ...rest } = labels;
  const out: Labels = { ...rest };
  if (m.type !== "" && m.type !== "unknown") out.__type__ = m.type;
  if (m.unit !== "") out.__unit__ = m.unit;
  return out;
}

const isMetadataMatcher = (m: CompiledMatcher): boolean => m.name === "__type__" || m.name === "__unit__";

/**
 * `source` with the metadata labels added to every series it gives. Matchers on them are applied once they
 * are set (Elasticsearch knows them only where a series was written with them); bucket statistics are not
 * used, since their series would lack them.
 */
export function typeAndUnitSource(source: SampleSource, families: () => Promise<Families>): SampleSource {
  let loaded: Promise<Families> | undefined;
  return {
    typeAndUnitLabels: true,
    async select(matchers: CompiledMatcher[], startMs: number, endMs: number): Promise<SeriesData[]> {
      const meta = matchers.filter(isMetadataMatcher);
      const [data, fams] = await Promise.all([source.select(matchers.filter((m) => !isMetadataMatcher(m)), startMs, endMs), (loaded ??= families())]);
      const out: SeriesData[] = [];
      for (const s of data) {
        const labels = withMetadataLabels(s.labels, fams);
        if (matchesAll(labels, meta)) out.push(labels === s.labels ? s : { ...s, labels });
      }
      // In label order, as the source gives them (the new labels may change it).
      return out.sort((a, b) => compareLabelSets(a.labels, b.labels));
    },
  };
}
