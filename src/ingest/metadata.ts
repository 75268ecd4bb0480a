import type { Config } from "../config.js";
import { esFailure, esFetch, type Fetch } from "../elastic/http.js";
import { HttpError } from "../http/errors.js";
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

export async function storeMetadata(
  config: Config,
  fetchFn: Fetch,
  dataStream: string,
  entries: MetadataEntry[],
  nowMs: number,
): Promise<void> {
  const body = metadataBulkBody(dataStream, entries, nowMs);
  if (body === "") return;
  const res = await esFetch(config, fetchFn, {
    method: "POST",
    path: `/${config.metadataIndex}/_bulk?filter_path=errors,items.*.error.type,items.*.error.reason`,
    body,
    contentType: "application/x-ndjson",
  });
  if (!res.ok) throw await esFailure(res, "the metadata bulk request", config.retryAfterSeconds);
  const parsed = (await res.json().catch(() => ({}))) as {
    errors?: boolean;
    items?: Record<string, { error?: { type?: string; reason?: string } }>[];
  };
  if (parsed.errors) {
    const first = parsed.items?.map((i) => Object.values(i)[0]?.error).find((e) => e);
    // Metadata is small and always resent by Prometheus; a failure here is a server-side problem: retry.
    throw new HttpError(503, `elasticsearch failed to store metadata: ${first?.type ?? "error"}: ${first?.reason ?? ""}`);
  }
}
