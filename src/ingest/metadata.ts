import type { Config } from "../config.js";
import { esFailure, esFetch, type Fetch } from "../elastic/http.js";
import { PromgateError } from "../errors.js";
import type { MetadataEntry } from "./decode.js";

/**
 * Keeps the metric metadata remote_write sends (type, help, unit per metric family) in one small index,
 * one document per data stream and family, overwritten on every send so it stays current. The query side
 * serves `/api/v1/metadata` from it.
 */

// Prometheus' names for MetricMetadata.MetricType, as /api/v1/metadata reports them.
const TYPES = ["unknown", "counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset"];

export function metadataType(type: number): string {
  return TYPES[type] ?? "unknown";
}

export function metadataBulkBody(dataStream: string, entries: MetadataEntry[], nowMs: number): string {
  const lines: string[] = [];
  for (const m of entries) {
    if (m.family === "") continue;
    // The id makes a resend overwrite instead of piling up; ES ids are at most 512 bytes.
    const id = `${dataStream}/${m.family}`.slice(0, 512);
    lines.push(JSON.stringify({ index: { _id: id } }));
    lines.push(
      JSON.stringify({
        "@timestamp": nowMs,
        data_stream: dataStream,
        metric_family_name: m.family,
        type: metadataType(m.type),
        help: m.help,
        unit: m.unit,
      }),
    );
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/**
 * What this instance knows of each stream's metadata: the metric type per family (for the mapping of new
 * fields, see metric-type.ts) and when each entry was last written (so the metadata remote write 2.0 sends
 * with every request is written again only when it changed or has not been written for a while).
 * Bounded: the oldest streams are forgotten first.
 */
interface StreamMetadata {
  types: Map<string, number>;
  written: Map<string, { key: string; at: number }>;
}
const known = new Map<string, StreamMetadata>();
const MAX_STREAMS = 1000;
/** Unchanged metadata is written again after this long (keeps its @timestamp meaningful). */
const REWRITE_MS = 10 * 60_000;

function streamMetadata(dataStream: string): StreamMetadata {
  let m = known.get(dataStream);
  if (!m) {
    if (known.size >= MAX_STREAMS) known.delete(known.keys().next().value!);
    known.set(dataStream, (m = { types: new Map(), written: new Map() }));
  }
  return m;
}

/**
 * Family name → metric type of the stream, as this instance stored it from remote write 1.0 metadata (which
 * Prometheus sends apart from the samples, about once a minute). Deliberately not read back from
 * Elasticsearch on the write path: that would add a search to writes, and the naming-convention fallback is
 * right for nearly every metric anyway.
 */
export function familyTypes(dataStream: string): ReadonlyMap<string, number> {
  return known.get(dataStream)?.types ?? EMPTY;
}
const EMPTY: ReadonlyMap<string, number> = new Map();

export async function storeMetadata(
  config: Config,
  fetchFn: Fetch,
  dataStream: string,
  all: MetadataEntry[],
  nowMs: number,
): Promise<void> {
  const m = streamMetadata(dataStream);
  const entries = all.filter((e) => {
    const w = m.written.get(e.family);
    return !w || w.key !== `${e.type}\n${e.help}\n${e.unit}` || nowMs - w.at >= REWRITE_MS;
  });
  const body = metadataBulkBody(dataStream, entries, nowMs);
  if (body === "") return;
  const res = await esFetch(config, fetchFn, {
    method: "POST",
    path: `/${config.metadataIndex}/_bulk?filter_path=errors,items.*.error.type,items.*.error.reason`,
    body,
    contentType: "application/x-ndjson",
    // `index` by _id: a second copy replaces the first with the same document.
    idempotent: true,
  });
  if (!res.ok) throw await esFailure(res, "the metadata bulk request", config.retryAfterSeconds);
  const parsed = (await res.json().catch(() => ({}))) as {
    errors?: boolean;
    items?: Record<string, { error?: { type?: string; reason?: string } }>[];
  };
  if (parsed.errors) {
    const first = parsed.items?.map((i) => Object.values(i)[0]?.error).find((e) => e);
    // Metadata is small and always resent by Prometheus; a failure here is a server-side problem: retry.
    throw new PromgateError("unavailable", `elasticsearch failed to store metadata: ${first?.type ?? "error"}: ${first?.reason ?? ""}`);
  }
  for (const e of entries) {
    if (e.family === "") continue;
    m.written.set(e.family, { key: `${e.type}\n${e.help}\n${e.unit}`, at: nowMs });
    if (e.type > 0) m.types.set(e.family, e.type);
  }
}
