import type { Config, Tenant } from "../config.js";
import type { Fetch } from "../elastic/http.js";
import { HttpError } from "../http/errors.js";
import { sendBulk } from "./bulk.js";
import { type DecodeStats, decodeWriteRequest } from "./decode.js";
import { BulkBodyWriter, bulkSizeHint } from "./documents.js";
import { storeMetadata } from "./metadata.js";
import { snappyDecompress } from "./snappy.js";

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
): Promise<WriteOutcome> {
  const decoded = snappyDecompress(body, tenant.limits.maxDecompressedBytes);
  const writer = new BulkBodyWriter(tenant.limits, bulkSizeHint(decoded.length));
  const stats = decodeWriteRequest(decoded, tenant.limits, writer);

  let duplicates = 0;
  if (writer.documents > 0) {
    duplicates = (await sendBulk(config, fetchFn, dataStream, writer.body(), writer.documents)).duplicates;
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
