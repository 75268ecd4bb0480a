import type { Config, Limits, Tenant } from "../config.js";
import type { Fetch } from "../elastic/http.js";
import { HttpError } from "../http/errors.js";
import { sendBulk } from "./bulk.js";
import { type DecodeStats, decodeWriteRequest } from "./decode.js";
import { BulkBodyWriter, bulkSizeHint } from "./documents.js";
import { storeMetadata } from "./metadata.js";
import { snappyDecompress } from "./snappy.js";
import { type IngestFacts, newIngestFacts } from "../observe/facts.js";
import type { Rejection } from "./validate.js";

/**
 * One remote_write request body, already size-checked, to Elasticsearch: snappy → protobuf → NDJSON →
 * one `_bulk`. Anything that cannot be decoded throws before a byte is sent, so nothing from it is stored.
 */

export interface WriteOutcome {
  stats: DecodeStats;
  documents: number;
  duplicates: number;
}

export async function ingestWriteRequest(
  config: Config,
  fetchFn: Fetch,
  tenant: Tenant,
  dataStream: string,
  body: Uint8Array,
  nowMs: number,
  facts: IngestFacts = newIngestFacts(),
): Promise<WriteOutcome> {
  facts.bytesCompressed = body.length;
  const decoded = snappyDecompress(body, tenant.limits.maxDecompressedBytes);
  facts.bytesDecompressed = decoded.length;
  return storeDecoded(config, fetchFn, tenant.limits, dataStream, decoded, nowMs, facts);
}

/** A rejection reason as a metric label value: "series without __name__ label" → "series_without_name_label". */
const rejectionLabel = (r: Rejection): string => r.replace(/[^a-z0-9]+/gi, "_").replace(/^_|_$/g, "").toLowerCase();

/** A decoded (protobuf) WriteRequest into `dataStream`; also how promgate stores its own metrics. */
export async function storeDecoded(
  config: Config,
  fetchFn: Fetch,
  limits: Limits,
  dataStream: string,
  decoded: Uint8Array,
  nowMs: number,
  facts: IngestFacts = newIngestFacts(),
): Promise<WriteOutcome> {
  const writer = new BulkBodyWriter(limits, bulkSizeHint(decoded.length));
  const stats = decodeWriteRequest(decoded, limits, writer);
  facts.samplesReceived = stats.samples + stats.histograms;
  for (const [reason, r] of writer.rejected) facts.rejected.set(rejectionLabel(reason), r.samples);
  if (stats.histograms > 0) facts.rejected.set("native_histogram", stats.histograms);

  let duplicates = 0;
  if (writer.documents > 0) {
    duplicates = (await sendBulk(config, fetchFn, dataStream, writer.body(), writer.documents, facts)).duplicates;
  }
  if (writer.metadataEntries.length > 0) {
    await storeMetadata(config, fetchFn, dataStream, writer.metadataEntries, nowMs);
  }

  // Everything valid is stored now; what was not is reported with a 400 so the sender does not retry it.
  const problems: string[] = [];
  for (const [reason, r] of writer.rejected) {
    problems.push(`${reason}: ${r.series} series, ${r.samples} samples (e.g. ${r.example})`);
  }
  if (stats.histograms > 0) problems.push(`${stats.histograms} native histogram samples: not supported yet`);
  if (stats.exemplars > 0) problems.push(`${stats.exemplars} exemplars: not supported yet (turn off send_exemplars)`);
  if (problems.length > 0) {
    throw new HttpError(400, `stored ${writer.documents} samples; not stored: ${problems.join("; ")}`);
  }
  return { stats, documents: writer.documents, duplicates };
}
